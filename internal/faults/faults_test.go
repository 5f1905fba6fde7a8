package faults

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/faultproxy"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/magerun"
)

// The suite drives the real targets through the compiled magefile, as a
// user's `go run mage.go` does (pkg/magerun), so signals, exit codes and
// printed errors are exactly what users get.

var (
	mageOnce sync.Once
	mageBin  string
	mageErr  string
)

func repoRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(here), "..", ".."))
}

func mage(t *testing.T) string {
	t.Helper()
	mageOnce.Do(func() {
		var stderr bytes.Buffer
		bin, code := magerun.Compile(filepath.Join(repoRoot(), "magefiles"), &stderr)
		if code != 0 {
			mageErr = stderr.String()
		}
		mageBin = bin
	})
	if mageErr != "" {
		t.Fatalf("compiling the magefile: %s", mageErr)
	}
	return mageBin
}

// run is one target run in dir with extra environment.
type run struct {
	cmd    *exec.Cmd
	stderr *testinfra.SyncBuffer
	stdout *testinfra.SyncBuffer
	start  time.Time
	done   chan struct{}
	code   int
	took   time.Duration
}

func start(t *testing.T, dir string, env []string, args ...string) *run {
	t.Helper()
	cmd := exec.Command(mage(t), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "BUILDKIT_PROGRESS=plain", "SOURCE_DATE_EPOCH=1700000000",
		"MUSLRUST_CHEF_REVISION=faults", "MUSLRUST_CHEF_SOURCE=faults"), env...)
	r := &run{cmd: cmd, stderr: &testinfra.SyncBuffer{}, stdout: &testinfra.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	r.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		r.took = time.Since(r.start)
		r.code = 0
		if err != nil {
			r.code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				r.code = ee.ExitCode()
			}
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("%s: exit %d after %s\nstderr:\n%s", strings.Join(args, " "), r.code, r.took, tail(r.stderr.String(), 40))
		}
	})
	return r
}

func (r *run) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		t.Fatalf("still running after %s", limit)
	}
}

