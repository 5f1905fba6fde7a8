package standin

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
)

// MuslRepository is the musl stand-in's repository under the test registry.
const MuslRepository = "muslrust-chef-test/standin-musl-builder"

// muslBaseRepository holds the Debian package layer the musl stand-in's
// Dockerfile starts from.
const muslBaseRepository = "muslrust-chef-test/standin-musl-base"

// muslRecipeVersion changes whenever the musl stand-in's assembly changes
// in a way its inputs do not show.
const muslRecipeVersion = "musl-1"

// MuslTriples are the triples the musl stand-in compiles for, on both of
// its platforms.
var MuslTriples = []string{"x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"}

// MuslRustFlags are the flags every musl build needs with this toolchain:
// a static executable whose C runtime (start files, libc, libunwind) comes
// from zig, not from rustc's self-contained copies (Debian ships none).
const MuslRustFlags = "-C target-feature=+crt-static -C link-self-contained=no"

// MuslStdCrates are rust-src and the crates std itself depends on, as
// Debian packages them (see reference/musl-offline.md).
var MuslStdCrates = []string{
	"rust-src", "librust-compiler-builtins-dev", "librust-libc-dev", "librust-cfg-if-0.1-dev",
	"librust-hashbrown-dev", "librust-rustc-demangle-dev", "librust-rustc-std-workspace-core-dev",
	"librust-getopts-dev", "librust-unicode-width-dev",
}

// muslTools are what the images/muslrust-chef Dockerfile's steps need
// from a base, as clux/muslrust has them: gzip for the zig tarball, curl
// and CA certificates for its downloads.
var muslTools = []string{"gzip", "curl", "ca-certificates"}

// MuslPackages are the Debian packages of the stand-in's base layer: the
// plain stand-in's toolchain and crates, the cc crate, std's sources and
// crates, and muslTools. gcc stays: build scripts and proc macros run on
// the host (glibc).
func MuslPackages() []string {
	return append(append(append(append(append([]string{}, Toolchain...), Crates...), CrossCrates...), MuslStdCrates...), muslTools...)
}

// WrapperDir is where the helper and its zig link names live in the image.
const WrapperDir = "/usr/local/bin"

// MuslLabels is the musl stand-in's declaration, the same on both
// platforms and the same shape as the production builder's: libc musl,
// both platforms cross-compiled, and each triple's linker, C and C++
// compiler and archiver the zig wrapper's link names.
func MuslLabels() map[string]string {
	l := map[string]string{
		builder.LabelLibc:       "musl",
		builder.LabelRustFlags:  MuslRustFlags,
		builder.LabelCross:      "linux/amd64,linux/arm64",
		builder.LabelCrossCargo: "build",
	}
	for _, t := range MuslTriples {
		p := builder.LabelCrossPrefix + t + "."
		l[p+"linker"] = WrapperDir + "/zigcc-" + t
		l[p+"cc"] = WrapperDir + "/zigcc-" + t
		l[p+"cxx"] = WrapperDir + "/zigcxx-" + t
		l[p+"ar"] = WrapperDir + "/zigar-" + t
	}
	// As the production builder declares (its CROSS_AARCH64_MUSL_CFLAGS).
	l[builder.LabelCrossPrefix+"aarch64-unknown-linux-musl.cflags"] = "-mno-outline-atomics"
	return l
}

// muslEnv is the toolchain's environment in the image, so that a plain
// `cargo build --target <triple>` (and the cc crate in build scripts) uses
// zig without the kit passing anything.
func muslEnv() []string {
	var env []string
	for _, t := range MuslTriples {
		u := strings.ReplaceAll(t, "-", "_")
		env = append(env,
			"CC_"+u+"="+WrapperDir+"/zigcc-"+t,
			"CXX_"+u+"="+WrapperDir+"/zigcxx-"+t,
			"AR_"+u+"="+WrapperDir+"/zigar-"+t)
	}
	return env
}

