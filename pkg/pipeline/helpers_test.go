package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func str(s string) *string { return &s }

// appendTo appends text to file.
func appendTo(t testing.TB, file, text string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// replaceIn replaces the first old in file with new; old must be there.
func replaceIn(t testing.TB, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// env is one test's infrastructure: BuildKit, the registry, the stand-in.
type env struct {
	t        testing.TB
	bkHost   string
	registry string
	builder  string
	progress *testinfra.SyncBuffer
	log      *testinfra.SyncBuffer
}

// newMuslEnv is a configured builder image (MUSLRUST_CHEF_BUILDER_IMAGE):
// the musl stand-in, for the tests about a builder given by reference.
func newMuslEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, standin.MuslImage)
}

// newGlibcCrossEnv has the glibc cross stand-in builder (amd64 compiles for
// arm64 too, static glibc, and declares so): only for the test about
// glibc (MUSLRUST_CHEF_LIBC=gnu).
func newGlibcCrossEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, standin.CrossImage)
}

// newDefaultEnv is the user's default path: no builder image configured,
// so the kit builds its own builder from the embedded Dockerfile; only its
// inputs point at the test world (the musl stand-in as its base, zig from
// the npm tarball served on 127.0.0.1: an x86_64 zig, which the arm64
// builder of emulate and split runs natively on the amd64 test host).
// zig's URL is the same in every run and package (testinfra.ZigMirror), so the builder's stages
// and every cook keyed on them are cached across tests and test runs.
func newDefaultEnv(t testing.TB) *env {
	t.Helper()
	e := newEnvWith(t, func(testing.TB) string { return "" })
	t.Setenv("MUSLRUST_CHEF_BUILDER_IMAGE", "")
	t.Setenv("MUSLRUST_CHEF_MUSLRUST_IMAGE", standin.MuslImage(t))
	url, sha := testinfra.ZigMirror(t)
	setZig(t, url, sha)
	return e
}

// setZig points the kit's builder's zig download (both architectures) at
// url, the provisioned npm tarball of sha256 sha.
func setZig(t testing.TB, url, sha string) {
	t.Helper()
	t.Setenv("MUSLRUST_CHEF_BUILDER_ARGS", strings.Join([]string{
		"ZIG_VERSION=" + testinfra.ZigVersion, "ZIG_SHA256_AMD64=" + sha, "ZIG_SHA256_ARM64=" + sha,
		"ZIG_URL_AMD64=" + url, "ZIG_URL_ARM64=" + url}, ","))
}

func newEnvWith(t testing.TB, builder func(testing.TB) string) *env {
	t.Helper()
	e := &env{t: t, bkHost: testinfra.Buildkitd(t), registry: testinfra.Registry(t), progress: &testinfra.SyncBuffer{}, log: &testinfra.SyncBuffer{}}
	e.builder = builder(t)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("MUSLRUST_CHEF_TEST_PROGRESS") == "1" {
			t.Logf("log:\n%s\nBuildKit progress:\n%s", e.log.String(), tail(e.progress.String(), 200))
		}
	})
	return e
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (e *env) runtime(host string) []Option {
	if host == "" {
		host = e.bkHost
	}
	hp, _ := platform.Host()
	return []Option{
		WithConnectOptions(buildkit.WithHost(host), buildkit.WithProgress(e.progress, "plain")),
		WithStdout(e.log), WithLog(e.log),
		WithCreated(time.Unix(0, 0)), WithHost(hp), WithOptionNames(config.KnobName),
	}
}

// Settings are the knobs a test gives as flags; the environment, Cargo.toml
// metadata and defaults follow, as for the targets.
type Settings = config.RustArgs

// resolve reads s and the environment as rust:build does (config.Rust,
// builder.BuildArgs) into the Config and the workspace read once.
func resolve(s Settings) (Config, *chef.Workspace, error) {
	rs, err := config.Rust(s)
	if err != nil {
		return Config{}, nil, err
	}
	return Config{Spec: rs.Spec}, rs.Loaded, nil
}

// build and cook run Build and Cook on s as the targets do, with errors
// worded for a mage user (config.Explain), which the tests assert.
func build(ctx context.Context, s Settings, opts []Option) (*Result, error) {
	return runWith(ctx, Build, s, opts)
}

func cook(ctx context.Context, s Settings, opts []Option) (*Result, error) {
	return runWith(ctx, Cook, s, opts)
}

func runWith(ctx context.Context, f func(context.Context, Config, ...Option) (*Result, error), s Settings, opts []Option) (*Result, error) {
	c, ws, err := resolve(s)
	if err != nil {
		return &Result{}, explained{err}
	}
	r, err := f(ctx, c, append(opts, WithWorkspace(ws))...)
	if err != nil {
		return r, explained{err}
	}
	return r, nil
}

// explained is err as fail.Fatal words it for the user.
type explained struct{ err error }

func (e explained) Error() string { return config.Explain(e.err) }
func (e explained) Unwrap() error { return e.err }

// settings for the testdata workspace at ws: the env's builder, a
// scratch runtime base, dist inside the test's temp dir, no cache unless set.
func (e *env) settings(ws, platforms, image string) Settings {
	return Settings{
		Workspace: str(ws), Platforms: str(platforms), Image: str(image),
		Builder: builderSetting(e.builder), Base: str("scratch"), Dist: str(filepath.Join(ws, "dist")),
		Output: str("registry"), Cache: str("off"), Strategy: str(StrategyEmulate),
	}
}

// crossSettings is settings for a copy of testdata/cross, which has two
// binaries: rust:build ships the one named crossapp.
func (e *env) crossSettings(ws, platforms, image string) Settings {
	s := e.settings(ws, platforms, image)
	s.Bin = str("crossapp")
	return s
}

// builderSetting is nil for the default path (no builder image given).
func builderSetting(ref string) *string {
	if ref == "" {
		return nil
	}
	return &ref
}

func (e *env) image(name string) string {
	return e.registry + "/muslrust-chef-test/" + name + ":" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(e.t.Name(), "-"))
}

var compiling = regexp.MustCompile(`(?m)^\s*Compiling (\S+) v\S+(.*)$`)

// compiled lists the crates a build-stage RUN compiled, and whether each
// was local (cargo prints a path for those).
func compiled(logs string) (local, external []string) {
	for _, m := range compiling.FindAllStringSubmatch(logs, -1) {
		if strings.Contains(m[2], "(/src/") {
			local = append(local, m[1])
		} else {
			external = append(external, m[1])
		}
	}
	return local, external
}

func (r *Result) stageLogs(stage, p string) string {
	for name, l := range r.Logs {
		if isStageRun(name, stage, p) {
			return l
		}
	}
	return ""
}

// runBinary runs a dist binary (arm64 through binfmt/QEMU) and returns its output.
func runBinary(t testing.TB, bin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	return string(out)
}