// errorLine is the target's error: mage prints "Error: <message>" last.
func (r *run) errorLine() string {
	lines := strings.Split(strings.TrimSpace(r.stderr.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "Error: ") {
			return strings.TrimPrefix(lines[i], "Error: ")
		}
	}
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// slimWorkspace is a directory with static binaries in dist/ for both
// platforms, for rust:slim.
func slimWorkspace(t *testing.T, large bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		b, err := os.ReadFile(fixtures.GoStatic(t, arch))
		if err != nil {
			t.Fatal(err)
		}
		if large {
			// Incompressible bytes after the ELF image (still a valid
			// static executable): a write that lasts long enough to be
			// interrupted, and 2 x 24 MiB that no 8 MiB disk holds.
			pad := make([]byte, 24<<20)
			rand.New(rand.NewSource(int64(len(arch)))).Read(pad)
			b = append(b, pad...)
		}
		if err := os.MkdirAll(filepath.Join(dir, "dist", "linux_"+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dist", "linux_"+arch, "app"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func slimEnv(image string, extra ...string) []string {
	return append([]string{"MUSLRUST_CHEF_BASE_IMAGE=scratch", "MUSLRUST_CHEF_IMAGE=" + image,
		"MUSLRUST_CHEF_PLATFORMS=linux/amd64,linux/arm64"}, extra...)
}

func proxy(t *testing.T, registry string, rules ...*faultproxy.Rule) *faultproxy.HTTP {
	t.Helper()
	p, err := faultproxy.NewHTTP(registry, rules...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func unique(t *testing.T) string {
	return fmt.Sprintf("%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), time.Now().UnixNano()%1e9)
}

func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// lastDigest is the sha256:... of the repo@sha256:... line slim prints.
func lastDigest(out string) string {
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if i := strings.LastIndex(l, "@sha256:"); i >= 0 {
			return l[i+1:]
		}
	}
	return ""
}

func oneLine(t *testing.T, r *run, must ...string) string {
	t.Helper()
	line := r.errorLine()
	if line == "" {
		t.Fatalf("no error line; stderr:\n%s", tail(r.stderr.String(), 20))
	}
	for _, m := range must {
		if !strings.Contains(line, m) {
			t.Errorf("error line lacks %q: %s", m, line)
		}
	}
	return line
}

func TestRegistryFaultsOnFirstTriesGiveTheCleanDigest(t *testing.T) {
	var result, intact string
	Record(t, "503s and resets on blob and manifest requests (first 2 tries)", &result, &intact)
	reg := testinfra.Registry(t)
	ws := slimWorkspace(t, false)
	id := unique(t)
	clean := start(t, ws, slimEnv(reg+"/faults/clean-"+id+":v1"), "rust:slim")
	clean.wait(t, 2*time.Minute)
	if clean.code != 0 {
		t.Fatalf("clean push failed: %s", clean.errorLine())
	}
	want := lastDigest(clean.stdout.String())
	rules := []*faultproxy.Rule{
		{Method: "HEAD", Path: "/blobs/", Action: faultproxy.Status503, Times: 2},
		{Method: "PUT", Path: "/blobs/uploads/", Action: faultproxy.Reset, Times: 2},
		{Method: "PATCH", Path: "/blobs/uploads/", Action: faultproxy.Status503, Times: 2},
		{Method: "PUT", Path: "/manifests/", Action: faultproxy.Reset, Times: 1},
		{Method: "PUT", Path: "/manifests/", Action: faultproxy.Status503, Times: 1},
	}
	p := proxy(t, reg, rules...)
	faulty := start(t, ws, slimEnv(p.Host+"/faults/retry-"+id+":v1"), "rust:slim")
	faulty.wait(t, 3*time.Minute)
	if faulty.code != 0 {
		t.Fatalf("push through transient faults failed: %s", faulty.errorLine())
	}
	got := lastDigest(faulty.stdout.String())
	if got == "" || got != want {
		t.Errorf("index digest %s, clean run's %s", got, want)
	}
	var hits []string
	for _, r := range rules {
		hits = append(hits, fmt.Sprintf("%s %s %s x%d", r.Method, r.Path, r.Action, r.Hits()))
		if r.Hits() == 0 && r.Method != "PATCH" {
			t.Errorf("rule %s %s %s never hit", r.Method, r.Path, r.Action)
		}
	}
	t.Logf("faults injected: %s", strings.Join(hits, ", "))
	result = fmt.Sprintf("exit 0 in %s, index digest = clean run's", faulty.took.Round(100*time.Millisecond))
	intact = "index digest identical to a clean push"
}

func TestIndexPutFailsForGoodKeepsTheTag(t *testing.T) {
	var result, intact string
	Record(t, "index manifest PUT fails for good", &result, &intact)
	reg := testinfra.Registry(t)
	ws := slimWorkspace(t, false)
	image := reg + "/faults/tagsafe-" + unique(t) + ":v1"
	first := start(t, ws, slimEnv(image, "MUSLRUST_CHEF_VERSION=1"), "rust:slim")
	first.wait(t, 2*time.Minute)
	if first.code != 0 {
		t.Fatalf("first push: %s", first.errorLine())
	}
	before := digestOf(t, image)
	rule := &faultproxy.Rule{Method: "PUT", Path: "/manifests/", ContentType: "image.index", Action: faultproxy.Status500, Times: -1}
	p := proxy(t, reg, rule)
	viaProxy := strings.Replace(image, reg, p.Host, 1)
	second := start(t, ws, slimEnv(viaProxy, "MUSLRUST_CHEF_VERSION=2"), "rust:slim")
	second.wait(t, 3*time.Minute)
	if second.code == 0 {
		t.Fatal("push succeeded although every index PUT failed")
	}
	line := oneLine(t, second, p.Host, viaProxy)
	if after := digestOf(t, image); after != before || before == "" {
		t.Errorf("tag moved: %s -> %s", before, after)
	}
	result = fmt.Sprintf("exit %d after %d index PUTs: %s", second.code, rule.Hits(), line)
	intact = "tag still points at the previous index"
}

func TestStalledRegistryGivesUpWithinTheBound(t *testing.T) {
	var result, intact string
	Record(t, "stalled registry (index PUT accepted, never answered)", &result, &intact)
	reg := testinfra.Registry(t)
	ws := slimWorkspace(t, false)
	rule := &faultproxy.Rule{Method: "PUT", Path: "/manifests/", ContentType: "image.index", Action: faultproxy.Stall, Times: -1}
	p := proxy(t, reg, rule)
	image := p.Host + "/faults/stall-" + unique(t) + ":v1"
	const bound = 5 * time.Second
	r := start(t, ws, slimEnv(image, "MUSLRUST_CHEF_REGISTRY_TIMEOUT="+bound.String()), "rust:slim")
	var stalledAt time.Time
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && stalledAt.IsZero(); time.Sleep(20 * time.Millisecond) {
		if rule.Hits() > 0 {
			stalledAt = time.Now()
		}
	}
	if stalledAt.IsZero() {
		t.Fatal("the index PUT never reached the proxy")
	}
	r.wait(t, bound+30*time.Second)
	gaveUp := time.Since(stalledAt)
	if r.code == 0 {
		t.Fatal("push through a stalled registry succeeded")
	}
	line := oneLine(t, r, "stopped answering", p.Host, "MUSLRUST_CHEF_REGISTRY_TIMEOUT")
	if gaveUp > bound+2*time.Second {
		t.Errorf("gave up %s after the stall, bound %s", gaveUp, bound)
	}
	result = fmt.Sprintf("gave up %s after the stall (MUSLRUST_CHEF_REGISTRY_TIMEOUT=%s): %s", gaveUp.Round(100*time.Millisecond), bound, line)
	intact = "tag absent (never pushed)"
	if digestOf(t, strings.Replace(image, p.Host, reg, 1)) != "" {
		t.Error("the tag exists although the index never landed")
	}
}

func tmpLeftovers(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if atomicdir.IsTemp(e.Name()) {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	return out
}

func TestSignalDuringPush(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			var result, intact string
			Record(t, fmt.Sprintf("%s during registry push", signame(sig)), &result, &intact)
			reg := testinfra.Registry(t)
			ws := slimWorkspace(t, false)
			rule := &faultproxy.Rule{Method: "PUT", Path: "/manifests/", Action: faultproxy.Stall, Times: -1}
			p := proxy(t, reg, rule)
			image := p.Host + "/faults/sig-" + unique(t) + ":v1"
			r := start(t, ws, slimEnv(image), "rust:slim")
			waitFor(t, "the push to stall", func() bool { return rule.Hits() > 0 })
			sent := time.Now()
			r.cmd.Process.Signal(sig)
			r.wait(t, 5*time.Second)
			took := time.Since(sent)
			if r.code == 0 {
				t.Fatal("exit 0 after the signal")
			}
			line := oneLine(t, r, "interrupted by "+signame(sig))
			if digestOf(t, strings.Replace(image, p.Host, reg, 1)) != "" {
				t.Error("tag exists after an interrupted push")
			}
			result = fmt.Sprintf("exit %d %s after the signal: %s", r.code, took.Round(10*time.Millisecond), line)
			intact = "tag absent; dist/ untouched"
		})
	}
}

func signame(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A signal while oci:DIR is being written: the previous layout stays, no
// temporary directory is left.
func TestSignalDuringOCIWrite(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			var result, intact string
			Record(t, fmt.Sprintf("%s while writing oci:DIR", signame(sig)), &result, &intact)
			ws := slimWorkspace(t, true)
			out := filepath.Join(ws, "out")
			old := start(t, ws, []string{"MUSLRUST_CHEF_BASE_IMAGE=scratch", "MUSLRUST_CHEF_OUTPUT=oci:out/layout", "MUSLRUST_CHEF_VERSION=old"}, "rust:slim")
			old.wait(t, 2*time.Minute)
			if old.code != 0 {
				t.Fatalf("first write: %s", old.errorLine())
			}
			oldIndex, _ := os.ReadFile(filepath.Join(out, "layout", "index.json"))
			r := start(t, ws, []string{"MUSLRUST_CHEF_BASE_IMAGE=scratch", "MUSLRUST_CHEF_OUTPUT=oci:out/layout", "MUSLRUST_CHEF_VERSION=new"}, "rust:slim")
			waitFor(t, "the layout's temp dir", func() bool { return len(tmpLeftovers(t, out)) > 0 })
			sent := time.Now()
			r.cmd.Process.Signal(sig)
			r.wait(t, 5*time.Second)
			took := time.Since(sent)
			if r.code == 0 {
				t.Fatal("exit 0: the write finished before the signal took effect")
			}
			oneLine(t, r, "interrupted by "+signame(sig))
			if left := tmpLeftovers(t, out); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			if now, _ := os.ReadFile(filepath.Join(out, "layout", "index.json")); !bytes.Equal(now, oldIndex) {
				t.Error("the previous layout changed")
			}
			result = fmt.Sprintf("exit %d %s after the signal", r.code, took.Round(10*time.Millisecond))
			intact = "previous layout whole; no temporary directory"
		})
	}
}

// A full file system under oci:DIR: one line, the previous layout whole.
func TestFullDiskOnTheOutput(t *testing.T) {
	var result, intact string
	Record(t, "full disk under oci:DIR (8 MiB tmpfs)", &result, &intact)
	if os.Geteuid() != 0 {
		testinfra.Missing(t, "root, to mount a tmpfs", "run the suite as root (CI does)")
	}
	ws := slimWorkspace(t, false)
	out := filepath.Join(ws, "out")
	os.MkdirAll(out, 0o755)
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", out).CombinedOutput(); err != nil {
		testinfra.Missing(t, "mount -t tmpfs: "+strings.TrimSpace(string(b)), "run the suite as root with mount permission")
	}
	t.Cleanup(func() { exec.Command("umount", out).Run() })
	old := start(t, ws, []string{"MUSLRUST_CHEF_BASE_IMAGE=scratch", "MUSLRUST_CHEF_OUTPUT=oci:out/layout"}, "rust:slim")
	old.wait(t, 2*time.Minute)
	if old.code != 0 {
		t.Fatalf("first write: %s", old.errorLine())
	}
	oldIndex, _ := os.ReadFile(filepath.Join(out, "layout", "index.json"))
	big := slimWorkspace(t, true)
	os.RemoveAll(filepath.Join(ws, "dist"))
	if err := os.Rename(filepath.Join(big, "dist"), filepath.Join(ws, "dist")); err != nil {
		t.Fatal(err)
	}
	r := start(t, ws, []string{"MUSLRUST_CHEF_BASE_IMAGE=scratch", "MUSLRUST_CHEF_OUTPUT=oci:out/layout"}, "rust:slim")
	r.wait(t, 2*time.Minute)
	if r.code == 0 {
		t.Fatal("a 48 MiB layout fit in 8 MiB")
	}
	line := oneLine(t, r, "no space left")
	if left := tmpLeftovers(t, out); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if now, _ := os.ReadFile(filepath.Join(out, "layout", "index.json")); !bytes.Equal(now, oldIndex) || len(oldIndex) == 0 {
		t.Error("the previous layout changed")
	}
	result = fmt.Sprintf("exit %d: %s", r.code, line)
	intact = "previous layout whole; no temporary directory"
}

