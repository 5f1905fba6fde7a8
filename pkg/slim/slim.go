// Package slim assembles runtime images daemonlessly: one verified static
// binary per platform appended as a single deterministic layer to a runtime
// base image, gathered into an OCI image index.
package slim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// DefaultBase is chainguard/static pinned by digest, because its free tier
// only publishes :latest and a moving base would break reproducible digests.
// Re-pin: crane digest cgr.dev/chainguard/static:latest (or docker buildx imagetools
// inspect), then paste the index digest here and in the README.
const DefaultBase = "cgr.dev/chainguard/static:latest@sha256:f68e3a8244c7d0f4cd56635aaff8e6a533cf6cc3850d8fb339567a5782d6a0b0"

// Scratch names the empty base image.
const Scratch = "scratch"

// Labels are the OCI annotations written into each image config; empty
// values are left out.
type Labels struct {
	Source   string // org.opencontainers.image.source
	Revision string // org.opencontainers.image.revision
	Version  string // org.opencontainers.image.version
}

type options struct {
	base      string
	labels    Labels
	created   time.Time
	insecure  bool
	keychain  authn.Keychain
	transport http.RoundTripper
}

// Option configures Build.
type Option func(*options)

// WithBase sets the runtime base image reference, or "scratch".
func WithBase(ref string) Option { return func(o *options) { o.base = ref } }

// WithLabels sets the source, revision and version labels.
func WithLabels(l Labels) Option { return func(o *options) { o.labels = l } }

// WithCreated sets the timestamp used for file mtimes, the config's created
// field and the created label (SOURCE_DATE_EPOCH).
func WithCreated(t time.Time) Option { return func(o *options) { o.created = t.UTC() } }

// WithInsecure allows plain-HTTP access to the base image's registry.
func WithInsecure(insecure bool) Option { return func(o *options) { o.insecure = insecure } }

// WithKeychain sets registry credentials for pulling the base (default: the Docker config).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport sets the HTTP transport for pulling the base.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// Binary is one platform's input: the path of a static executable for it.
type Binary struct {
	Platform platform.Platform
	Path     string
}

