package standin

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
)

// BuildkitRepository is where the stand-in for moby/buildkit is pushed in
// the test registry.
const BuildkitRepository = "muslrust-chef-test/moby-buildkit"

// buildkitRecipe changes whenever the stand-in BuildKit image is assembled
// differently, so that its tag changes too.
const buildkitRecipe = "buildkit-standin-1"

// BuildkitPackages are the Debian packages buildkitd's OCI worker needs at
// run time: runc, and with it its libraries.
var BuildkitPackages = []string{"runc"}

// BuildkitOptions configure EnsureBuildkit.
type BuildkitOptions struct {
	// Registry is host:port of the registry to push to (plain HTTP).
	Registry string
	// CacheDir keeps downloaded .debs and the lock file between runs.
	CacheDir string
	// BinDir holds the buildkitd and buildctl the test world built.
	BinDir string
	// Log receives one line per step; nil discards.
	Log io.Writer
}

// EnsureBuildkit returns a stand-in for the moby/buildkit image, for the
// host's architecture: buildkitd and buildctl from BinDir on top of Debian's
// runc, with moby/buildkit's entrypoint and state volume. It is referenced
// as the real one is pinned, repo:tag@sha256:digest; the tag hashes the
// recipe, the package versions and the binaries, so a second run finds it in
// the registry and builds nothing.
func EnsureBuildkit(ctx context.Context, opts BuildkitOptions) (Result, error) {
	start := time.Now()
	log := orDiscard(opts.Log)
	arch := runtime.GOARCH
	bins := []string{"buildkitd", "buildctl"}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", buildkitRecipe, arch)
	for _, b := range bins {
		sum, err := fileSHA256(filepath.Join(opts.BinDir, b))
		if err != nil {
			return Result{}, fmt.Errorf("the test world's %s: %w (run scripts/provision.sh, which builds it)", b, err)
		}
		fmt.Fprintf(h, "%s %s\n", b, sum)
	}
	list, err := resolve(ctx, arch, nil, BuildkitPackages)
	if err != nil {
		return Result{}, err
	}
	for _, p := range list {
		fmt.Fprintf(h, "%s %s %s\n", p.Name, p.Version, p.Arch)
	}
	tag, ref, err := contentTag(opts.Registry, BuildkitRepository, h)
	if err != nil {
		return Result{}, err
	}
	// Referenced as repo:tag@digest, as the real image is pinned.
	found, unlock, err := findOrLock(start, opts.CacheDir, "standin.lock", func() (string, bool) {
		d, err := remote.Head(ref, remote.WithContext(ctx))
		if err != nil {
			return "", false
		}
		return ref.String() + "@" + d.Digest.String(), true
	})
	if err != nil || unlock == nil {
		return found, err
	}
	defer unlock()

	debDir := filepath.Join(opts.CacheDir, "debs-"+arch)
	fmt.Fprintf(log, "standin: buildkit: downloading %d packages into %s\n", len(list), debDir)
	if err := download(ctx, debDir, list); err != nil {
		return Result{}, err
	}
	rootfs := filepath.Join(opts.CacheDir, "buildkit-rootfs-"+tag+".tar.gz")
	if err := writeLayer(ctx, rootfs, debDir, list, rootfsExtras{dirs: []string{"var/lib/buildkit", "etc/buildkit"}}); err != nil {
		return Result{}, err
	}
	defer os.Remove(rootfs)
	binLayer := filepath.Join(opts.CacheDir, "buildkit-bin-"+tag+".tar.gz")
	fmt.Fprintf(log, "standin: buildkit: writing %s from %s\n", strings.Join(bins, " and "), opts.BinDir)
	if err := writeBinLayer(binLayer, opts.BinDir, bins); err != nil {
		return Result{}, err
	}
	defer os.Remove(binLayer)

	base, err := tarball.LayerFromFile(rootfs, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return Result{}, err
	}
	img, err := testimages.SingleLayer(base, arch, time.Unix(0, 0).UTC(), func(c *v1.Config) {
		c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		c.Entrypoint = []string{"buildkitd"}
		c.Volumes = map[string]struct{}{"/var/lib/buildkit": {}}
		c.Labels = map[string]string{"org.opencontainers.image.description": "muslrust-chef test stand-in for moby/buildkit: the test world's buildkitd and buildctl on Debian's runc"}
	})
	if err != nil {
		return Result{}, err
	}
	bl, err := tarball.LayerFromFile(binLayer, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return Result{}, err
	}
	if img, err = mutate.AppendLayers(img, bl); err != nil {
		return Result{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(log, "standin: buildkit: pushing %s@%s\n", ref, d)
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return Result{}, fmt.Errorf("push stand-in BuildKit image: %w", err)
	}
	return Result{Ref: ref.String() + "@" + d.String(), Built: true, Took: time.Since(start)}, nil
}

// writeBinLayer puts each binary at /usr/bin/<name>, as moby/buildkit has them.
func writeBinLayer(file, dir string, bins []string) error {
	return writeGzipTar(file, func(tw *tar.Writer) error {
		for _, b := range bins {
			if err := addFile(tw, filepath.Join(dir, b), "usr/bin/"+b); err != nil {
				return err
			}
		}
		return nil
	})
}

// addFile puts src into the tar at name, executable, with the fixed epoch.
func addFile(tw *tar.Writer, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: st.Size(), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