// waitRunning waits until BuildKit's progress shows a RUN step of one of
// the stages executing (not cached), and a second more.
func waitRunning(t *testing.T, r *run, stages ...string) {
	t.Helper()
	waitFor(t, "a "+strings.Join(stages, "/")+" step to run", func() bool {
		for _, l := range strings.Split(r.stderr.String(), "\n") {
			for _, st := range stages {
				if strings.Contains(l, st) && strings.Contains(l, "] RUN") && !strings.Contains(l, "CACHED") {
					return true
				}
			}
		}
		select {
		case <-r.done:
			t.Fatalf("finished before %v ran: exit %d", stages, r.code)
		default:
		}
		return false
	})
	time.Sleep(time.Second)
}

// checkPlan: the plan is absent or whole (a recipe that parses, beside
// its skeleton).
func checkPlan(t *testing.T, ws string) {
	t.Helper()
	plan := filepath.Join(ws, "target", "muslrust-chef")
	b, err := os.ReadFile(filepath.Join(plan, "recipe.json"))
	if os.IsNotExist(err) {
		return
	}
	if err != nil || !json.Valid(b) {
		t.Errorf("plan recipe.json broken: %v", err)
	}
	if st, err := os.Stat(filepath.Join(plan, "skeleton")); err != nil || !st.IsDir() {
		t.Errorf("plan without its skeleton: %v", err)
	}
}

