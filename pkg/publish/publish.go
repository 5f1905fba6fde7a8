// Package publish writes an image index somewhere: a registry, an OCI image
// layout, a docker-archive tarball or the local Docker daemon. Every
// destination writes completely or not at all.
package publish

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Publisher writes an index and returns a reference to what it wrote.
type Publisher interface {
	Publish(ctx context.Context, idx v1.ImageIndex) (Result, error)
	Close() error
}

// Result says where the index went.
type Result struct {
	// Reference is what users pull or inspect: repo@sha256:... for a
	// registry, DIR@sha256:... for a layout, the tag for tar and docker.
	Reference string
	// Digest is the digest of the index (registry, layout) or of the single
	// platform image (tar, docker).
	Digest v1.Hash
	// Referrers are the records attached (registry) or stored beside the
	// index (oci:DIR), by platform manifest digest: the descriptors of the
	// artifact manifests, artifactType set. Nil without WithReferrers.
	Referrers map[v1.Hash][]v1.Descriptor
}

// Output is a parsed output option: where the image goes.
type Output struct {
	Kind string // "registry", "oci", "tar", "docker"
	Path string // for oci and tar
}

// ParseOutput reads "registry", "oci:DIR", "tar:FILE" or "docker".
func ParseOutput(s string) (Output, error) {
	s = strings.TrimSpace(s)
	kind, path, hasPath := strings.Cut(s, ":")
	switch {
	case s == "" || s == "registry":
		return Output{Kind: "registry"}, nil
	case s == "docker":
		return Output{Kind: "docker"}, nil
	case (kind == "oci" || kind == "tar") && hasPath && path != "":
		return Output{Kind: kind, Path: path}, nil
	case kind == "oci" || kind == "tar":
		return Output{}, fmt.Errorf("output %q needs a path: use %s:PATH", s, kind)
	}
	return Output{}, fmt.Errorf("unknown output %q: use registry, docker, oci:DIR or tar:FILE", s)
}

func (o Output) String() string {
	if o.Path != "" {
		return o.Kind + ":" + o.Path
	}
	return o.Kind
}

// ParseTags reads the image reference and extra tags into tag references in
// the image's repository. The first tag is the image's own (default latest).
func ParseTags(image string, extra []string, opts ...name.Option) ([]name.Tag, error) {
	image = strings.TrimSpace(image)
	if image == "" {
		return nil, option.Usagef("no image name: set %s to a reference such as registry.example/team/app:1.2.3", option.Env(option.Image))
	}
	ref, err := name.ParseReference(image, opts...)
	if err != nil {
		return nil, option.Usagef("image %q is not a valid reference: %w; set %s to repo[:tag]", image, err, option.Env(option.Image))
	}
	if _, ok := ref.(name.Digest); ok {
		return nil, option.Usagef("image %q names a digest; %s must be repo[:tag], the digest is computed", image, option.Env(option.Image))
	}
	first := ref.(name.Tag)
	tags := []name.Tag{first}
	seen := map[string]bool{first.TagStr(): true}
	for _, t := range extra {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		tag, err := name.NewTag(first.Repository.Name()+":"+t, opts...)
		if err != nil {
			return nil, option.Usagef("extra tag %q is not a valid tag: %w; %s takes comma-separated tags like 1.2,latest", t, err, option.Env(option.Tags))
		}
		seen[t] = true
		tags = append(tags, tag)
	}
	return tags, nil
}

var archiveOptions = atomicdir.FileOptions{
	Fix:   option.Errorf("set %s / %s to tar:<a new file or an image archive written before>", option.Flag(option.Output), option.Env(option.Output)),
	Owned: isImageArchive,
}

var layoutFix = option.Errorf("set %s / %s to oci:<a new or empty directory>", option.Flag(option.Output), option.Env(option.Output))

// CheckOutput refuses, without writing anything, an oci:DIR or tar:FILE
// output that Publish would refuse, so that a build can fail before its
// compile instead of after it.
func CheckOutput(o Output) error {
	var err error
	switch o.Kind {
	case "oci":
		err = atomicdir.CheckFix(o.Path, layoutFix)
	case "tar":
		err = atomicdir.CheckFile(o.Path, archiveOptions)
	}
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

// beginArchive starts writing the tar:FILE archive at dst through a
// temporary file beside it (internal/atomicdir). An existing file is
// replaced only when it is an image archive (what tar:FILE writes): a
// single file cannot carry the kit's marker, and a mistyped path must not
// overwrite a user's file.
func beginArchive(dst string) (*atomicdir.File, error) {
	f, err := atomicdir.BeginFile(dst, archiveOptions)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return f, nil
}

// isImageArchive reports whether path is a tar archive holding a top-level
// manifest.json, as docker save and tar:FILE write. Headers only: tar
// skips the content by seeking.
func isImageArchive(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if h.Name == "manifest.json" {
			return true
		}
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// displayName is the tag as the user wrote it (no index.docker.io/library
// expansion), always with its tag, so it can be pasted into docker run.
func displayName(t name.Tag) string {
	s := t.String()
	if !strings.HasSuffix(s, ":"+t.TagStr()) {
		s += ":" + t.TagStr()
	}
	return s
}

// New returns the publisher for out: a registry push of the tags (which
// opts configure), an OCI layout, a docker-archive or a load into the
// Docker daemon. host picks the one platform tar and docker hold. The
// records of WithReferrers go to a registry and into an OCI layout; tar
// and docker outputs cannot hold them and ignore them.
func New(out Output, tags []name.Tag, host platform.Platform, opts ...RegistryOption) (Publisher, error) {
	switch out.Kind {
	case "registry":
		return NewRegistry(tags, opts...)
	case "oci":
		return NewLayout(out.Path, tags, newRegistry(nil, opts).referrers), nil
	case "tar":
		return NewTarball(out.Path, tags, host), nil
	case "docker":
		return NewDocker(tags, host)
	}
	return nil, fmt.Errorf("unknown output %q: use registry, docker, oci:DIR or tar:FILE", out)
}

// PlatformsForOutput keeps the one platform that tar and docker outputs can
// hold, so nothing is verified or built that would be thrown away.
func PlatformsForOutput(ps []platform.Platform, out Output, host platform.Platform) ([]platform.Platform, error) {
	if len(ps) == 0 {
		return nil, option.Usagef("no platform to build: set %s", option.Env(option.Platforms))
	}
	if out.Kind != "tar" && out.Kind != "docker" || len(ps) == 1 {
		return ps, nil
	}
	for _, p := range ps {
		if p == host {
			return []platform.Platform{p}, nil
		}
	}
	return nil, option.Usagef("output %s holds one platform, but %s were asked for and none is the host's %s: set %s to one of them, or use oci:DIR or registry for several", out, platform.Join(ps), host, option.Env(option.Platforms))
}
