// Package standin builds the tests' stand-in for the muslrust-chef builder
// image: Debian bookworm's rustc, cargo, gcc and libc6-dev plus the
// librust-*-dev crates the testdata needs, with crates-io replaced by Debian's
// directory source, for linux/amd64 and linux/arm64, pushed to the local test
// registry as one index.
//
// Nothing is emulated: apt resolves each architecture's package closure
// against an empty dpkg status, `apt-get download` fetches the .debs (kept in
// a cache directory between runs) and their data trees are streamed straight
// into one gzip layer per architecture with go-containerregistry. The tag is
// a hash of the resolved package list and of this package's recipe version,
// so a second run finds the image in the registry and builds nothing.
//
// Debian has no musl Rust standard library, so the stand-in declares, through
// the labels the kit reads, libc "gnu" and RUSTFLAGS "-C
// target-feature=+crt-static": its binaries are static glibc executables.
package standin

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
)

// recipeVersion changes whenever the way the image is assembled changes, so
// that the registry tag (a hash including it) changes too.
const recipeVersion = "standin-3"

// Repository is the repository under the test registry.
const Repository = "muslrust-chef-test/standin-builder"

// Labels the kit reads from a builder image (pkg/pipeline documents them).
const (
	LabelLibc      = "io.muslrust-chef.libc"
	LabelRustFlags = "io.muslrust-chef.rustflags"
)

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

// Result says what Ensure produced.
type Result struct {
	Ref   string // registry/repo:tag of the index
	Built bool   // false when the registry already had it
	Took  time.Duration
}

type pkgVersion struct{ Name, Version, Arch string }

func (p pkgVersion) debFile() string {
	return p.Name + "_" + strings.ReplaceAll(p.Version, ":", "%3a") + "_" + p.Arch + ".deb"
}

// Ensure returns the stand-in index reference, building and pushing it when
// the registry does not have it yet.
func Ensure(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
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
			keys := make([]string, 0, len(im.Labels))
			for k := range im.Labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
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
	tag := hex.EncodeToString(h.Sum(nil))[:20]
	ref, err := name.NewTag(opts.Registry+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return Result{}, err
	}
	if exists(ctx, ref) {
		return Result{Ref: ref.String(), Took: time.Since(start)}, nil
	}

	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return Result{}, err
	}
	unlock, err := lock(filepath.Join(opts.CacheDir, "standin.lock"))
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	if exists(ctx, ref) { // built by another process while we waited
		return Result{Ref: ref.String(), Took: time.Since(start)}, nil
	}

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
			return Result{}, fmt.Errorf("push stand-in %s image: %v", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch, Variant: variant(arch)},
		}})
		os.Remove(layerFile)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return Result{}, fmt.Errorf("push stand-in index %s: %v", ref, err)
	}
	return Result{Ref: ref.String(), Built: true, Took: time.Since(start)}, nil
}

func variant(arch string) string {
	if arch == "arm64" {
		return "v8"
	}
	return ""
}

func exists(ctx context.Context, ref name.Reference) bool {
	_, err := remote.Head(ref, remote.WithContext(ctx))
	return err == nil
}

// lock takes an exclusive flock so that parallel test processes build the
// image once.
func lock(file string) (func(), error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// resolve asks apt for the full closure of pkgs on an empty system of the
// given architecture.
func resolve(ctx context.Context, arch string, foreign, pkgs []string) ([]pkgVersion, error) {
	status, err := os.CreateTemp("", "standin-dpkg-status-")
	if err != nil {
		return nil, err
	}
	status.Close()
	defer os.Remove(status.Name())
	args := []string{"-s", "install", "--no-install-recommends",
		"-o", "Dir::State::status=" + status.Name(),
		"-o", "APT::Architecture=" + arch,
		"-o", "APT::Architectures::=" + arch,
	}
	for _, f := range foreign {
		args = append(args, "-o", "APT::Architectures::="+f)
	}
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("apt cannot resolve the stand-in packages for %s: %v: %s (run scripts/provision.d/standin.sh, which adds the arm64 architecture and updates apt's lists)",
			arch, err, lastLines(out, 3))
	}
	var list []pkgVersion
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []
		line := sc.Text()
		if !strings.HasPrefix(line, "Inst ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[2], "(") {
			return nil, fmt.Errorf("unexpected apt-get output line %q", line)
		}
		a := ""
		for _, x := range f[3:] {
			if strings.HasPrefix(x, "[") && strings.HasSuffix(strings.TrimSuffix(x, ")"), "]") {
				a = strings.Trim(strings.TrimSuffix(x, ")"), "[]")
				break
			}
		}
		if a == "" {
			return nil, fmt.Errorf("no architecture in apt-get output line %q", line)
		}
		// A foreign-architecture package is printed as "libc6:arm64".
		n, _, _ := strings.Cut(f[1], ":")
		list = append(list, pkgVersion{Name: n, Version: strings.TrimPrefix(f[2], "("), Arch: a})
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("apt resolved no packages for %s: %s", arch, lastLines(out, 3))
	}
	// By name, then architecture: a multiarch closure has libc6 twice, and
	// the order feeds the image tag.
	sort.Slice(list, func(i, j int) bool {
		if list[i].Name != list[j].Name {
			return list[i].Name < list[j].Name
		}
		return list[i].Arch < list[j].Arch
	})
	return list, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func download(ctx context.Context, dir string, pkgs []pkgVersion) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var missing []string
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, p.debFile())); err != nil {
			missing = append(missing, p.Name+":"+p.Arch+"="+p.Version)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	args := append([]string{"download", "-q", "-o", "APT::Sandbox::User=root"}, missing...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get download of %d stand-in packages failed: %v: %s", len(missing), err, lastLines(out, 3))
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, p.debFile())); err != nil {
			return fmt.Errorf("apt-get download did not produce %s", p.debFile())
		}
	}
	return nil
}

