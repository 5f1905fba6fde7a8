// Package slim assembles runtime images daemonlessly: one static binary per
// platform appended as a single deterministic layer to a runtime base image,
// gathered into an OCI image index. It is pure: the base comes read
// (publish.ReadBase), the binaries verified (pkg/elfcheck), and the index
// goes to pkg/publish.
package slim

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// DefaultBase is chainguard/static pinned by digest, because its free tier
// only publishes :latest and a moving base would break reproducible digests.
// Re-pin: crane digest cgr.dev/chainguard/static:latest (or docker buildx imagetools
// inspect), then paste the index digest here and in the README.
const DefaultBase = "cgr.dev/chainguard/static:latest@sha256:f68e3a8244c7d0f4cd56635aaff8e6a533cf6cc3850d8fb339567a5782d6a0b0"

// Labels are the OCI annotations written into each image config; empty
// values are left out.
type Labels struct {
	Source   string // org.opencontainers.image.source
	Revision string // org.opencontainers.image.revision
	Version  string // org.opencontainers.image.version
}

// Base is what Build builds on: the runtime base image of each platform.
// The zero Base is scratch. publish.ReadBase reads one (its Base converts:
// slim.Base(b)).
type Base struct {
	// Ref is the base's reference as the user gave it (the base.name
	// label); "" for scratch.
	Ref string
	// Images holds each platform's base image (its digest is the
	// base.digest label).
	Images map[platform.Platform]v1.Image
}

type options struct {
	labels  Labels
	created time.Time
}

// Option configures Build.
type Option func(*options)

// WithLabels sets the source, revision and version labels.
func WithLabels(l Labels) Option { return func(o *options) { o.labels = l } }

// WithCreated sets the timestamp used for file mtimes, the config's created
// field and the created label (SOURCE_DATE_EPOCH).
func WithCreated(t time.Time) Option { return func(o *options) { o.created = t.UTC() } }

// Binary is one platform's input: the path of a static executable for it.
type Binary struct {
	Platform platform.Platform
	Path     string
}

// Build builds one image per binary on base and returns the index over
// them. binName is the file name of the binary inside the image
// (/usr/local/bin/<binName>). It reads the binaries and nothing else: the
// caller has verified them (pkg/elfcheck) and read the base.
func Build(base Base, binName string, bins []Binary, opts ...Option) (v1.ImageIndex, error) {
	o := options{created: time.Unix(0, 0).UTC()}
	for _, opt := range opts {
		opt(&o)
	}
	if err := validBinName(binName); err != nil {
		return nil, err
	}
	if len(bins) == 0 {
		return nil, option.Usagef("no platform to build: set %s", option.Env(option.Platforms))
	}
	// Platforms are independent and compression dominates: build them in
	// parallel, keeping the index order stable.
	adds := make([]mutate.IndexAddendum, len(bins))
	errs := make([]error, len(bins))
	var wg sync.WaitGroup
	for i, b := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := buildOne(base, b, binName, o)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", b.Platform, err)
				return
			}
			// Force the layer digest now, inside the parallel section.
			if _, err := img.Digest(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", b.Platform, err)
				return
			}
			adds[i] = mutate.IndexAddendum{
				Add: img,
				Descriptor: v1.Descriptor{Platform: &v1.Platform{
					OS: b.Platform.OS, Architecture: b.Platform.Arch, Variant: b.Platform.Variant,
				}},
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}

func validBinName(n string) error {
	if n == "" {
		return option.Usagef("no binary name: set %s (the cargo [[bin]] name)", option.Env(option.Bin))
	}
	if strings.ContainsAny(n, "/\\") || n == "." || n == ".." {
		return option.Usagef("binary name %q must be a file name, not a path: set %s to the cargo [[bin]] name", n, option.Env(option.Bin))
	}
	return nil
}

// forPlatform is the base image for p and its digest; scratch has none.
func (b Base) forPlatform(p platform.Platform) (v1.Image, string, error) {
	if b.Ref == "" {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		return img, "", nil
	}
	img, ok := b.Images[p]
	if !ok {
		return nil, "", fmt.Errorf("base image %s was not read for %s: read it for every platform built (publish.ReadBase)", b.Ref, p)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, "", fmt.Errorf("base image %s (%s): %s", b.Ref, p, oneline.Err(err))
	}
	return img, d.String(), nil
}

func buildOne(base Base, b Binary, binName string, o options) (v1.Image, error) {
	baseImg, baseDigest, err := base.forPlatform(b.Platform)
	if err != nil {
		return nil, err
	}
	mt, err := baseImg.MediaType()
	if err != nil {
		return nil, fmt.Errorf("base image %s: %s", base.Ref, oneline.Err(err))
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	scratch := base.Ref == ""
	layer, err := binaryLayer(b.Path, binName, scratch, o.created, layerType)
	if err != nil {
		return nil, err
	}
	entry := path.Join(BinDir, binName)
	img, err := mutate.Append(baseImg, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: o.created},
			CreatedBy: "muslrust-chef slim: COPY " + binName + " " + entry,
			Comment:   "muslrust-chef",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: o.created}
	cf.OS, cf.Architecture, cf.Variant = b.Platform.OS, b.Platform.Arch, b.Platform.Variant
	cf.Config.Entrypoint = []string{entry}
	cf.Config.Cmd = nil
	cf.Config.User = strconv.Itoa(NonrootUID) + ":" + strconv.Itoa(NonrootUID)
	if cf.Config.WorkingDir == "" {
		cf.Config.WorkingDir = "/"
	}
	if !hasEnv(cf.Config.Env, "PATH") {
		cf.Config.Env = append(cf.Config.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	labels := map[string]string{}
	for k, v := range cf.Config.Labels {
		labels[k] = v
	}
	setLabel(labels, "org.opencontainers.image.created", o.created.Format(time.RFC3339))
	setLabel(labels, "org.opencontainers.image.title", binName)
	setLabel(labels, "org.opencontainers.image.source", o.labels.Source)
	setLabel(labels, "org.opencontainers.image.revision", o.labels.Revision)
	setLabel(labels, "org.opencontainers.image.version", o.labels.Version)
	if !scratch {
		setLabel(labels, "org.opencontainers.image.base.name", base.Ref)
		setLabel(labels, "org.opencontainers.image.base.digest", baseDigest)
	}
	cf.Config.Labels = labels
	return mutate.ConfigFile(img, cf)
}

func setLabel(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}