// Build verifies every binary, then builds one image per platform on the
// base and returns the index over them. name is the file name of the binary
// inside the image (/usr/local/bin/<name>).
func Build(ctx context.Context, binName string, bins []Binary, opts ...Option) (v1.ImageIndex, error) {
	o := options{base: DefaultBase, keychain: authn.DefaultKeychain, created: time.Unix(0, 0).UTC()}
	for _, opt := range opts {
		opt(&o)
	}
	if err := validBinName(binName); err != nil {
		return nil, err
	}
	if len(bins) == 0 {
		return nil, errors.New("no platform to build: set MUSLRUST_CHEF_PLATFORMS")
	}
	// Verify all first so that a bad slot fails before any network traffic.
	for _, b := range bins {
		if _, err := elfcheck.Verify(b.Path, b.Platform); err != nil {
			return nil, err
		}
	}
	base, err := openBase(ctx, o)
	if err != nil {
		return nil, err
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

// CheckBase resolves the runtime base for every platform without building
// anything, so a pipeline can fail in seconds, before a long compile, when
// the base is unreachable or lacks a platform.
func CheckBase(ctx context.Context, ps []platform.Platform, opts ...Option) error {
	o := options{base: DefaultBase, keychain: authn.DefaultKeychain}
	for _, opt := range opts {
		opt(&o)
	}
	base, err := openBase(ctx, o)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, _, err := base.forPlatform(p); err != nil {
			return err
		}
	}
	return nil
}

func validBinName(n string) error {
	if n == "" {
		return errors.New("no binary name: set MUSLRUST_CHEF_BIN (the cargo [[bin]] name)")
	}
	if strings.ContainsAny(n, "/\\") || n == "." || n == ".." {
		return fmt.Errorf("binary name %q must be a file name, not a path: set MUSLRUST_CHEF_BIN to the cargo [[bin]] name", n)
	}
	return nil
}

// baseSource yields the base image for a platform.
type baseSource struct {
	ref     string // as the user gave it; "" for scratch
	digest  string // digest of what ref resolved to
	index   v1.ImageIndex
	image   v1.Image
	scratch bool
}

func openBase(ctx context.Context, o options) (*baseSource, error) {
	if o.base == Scratch {
		return &baseSource{scratch: true}, nil
	}
	var nameOpts []name.Option
	if o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.ParseReference(o.base, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("base image %q is not a valid reference: %v; set MUSLRUST_CHEF_BASE_IMAGE to repo:tag, repo@sha256:... or scratch", o.base, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain)}
	if o.transport != nil {
		ropts = append(ropts, remote.WithTransport(o.transport))
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, baseError(o.base, err)
	}
	src := &baseSource{ref: o.base, digest: desc.Digest.String()}
	if desc.MediaType.IsIndex() {
		src.index, err = desc.ImageIndex()
	} else {
		src.image, err = desc.Image()
	}
	if err != nil {
		return nil, baseError(o.base, err)
	}
	return src, nil
}

func baseError(ref string, err error) error {
	var terr *transport.Error
	var nerr net.Error
	var operr *net.OpError
	switch {
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return fmt.Errorf("base image %s not found in its registry; check MUSLRUST_CHEF_BASE_IMAGE", ref)
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("registry refused access to base image %s (HTTP %d); run docker login for its registry", ref, terr.StatusCode)
	case errors.As(err, &operr) || errors.As(err, &nerr):
		return fmt.Errorf("base image %s: registry unreachable (%v); check the network, or use a reachable MUSLRUST_CHEF_BASE_IMAGE (scratch needs none)", ref, oneLine(err))
	}
	return fmt.Errorf("base image %s: %v", ref, oneLine(err))
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// forPlatform picks the base image for p and says which digest it was.
func (b *baseSource) forPlatform(p platform.Platform) (v1.Image, string, error) {
	if b.scratch {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		return img, "", nil
	}
	if b.image != nil {
		cf, err := b.image.ConfigFile()
		if err != nil {
			return nil, "", fmt.Errorf("base image %s: reading config: %v", b.ref, err)
		}
		if cf.OS != p.OS || cf.Architecture != p.Arch {
			return nil, "", fmt.Errorf("base image %s is a single %s/%s image and lacks %s; use a multi-platform base (an index) or restrict MUSLRUST_CHEF_PLATFORMS", b.ref, cf.OS, cf.Architecture, p)
		}
		return b.image, b.digest, nil
	}
	im, err := b.index.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("base image %s: reading index: %v", b.ref, err)
	}
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil {
			continue
		}
		have = append(have, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Platform.OS == p.OS && m.Platform.Architecture == p.Arch && (m.Platform.Variant == "" || m.Platform.Variant == p.Variant) {
			img, err := b.index.Image(m.Digest)
			if err != nil {
				return nil, "", fmt.Errorf("base image %s (%s): %v", b.ref, p, oneLine(err))
			}
			return img, m.Digest.String(), nil
		}
	}
	return nil, "", fmt.Errorf("base image %s lacks platform %s (it has %s); choose a base that has it or drop it from MUSLRUST_CHEF_PLATFORMS", b.ref, p, strings.Join(have, ", "))
}

func buildOne(base *baseSource, b Binary, binName string, o options) (v1.Image, error) {
	baseImg, baseDigest, err := base.forPlatform(b.Platform)
	if err != nil {
		return nil, err
	}
	mt, err := baseImg.MediaType()
	if err != nil {
		return nil, fmt.Errorf("base image %s: %v", base.ref, oneLine(err))
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	layer, err := binaryLayer(b.Path, binName, base.scratch, o.created, layerType)
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
	if !base.scratch {
		setLabel(labels, "org.opencontainers.image.base.name", base.ref)
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