// skipped trees: documentation and translations are a third of the bytes
// and no build reads them.
var skipped = []string{"usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/"}

// usrMerged maps the top-level directories bookworm still ships outside /usr
// onto /usr, as debootstrap's merged-/usr layout does.
var usrMerged = map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}

func mergeUsr(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	first, rest, _ := strings.Cut(p, "/")
	if to, ok := usrMerged[first]; ok {
		if rest == "" {
			return to
		}
		return to + "/" + rest
	}
	return p
}

const cargoConfig = `[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
`

// rootfsExtras is what an image needs besides its packages' data trees:
// files and links that maintainer scripts or an admin would have made.
type rootfsExtras struct {
	dirs     []string
	files    map[string]string
	symlinks map[string]string
}

// builderExtras: cargo's config with the Debian directory source, and the
// cc alternative that rustc uses as its linker.
var builderExtras = rootfsExtras{
	dirs:     []string{"usr/local", CargoHome[1:]},
	files:    map[string]string{CargoHome[1:] + "/config.toml": cargoConfig},
	symlinks: map[string]string{"usr/bin/cc": "gcc"},
}

// writeLayer streams every package's data tree into one gzip tar.
func writeLayer(ctx context.Context, file, debDir string, pkgs []pkgVersion, extra rootfsExtras) error {
	return writeGzipTar(file, func(tw *tar.Writer) error { return fillLayer(ctx, tw, debDir, pkgs, extra) })
}

// writeGzipTar writes file as a gzip'ed tar that fill writes, through a
// temporary sibling renamed into place only when complete.
func writeGzipTar(file string, fill func(*tar.Writer) error) error {
	tmp := file + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	if err := fill(tw); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func fillLayer(ctx context.Context, tw *tar.Writer, debDir string, pkgs []pkgVersion, extra rootfsExtras) error {
	seen := map[string]bool{}
	epoch := time.Unix(0, 0)
	add := func(hdr *tar.Header, body io.Reader) error {
		seen[strings.TrimSuffix(hdr.Name, "/")] = true
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				return err
			}
		}
		return nil
	}
	dir := func(name string, mode int64) error {
		return add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch}, nil)
	}
	for _, d := range append([]string{"usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "root", "var", "var/tmp"}, extra.dirs...) {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	for from, to := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"} {
		if err := add(&tar.Header{Typeflag: tar.TypeSymlink, Name: from, Linkname: to, Mode: 0o777, ModTime: epoch}, nil); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":  "root:x:0:\n",
	}
	for n, c := range extra.files {
		files[n] = c
	}
	// The extras first, then passwd and group: the order the builder's
	// layer always had, so its bytes (and digest) stay the same.
	for _, n := range append(sortedKeys(extra.files), "etc/passwd", "etc/group") {
		c := files[n]
		if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(c)), ModTime: epoch}, strings.NewReader(c)); err != nil {
			return err
		}
	}
	for _, n := range sortedKeys(extra.symlinks) {
		if err := add(&tar.Header{Typeflag: tar.TypeSymlink, Name: n, Linkname: extra.symlinks[n], Mode: 0o777, ModTime: epoch}, nil); err != nil {
			return err
		}
	}

	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := addDeb(ctx, filepath.Join(debDir, p.debFile()), tw, seen); err != nil {
			return fmt.Errorf("%s: %v", p.debFile(), err)
		}
	}
	return nil
}

func addDeb(ctx context.Context, deb string, tw *tar.Writer, seen map[string]bool) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(out)
	var copyErr error
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			copyErr = err
			break
		}
		n := mergeUsr(hdr.Name)
		if n == "" || n == "." || skip(n) {
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			if seen[n] {
				continue
			}
			hdr.Name = n + "/"
		} else {
			if seen[n] {
				continue // a file shipped twice (dpkg would divert): first wins
			}
			hdr.Name = n
		}
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = mergeUsr(hdr.Linkname)
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Uid, hdr.Gid = 0, 0
		seen[n] = true
		if err := tw.WriteHeader(hdr); err != nil {
			copyErr = err
			break
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				copyErr = err
				break
			}
		}
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return copyErr
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func skip(n string) bool {
	for _, s := range skipped {
		if strings.HasPrefix(n+"/", s) {
			return true
		}
	}
	return false
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
			LabelLibc:                              "gnu",
			LabelRustFlags:                         CrtStatic,
			"org.opencontainers.image.description": "muslrust-chef test stand-in builder: Debian rustc/cargo with Debian's crates as a directory source",
		}
		for k, v := range extra {
			c.Labels[k] = v
		}
	})
}