// muslCargoConfig is the image's cargo configuration: Debian's crates as
// the directory source, and each musl triple's linker and flags.
func muslCargoConfig() string {
	var b strings.Builder
	b.WriteString(cargoConfig)
	for _, t := range MuslTriples {
		fmt.Fprintf(&b, "\n[target.%s]\nlinker = %q\nrustflags = [", t, WrapperDir+"/zigcc-"+t)
		for i, f := range strings.Fields(MuslRustFlags) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(f))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

//go:embed musl.Dockerfile
var muslDockerfile string

// MuslDockerfile is the stand-in's Dockerfile with its environment and
// labels filled in.
func MuslDockerfile() string {
	env := "ENV " + strings.Join(muslEnv(), " ")
	labels := MuslLabels()
	var lb strings.Builder
	lb.WriteString("LABEL org.opencontainers.image.description=\"muslrust-chef test stand-in builder: Debian rustc with a musl std and zig behind the kit's wrapper\"")
	for _, k := range sortedKeys(labels) {
		fmt.Fprintf(&lb, " \\\n    %s=%s", k, strconv.Quote(labels[k]))
	}
	s := strings.ReplaceAll(muslDockerfile, "# @TOOLCHAIN_ENV@", env)
	return strings.ReplaceAll(s, "# @LABELS@", lb.String())
}

// MuslOptions configure EnsureMusl.
type MuslOptions struct {
	Registry string // host:port of the test registry (plain HTTP)
	CacheDir string // .debs, lock file, build context
	Buildctl string // buildctl executable
	Buildkit string // BuildKit address (buildctl --addr)
	// ZigTarball is zig's release tarball (any layout holding a zig
	// executable next to its lib directory): the npm one in tests.
	ZigTarball string
	// ModuleDir is this Go module's root, to build the helper from.
	ModuleDir string
	// ExtraCrates are librust-*-dev packages added to MuslPackages (the
	// benchmark's workspaces need tokio, clap, ...). The base layer's and
	// the image's tags hash the package list, so a variant with extra
	// crates is an image of its own and the tests' stand-in is untouched.
	ExtraCrates []string
	Log         io.Writer
}

// EnsureMusl returns the musl stand-in index reference, building and
// pushing it when the registry does not have it: the Debian package layer
// through Ensure, then musl.Dockerfile through BuildKit for linux/amd64 and
// linux/arm64 (every RUN on amd64), tagged by a hash of all its inputs.
func EnsureMusl(ctx context.Context, opts MuslOptions) (Result, error) {
	start := time.Now()
	log := orDiscard(opts.Log)
	base, err := Ensure(ctx, Options{Registry: opts.Registry, CacheDir: opts.CacheDir, Repository: muslBaseRepository,
		Packages: append(MuslPackages(), opts.ExtraCrates...), Log: log})
	if err != nil {
		return Result{}, err
	}
	testinfra.RemoveStale(opts.CacheDir, "musl-context-", testinfra.StaleAfter) // left by killed runs
	ctxDir, err := os.MkdirTemp(opts.CacheDir, "musl-context-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(ctxDir)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", muslRecipeVersion, base.Ref)
	files := map[string]string{"Dockerfile": MuslDockerfile(), "cargo-config.toml": muslCargoConfig()}
	for _, n := range []string{"Dockerfile", "cargo-config.toml"} {
		if err := os.WriteFile(filepath.Join(ctxDir, n), []byte(files[n]), 0o644); err != nil {
			return Result{}, err
		}
		fmt.Fprintf(h, "%s\n%s\n", n, files[n])
	}
	if err := linkOrCopy(opts.ZigTarball, filepath.Join(ctxDir, "zig.tgz")); err != nil {
		return Result{}, fmt.Errorf("zig tarball: %w (run scripts/provision.d/musl.sh)", err)
	}
	for _, arch := range Arches {
		out := filepath.Join(ctxDir, "muslrust-chef-"+arch)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -X main.version=standin", "-o", out, "./cmd/muslrust-chef")
		cmd.Dir = opts.ModuleDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			return Result{}, fmt.Errorf("building the helper for %s: %w: %s", arch, err, lastLines(b, 3))
		}
	}
	for _, n := range []string{"zig.tgz", "muslrust-chef-amd64", "muslrust-chef-arm64"} {
		sum, err := fileSHA256(filepath.Join(ctxDir, n))
		if err != nil {
			return Result{}, err
		}
		fmt.Fprintf(h, "%s %s\n", n, sum)
	}
	_, ref, err := contentTag(opts.Registry, MuslRepository, h)
	if err != nil {
		return Result{}, err
	}
	// One lock per image: builds of other variants (the benchmark's builder
	// has extra crates) do not wait for this one.
	found, unlock, err := findOrLock(start, opts.CacheDir, "standin-musl-"+ref.TagStr()+".lock", func() (string, bool) { return ref.String(), exists(ctx, ref) })
	if err != nil || unlock == nil {
		return found, err
	}
	defer unlock()
	fmt.Fprintf(log, "standin: building the musl stand-in %s from %s\n", ref, base.Ref)
	cmd := exec.CommandContext(ctx, opts.Buildctl, "--addr", opts.Buildkit, "build",
		"--progress", "plain",
		"--frontend", "dockerfile.v0",
		"--local", "context="+ctxDir, "--local", "dockerfile="+ctxDir,
		"--opt", "platform=linux/amd64,linux/arm64",
		"--opt", "build-arg:BASE="+base.Ref,
		"--output", "type=image,name="+ref.String()+",push=true,registry.insecure=true,oci-mediatypes=true")
	var buildLog strings.Builder
	cmd.Stdout = io.MultiWriter(&buildLog, log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("building the musl stand-in with BuildKit: %w: %s", err, lastLines([]byte(buildLog.String()), 8))
	}
	return Result{Ref: ref.String(), Built: true, Took: time.Since(start)}, nil
}

func linkOrCopy(from, to string) error {
	if err := os.Link(from, to); err == nil {
		return nil
	}
	// A different file system: the tarball (tens of MB) is copied whole.
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