// buildWorkspace is testdata/app with a source edit unique to this run, so
// the build step runs (the shared buildkitd caches earlier runs).
func buildWorkspace(t *testing.T) (string, string) {
	t.Helper()
	ws := fixtures.CopyTree(t, filepath.Join(repoRoot(), "testdata", "app"))
	nonce := fmt.Sprintf("faults%d", time.Now().UnixNano()%1e9)
	main := filepath.Join(ws, "crates", "app", "src", "main.rs")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"hello from app v1"`)) {
		t.Fatalf("%s changed: update the suite", main)
	}
	os.WriteFile(main, bytes.Replace(b, []byte(`"hello from app v1"`), []byte(`"hello from app `+nonce+`"`), 1), 0o644)
	return ws, nonce
}

// buildEnv is rust:build's default path (no builder image: the kit builds
// its own, musl with zig, and cross-compiles), its inputs swapped for the
// test world's: the musl stand-in as the builder's base and zig from the
// test registry. One platform keeps each scenario's build short.
func buildEnv(t *testing.T, bk string, extra ...string) []string {
	zigURL, sha := testinfra.ZigMirror(t)
	return append([]string{"BUILDKIT_HOST=" + bk, "MUSLRUST_CHEF_BUILDER_IMAGE=",
		"MUSLRUST_CHEF_MUSLRUST_IMAGE=" + standin.MuslImage(t),
		"MUSLRUST_CHEF_BUILDER_ARGS=" + strings.Join([]string{"ZIG_VERSION=" + testinfra.ZigVersion,
			"ZIG_SHA256_AMD64=" + sha, "ZIG_SHA256_ARM64=" + sha, "ZIG_URL_AMD64=" + zigURL, "ZIG_URL_ARM64=" + zigURL}, ","),
		"MUSLRUST_CHEF_PLATFORMS=linux/amd64", "MUSLRUST_CHEF_CACHE=off",
		"MUSLRUST_CHEF_BASE_IMAGE=scratch", "MUSLRUST_CHEF_OUTPUT=oci:out/layout"}, extra...)
}

// rustFlags are the musl builder's own RUSTFLAGS plus a --cfg that gives
// a run its own cook layer (MUSLRUST_CHEF_RUSTFLAGS replaces the flags the
// builder's cargo configuration sets, so they are repeated).
func rustFlags(cfg string) string {
	return "MUSLRUST_CHEF_RUSTFLAGS=" + standin.MuslRustFlags + " --cfg " + cfg
}

// activeSolves lists buildkitd's running builds whose record mentions
// marker (buildctl debug histories).
func activeSolves(t *testing.T, bk, marker string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testinfra.Tool(t, "buildctl"), "--addr", bk, "debug", "histories",
		"--format", `{{if not .Record.CompletedAt}}{{.Record.Ref}} {{json .Record.FrontendAttrs}}{{"\n"}}{{end}}`).Output()
	if err != nil {
		t.Fatalf("buildctl debug histories: %v", err)
	}
	var refs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if marker == "" || strings.Contains(sc.Text(), marker) {
			refs = append(refs, strings.Fields(sc.Text())[0])
		}
	}
	return refs
}

// A signal while BuildKit cooks: out within 5 s, the solve cancelled in
// buildkitd, dist/, plan and OCI output old-or-absent. (The signal during
// the export to dist/ is TestSignalDuringExport's, while writing oci:DIR
// TestSignalDuringOCIWrite's, during a push TestSignalDuringPush's.)
func TestSignalDuringCook(t *testing.T) {
	bk := testinfra.Buildkitd(t)
	for _, tc := range []struct{ stage string }{{"cook"}} {
		t.Run(tc.stage, func(t *testing.T) {
			var result, intact string
			Record(t, "SIGINT during "+tc.stage, &result, &intact)
			ws, nonce := buildWorkspace(t)
			// Unique RUSTFLAGS give a cook layer no earlier run has.
			env := append(buildEnv(t, bk), rustFlags(nonce))
			r := start(t, ws, env, "rust:build")
			waitRunning(t, r, "[cook ", "[cross-cook ")
			sent := time.Now()
			r.cmd.Process.Signal(syscall.SIGINT)
			r.wait(t, 5*time.Second)
			took := time.Since(sent)
			if r.code == 0 {
				t.Fatal("exit 0 after SIGINT")
			}
			line := oneLine(t, r)
			assertNoSolvesLeft(t, bk, nonce)
			if _, err := os.Stat(filepath.Join(ws, "dist")); err == nil {
				t.Error("dist/ exists after an interrupted first build")
			}
			if _, err := os.Stat(filepath.Join(ws, "out", "layout")); err == nil {
				t.Error("OCI output exists after an interrupted first build")
			}
			if left := tmpLeftovers(t, ws, filepath.Join(ws, "out"), filepath.Join(ws, "target")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			checkPlan(t, ws)
			result = fmt.Sprintf("exit %d %s after SIGINT: %s", r.code, took.Round(10*time.Millisecond), line)
			intact = "no solve left in buildkitd; dist/, OCI output absent; plan whole; no temporary directory"
		})
	}
}

// buildkitd dying mid-build (the fault proxy in front of its socket cuts
// every connection and refuses new ones): one line naming BuildKit.
func TestBuildkitdKilledMidBuild(t *testing.T) {
	var result, intact string
	Record(t, "buildkitd killed mid-build", &result, &intact)
	bk := testinfra.Buildkitd(t)
	sock := filepath.Join(t.TempDir(), "bk.sock")
	sp, err := faultproxy.NewStream(sock, bk)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ws, _ := buildWorkspace(t)
	r := start(t, ws, buildEnv(t, sp.Addr), "rust:build")
	waitRunning(t, r, "[cook ", "[build ", "[cross-cook ", "[cross-build ")
	sp.Kill()
	r.wait(t, time.Minute)
	if r.code == 0 {
		t.Fatal("exit 0 although BuildKit went away")
	}
	line := oneLine(t, r, "BuildKit")
	if _, err := os.Stat(filepath.Join(ws, "dist")); err == nil {
		t.Error("dist/ exists after a failed first build")
	}
	if left := tmpLeftovers(t, ws, filepath.Join(ws, "out")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	result = fmt.Sprintf("exit %d: %s", r.code, line)
	intact = "dist/ and OCI output absent; no temporary directory"
}

// Two rust:build at once on one workspace take turns over dist/: both
// succeed (or one fails with one line), one waits for the other, and
// dist/ afterwards holds only binaries of one run. The runs compile the
// same sources with different --cfg flags, so each binary says which run
// built it.
func TestTwoBuildsAtOnce(t *testing.T) {
	var result, intact string
	Record(t, "two rust:build at once on one workspace", &result, &intact)
	bk := testinfra.Buildkitd(t)
	ws, nonce := buildWorkspace(t)
	runMarker(t, ws, nonce)
	// Fixed cfg names keep each run's cook cached across suite runs; the
	// source nonce makes both build steps run.
	flags := func(name string) string {
		return rustFlags("faults_run_" + name)
	}
	a := start(t, ws, buildEnv(t, bk, "MUSLRUST_CHEF_OUTPUT=oci:out/a", flags("a")), "rust:build")
	time.Sleep(500 * time.Millisecond)
	b := start(t, ws, buildEnv(t, bk, "MUSLRUST_CHEF_OUTPUT=oci:out/b", flags("b")), "rust:build")
	a.wait(t, 15*time.Minute)
	b.wait(t, 15*time.Minute)
	runs := map[string]*run{"a": a, "b": b}

	var waiter string
	for name, r := range runs {
		if strings.Contains(r.stderr.String(), "another run is writing") {
			if waiter != "" {
				t.Fatal("both runs say they waited for the other")
			}
			waiter = name
		}
	}
	if waiter == "" {
		t.Fatal("neither run waited for the other (no \"another run is writing ...; waiting for it to finish\" in either log)")
	}
	var failed []string
	for name, r := range runs {
		if r.code != 0 {
			failed = append(failed, fmt.Sprintf("run %s exit %d: %s", name, r.code, oneLine(t, r)))
		}
	}
	if len(failed) == 2 {
		t.Fatalf("both runs failed: %v", failed)
	}

	// Every binary in dist/ must carry one run's marker, the same run's,
	// and that run must have succeeded; with both succeeding it is the
	// one that waited, which wrote last.
	var from string
	var bins, provenances []string
	err := filepath.WalkDir(filepath.Join(ws, "dist"), func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".muslrust-chef":
			return filepath.SkipDir // cargo's raw records: the same for both runs
		case d.IsDir() || d.Name() == atomicdir.Marker:
			return nil
		case strings.HasSuffix(d.Name(), ".provenance.json"):
			provenances = append(provenances, p)
			return nil
		case strings.HasSuffix(d.Name(), ".cdx.json"), strings.HasSuffix(d.Name(), ".spdx.json"):
			return nil // the SBOMs: the same for both runs
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ws, p)
		bins = append(bins, rel)
		var got []string
		for name := range runs {
			if bytes.Contains(data, []byte(markerOf(name, nonce))) {
				got = append(got, name)
			}
		}
		switch {
		case len(got) != 1:
			t.Errorf("%s: carries markers %v, want exactly one run's", rel, got)
		case from == "":
			from = got[0]
		case from != got[0]:
			t.Errorf("dist/ is a mix: %s is run %s's, an earlier file run %s's", rel, got[0], from)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) == 0 {
		t.Fatal("dist/ holds no binary")
	}
	// Each platform's provenance describes the binary beside it: the
	// records and the binary are one run's.
	if len(provenances) != len(bins) {
		t.Errorf("dist/ holds %d binaries and %d provenance statements: %v %v", len(bins), len(provenances), bins, provenances)
	}
	for _, p := range provenances {
		binary := strings.TrimSuffix(p, ".provenance.json")
		checkProvenanceNamesBinary(t, p, binary)
	}
	if runs[from] != nil && runs[from].code != 0 {
		t.Errorf("dist/ holds the binaries of run %s, which failed", from)
	}
	if len(failed) == 0 && from != waiter {
		t.Errorf("dist/ is run %s's, but run %s waited and so wrote last", from, waiter)
	}
	if left := tmpLeftovers(t, ws, filepath.Join(ws, "out")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if len(failed) == 0 {
		result = fmt.Sprintf("both exit 0 (a %s, b %s); run %s waited for the other", a.took.Round(time.Second), b.took.Round(time.Second), waiter)
	} else {
		result = fmt.Sprintf("%s; run %s waited for the other", failed[0], waiter)
	}
	intact = fmt.Sprintf("dist/ entirely run %s's (%s)", from, strings.Join(bins, ", "))
}

func markerOf(run, nonce string) string { return "faults-run-" + run + "-" + nonce }

// runMarker makes the binary print a string naming the run that built it,
// chosen by the --cfg faults_run_<name> in that run's RUSTFLAGS.
func runMarker(t *testing.T, ws, nonce string) {
	t.Helper()
	main := filepath.Join(ws, "crates", "app", "src", "main.rs")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	const entry = "fn main() {\n"
	if !bytes.Contains(b, []byte(entry)) {
		t.Fatalf("%s changed: update the suite", main)
	}
	consts := fmt.Sprintf("#[cfg(faults_run_a)]\nconst RUN: &str = %q;\n#[cfg(faults_run_b)]\nconst RUN: &str = %q;\n",
		markerOf("a", nonce), markerOf("b", nonce))
	b = bytes.Replace(b, []byte(entry), []byte(consts+entry+"    println!(\"{}\", RUN);\n"), 1)
	if err := os.WriteFile(main, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bigBinary makes the workspace's binary about size bytes (a blob its
// build script writes, embedded with include_bytes!), so BuildKit's local
// exporter is still copying it into dist/'s temporary sibling when the
// signal lands.
func bigBinary(t *testing.T, ws string, size int) {
	t.Helper()
	crate := filepath.Join(ws, "crates", "app")
	build := fmt.Sprintf(`fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=APP_TARGET={}", target);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("blob");
    std::fs::write(&out, vec![0x5au8; %d]).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
`, size)
	if err := os.WriteFile(filepath.Join(crate, "build.rs"), []byte(build), 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(crate, "src", "main.rs")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	const entry = "fn main() {\n"
	if !bytes.Contains(b, []byte(entry)) {
		t.Fatalf("%s changed: update the suite", main)
	}
	b = bytes.Replace(b, []byte(entry), []byte(`static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blob"));
`+entry+`    println!("{}", BLOB[std::env::args().count() % BLOB.len()]);
`), 1)
	if err := os.WriteFile(main, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A signal while BuildKit's local exporter writes dist/: out within 5 s,
// the solve cancelled in buildkitd, dist/ still the previous run's bytes,
// no temporary directory beside it.
// exportVertex is the plain-progress prefix ("#12") of BuildKit's local
// export vertex, once it has started.
func exportVertex(progress string) string {
	for _, l := range strings.Split(progress, "\n") {
		if n, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(n, "#") && strings.HasPrefix(rest, "exporting to client") {
			return n
		}
	}
	return ""
}

func TestSignalDuringExport(t *testing.T) {
	var result, intact string
	Record(t, "SIGINT during export to dist/", &result, &intact)
	bk := testinfra.Buildkitd(t)
	ws, nonce := buildWorkspace(t)
	// Unique RUSTFLAGS mark this test's solves in buildkitd's history; both
	// runs share them, so the second reuses the first one's cook.
	env := append(buildEnv(t, bk), rustFlags(nonce))
	old := start(t, ws, env, "rust:build")
	old.wait(t, 15*time.Minute)
	if old.code != 0 {
		t.Fatalf("first build: %s", old.errorLine())
	}
	distBin := filepath.Join(ws, "dist", "linux_amd64", "app")
	oldBin, err := os.ReadFile(distBin)
	if err != nil {
		t.Fatal(err)
	}
	bigBinary(t, ws, 384<<20)
	r := start(t, ws, env, "rust:build")
	var vertex string
	waitFor(t, "the export to dist/", func() bool {
		select {
		case <-r.done:
			t.Fatalf("finished before the export was seen: exit %d", r.code)
		default:
		}
		vertex = exportVertex(r.stderr.String())
		return vertex != ""
	})
	exporting := len(tmpLeftovers(t, ws)) > 0
	sent := time.Now()
	r.cmd.Process.Signal(syscall.SIGINT)
	seen := r.stderr.String()
	r.wait(t, 5*time.Second)
	took := time.Since(sent)
	if !exporting {
		t.Fatal("no temporary directory beside dist/ while exporting")
	}
	if strings.Contains(seen, vertex+" DONE") {
		t.Fatal("the export was done before SIGINT was sent (make the binary bigger)")
	}
	if r.code == 0 {
		t.Fatal("exit 0: the export finished before SIGINT took effect (make the binary bigger)")
	}
	line := oneLine(t, r)
	assertNoSolvesLeft(t, bk, nonce)
	if now, err := os.ReadFile(distBin); err != nil || !bytes.Equal(now, oldBin) {
		t.Errorf("dist/ is not the first run's any more (%v)", err)
	}
	if left := tmpLeftovers(t, ws, filepath.Join(ws, "dist"), filepath.Join(ws, "out")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	at := "export started"
	for _, l := range strings.Split(seen, "\n") {
		if strings.HasPrefix(l, vertex+" copying files") {
			at = strings.TrimPrefix(l, vertex+" ")
		}
	}
	result = fmt.Sprintf("signal at %q; exit %d %s after it: %s", at, r.code, took.Round(10*time.Millisecond), line)
	intact = fmt.Sprintf("no solve left in buildkitd; dist/ the previous run's (%d bytes); no temporary directory", len(oldBin))
}

// assertNoSolvesLeft fails t when buildkitd still runs a solve of this
// run (nonce) 10 s after the kit exited: an interrupt must cancel them.
func assertNoSolvesLeft(t *testing.T, bk, nonce string) {
	t.Helper()
	var lingering []string
	for i := 0; i < 20; i++ {
		if lingering = activeSolves(t, bk, nonce); len(lingering) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("solves still running in buildkitd 10 s after the exit: %v", lingering)
}

// checkProvenanceNamesBinary fails t unless the provenance statement at
// file names the binary at bin, by its file name and sha256, as a subject.
func checkProvenanceNamesBinary(t *testing.T, file, bin string) {
	t.Helper()
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(doc, &st); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	// Without a registry the image's subject is named after the binary
	// too: one of the subjects so named must be the binary itself.
	var named []string
	for _, s := range st.Subject {
		if s.Name == filepath.Base(bin) {
			if s.Digest["sha256"] == hex.EncodeToString(sum[:]) {
				return
			}
			named = append(named, "sha256:"+s.Digest["sha256"])
		}
	}
	if len(named) > 0 {
		t.Errorf("%s names %s %v, but the binary beside it is sha256:%x: the records and the binary are not one run's", file, filepath.Base(bin), named, sum)
		return
	}
	t.Errorf("%s has no subject named %s", file, filepath.Base(bin))
}
