package standin

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
)

// recipeVersion changes whenever the way the image is assembled changes, so
// that the registry tag (a hash including it) changes too.
const recipeVersion = "standin-3"

// Repository is the repository under the test registry.
const Repository = "muslrust-chef-test/standin-builder"

// CargoHome is where cargo's config with the Debian directory source lives.
const CargoHome = "/usr/local/cargo"

// CrtStatic is what the stand-in declares as RUSTFLAGS: static glibc.
const CrtStatic = "-C target-feature=+crt-static"

// Toolchain are the Debian packages of the builder itself.
var Toolchain = []string{"rustc", "cargo", "gcc", "libc6-dev", "dash", "coreutils", "findutils", "grep", "sed"}

// Crates are the librust-*-dev packages testdata/app needs (and the
// benchmark's plain Dockerfile), including their optional dependencies that
// default features pull in and --no-install-recommends leaves out.
var Crates = []string{
	"librust-itoa-dev", "librust-memchr-dev", "librust-cfg-if-dev",
	"librust-serde-dev", "librust-serde-derive-dev", "librust-serde-json-dev",
	"librust-regex-dev", "librust-regex-syntax-dev", "librust-aho-corasick-dev",
}

// Arches are the architectures the stand-in is built for.
var Arches = []string{"amd64", "arm64"}

// ImageSpec is one platform image of a stand-in index whose contents differ
// per architecture (the cross stand-in: only amd64 carries the aarch64
// cross toolchain).
type ImageSpec struct {
	Arch string
	// Packages to install; "name:arch" names a package of a foreign dpkg
	// architecture (multiarch), listed in Foreign.
	Packages []string
	Foreign  []string
	// Labels are added to the image config (on top of libc and rustflags).
	Labels map[string]string
}

// Options configure Ensure.
type Options struct {
	// Registry is host:port of the registry to push to (plain HTTP).
	Registry string
	// CacheDir keeps downloaded .debs and the lock file between runs.
	CacheDir string
	// Packages default to Toolchain plus Crates.
	Packages []string
	// Repository defaults to Repository.
	Repository string
	// Images, when set, replace Arches and Packages: one image per entry.
	Images []ImageSpec
	// Log receives one line per step; nil discards.
	Log io.Writer
}

// Ensure returns the stand-in index reference, building and pushing it when
// the registry does not have it yet.
func Ensure(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	log := orDiscard(opts.Log)
	pkgs := opts.Packages
	if len(pkgs) == 0 {
		pkgs = append(append([]string{}, Toolchain...), Crates...)
	}
	images := opts.Images
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", recipeVersion, cargoConfig, strings.Join(pkgs, " "))
	if len(images) == 0 {
		for _, a := range Arches {
			images = append(images, ImageSpec{Arch: a, Packages: pkgs})
		}
	} else {
		// Only per-image recipes hash their declaration, so that the plain
		// stand-in's tag (and registry copy) stays what it was.
		for _, im := range images {
			fmt.Fprintf(h, "image %s %s foreign=%s\n", im.Arch, strings.Join(im.Packages, " "), strings.Join(im.Foreign, " "))
			for _, k := range sortedKeys(im.Labels) {
				fmt.Fprintf(h, "label %s=%s\n", k, im.Labels[k])
			}
		}
	}
	repo := opts.Repository
	if repo == "" {
		repo = Repository
	}
	resolved := map[string][]pkgVersion{}
	for _, im := range images {
		list, err := resolve(ctx, im.Arch, im.Foreign, im.Packages)
		if err != nil {
			return Result{}, err
		}
		resolved[im.Arch] = list
		for _, p := range list {
			fmt.Fprintf(h, "%s %s %s\n", p.Name, p.Version, p.Arch)
		}
	}
	tag, ref, err := contentTag(opts.Registry, repo, h)
	if err != nil {
		return Result{}, err
	}
	found, unlock, err := findOrLock(start, opts.CacheDir, "standin.lock", func() (string, bool) { return ref.String(), exists(ctx, ref) })
	if err != nil || unlock == nil {
		return found, err
	}
	defer unlock()

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, im := range images {
		arch := im.Arch
		debDir := filepath.Join(opts.CacheDir, "debs-"+arch)
		fmt.Fprintf(log, "standin: %s: downloading %d packages into %s\n", arch, len(resolved[arch]), debDir)
		if err := download(ctx, debDir, resolved[arch]); err != nil {
			return Result{}, err
		}
		layerFile := filepath.Join(opts.CacheDir, "layer-"+arch+"-"+tag+".tar.gz")
		fmt.Fprintf(log, "standin: %s: writing the root filesystem layer %s\n", arch, layerFile)
		if err := writeLayer(ctx, layerFile, debDir, resolved[arch], builderExtras); err != nil {
			return Result{}, err
		}
		img, err := image(layerFile, arch, im.Labels)
		if err != nil {
			return Result{}, err
		}
		d, err := img.Digest()
		if err != nil {
			return Result{}, err
		}
		fmt.Fprintf(log, "standin: %s: pushing %s\n", arch, d)
		if err := remote.Write(ref.Context().Digest(d.String()), img, remote.WithContext(ctx)); err != nil {
			return Result{}, fmt.Errorf("push stand-in %s image: %w", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch, Variant: variant(arch)},
		}})
		os.Remove(layerFile)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return Result{}, fmt.Errorf("push stand-in index %s: %w", ref, err)
	}
	return Result{Ref: ref.String(), Built: true, Took: time.Since(start)}, nil
}

func variant(arch string) string {
	if arch == "arm64" {
		return "v8"
	}
	return ""
}

const cargoConfig = `[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
`

// builderExtras: cargo's config with the Debian directory source, and the
// cc alternative that rustc uses as its linker.
var builderExtras = rootfsExtras{
	dirs:     []string{"usr/local", CargoHome[1:]},
	files:    map[string]string{CargoHome[1:] + "/config.toml": cargoConfig},
	symlinks: map[string]string{"usr/bin/cc": "gcc"},
}

func image(layerFile, arch string, extra map[string]string) (v1.Image, error) {
	layer, err := tarball.LayerFromFile(layerFile, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	return testimages.SingleLayer(layer, arch, time.Unix(0, 0).UTC(), func(c *v1.Config) {
		c.Env = []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"CARGO_HOME=" + CargoHome,
			"CARGO_TERM_COLOR=never",
		}
		c.WorkingDir = "/"
		c.Labels = map[string]string{
			builder.LabelLibc:                      "gnu",
			builder.LabelRustFlags:                 CrtStatic,
			"org.opencontainers.image.description": "muslrust-chef test stand-in builder: Debian rustc/cargo with Debian's crates as a directory source",
		}
		for k, v := range extra {
			c.Labels[k] = v
		}
	})
}
