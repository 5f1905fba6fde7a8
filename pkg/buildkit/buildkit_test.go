package buildkit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

func encodeAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// uniq makes refs and file contents unique per run, so a build cannot be
// satisfied by a previous run's cache when the test needs real work.
func uniq() string { return fmt.Sprintf("%d", time.Now().UnixNano()) }

func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		fixtures.WriteFile(t, dir, p, content)
	}
	return dir
}

func assertOneLine(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err.Error())
	}
}

func TestMultiPlatformPushIndex(t *testing.T) {
	base := testimages.Busybox(t)
	registry := testinfra.Registry(t)
	b := connectShared(t)
	ctxDir := writeFiles(t, map[string]string{
		"Dockerfile": "ARG BASE\nFROM ${BASE}\nARG RUN_ID\nRUN echo \"$RUN_ID\" > /id && uname -m > /arch\n",
	})
	ref := registry + "/muslrust-chef-test/buildkit-multi:" + uniq()
	res, err := b.Solve(context.Background(), Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		BuildArgs:  map[string]string{"BASE": base, "RUN_ID": uniq()},
		Image:      &ImageOutput{Names: []string{ref}, Push: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("no pushed digest in %v", res.ExporterResponse)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("pushed ref is not an index: %v", err)
	}
	d, _ := idx.Digest()
	if d.String() != res.Digest {
		t.Errorf("Result.Digest %s, registry has %s", res.Digest, d)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform != nil {
			got[m.Platform.OS+"/"+m.Platform.Architecture] = true
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64"} {
		if !got[want] {
			t.Errorf("index %s lacks %s (has %v)", res.Digest, want, got)
		}
	}
}

func TestPushByDigest(t *testing.T) {
	registry := testinfra.Registry(t)
	b := connectShared(t)
	ctxDir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY id /id\n",
		"id":         uniq(),
	})
	repo := registry + "/muslrust-chef-test/buildkit-bydigest"
	res, err := b.Solve(context.Background(), Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/arm64"},
		Image:      &ImageOutput{Names: []string{repo}, PushByDigest: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("no digest in %v", res.ExporterResponse)
	}
	r, err := name.ParseReference(repo+"@"+res.Digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pushed digest not in the registry: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" {
		t.Errorf("architecture %q, want arm64", cfg.Architecture)
	}
}

// One build covers the local exporter (a directory per platform), the target
// stage, a named context, SOURCE_DATE_EPOCH (WithSourceDateEpoch) and a secret.
func TestLocalExportNamedContextArgsSecret(t *testing.T) {
	base := testimages.Busybox(t)
	b := connectShared(t, WithSourceDateEpoch("1700000000"))
	runID := uniq()
	ctxDir := writeFiles(t, map[string]string{
		"Dockerfile": `ARG BASE
FROM ${BASE} AS build
ARG TARGETARCH
ARG SOURCE_DATE_EPOCH
ARG RUN_ID
RUN --mount=type=secret,id=token mkdir /out && echo "$TARGETARCH" > /out/arch \
 && uname -m > /out/uname && echo "$SOURCE_DATE_EPOCH" > /out/epoch && cp /run/secrets/token /out/token && echo "$RUN_ID" > /out/id
COPY --from=extra greeting.txt /out/greeting.txt

FROM scratch AS export
COPY --from=build /out /

FROM ${BASE} AS never
RUN echo "the target stage must stop the build before this" && false
`,
	})
	extra := writeFiles(t, map[string]string{"greeting.txt": "hello from a named context"})
	dist := filepath.Join(t.TempDir(), "dist")
	// An entry the build does not produce must survive the swap into
	// place (dist as an earlier split build of the kit left it).
	if err := os.MkdirAll(filepath.Join(dist, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, atomicdir.Marker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := b.Solve(context.Background(), Request{
		ContextDir:    ctxDir,
		Platforms:     []string{"linux/amd64", "linux/arm64"},
		Target:        "export",
		BuildArgs:     map[string]string{"BASE": base, "RUN_ID": runID},
		NamedContexts: map[string]string{"extra": extra},
		Secrets:       []Secret{{ID: "token", Value: []byte("s3cret")}},
		Local:         &LocalOutput{Dir: dist},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		dir := filepath.Join(dist, "linux_"+arch)
		want := map[string]string{
			"arch":         arch,
			"uname":        map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch],
			"epoch":        "1700000000",
			"token":        "s3cret",
			"id":           runID,
			"greeting.txt": "hello from a named context",
		}
		for f, w := range want {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if got := strings.TrimSpace(string(data)); got != w {
				t.Errorf("%s/%s = %q, want %q", dir, f, got, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dist, "keep")); err != nil {
		t.Errorf("pre-existing dist/keep was removed: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dist))
	for _, e := range entries {
		if atomicdir.IsTemp(e.Name()) {
			t.Errorf("temporary output dir left behind: %s", e.Name())
		}
	}
}

// The cache test: a build exports a registry cache (mode=max); a buildkitd
// with an empty state dir then rebuilds importing it (plus a ref that does not
// exist, like a main-branch ref on the first run) and must execute no step.
func TestRegistryCacheFreshBuilder(t *testing.T) {
	base := testimages.Busybox(t)
	registry := testinfra.Registry(t)
	fresh := testinfra.FreshBuildkitd(t)
	// With SOURCE_DATE_EPOCH passed through, the rebuild must give the very
	// same image digest, not only cached steps.
	epoch := WithSourceDateEpoch("1700000000")
	id := uniq()
	ctxDir := writeFiles(t, map[string]string{
		"Dockerfile": `ARG BASE
FROM ${BASE}
COPY data /data
RUN cat /data > /copy && uname -m > /arch
RUN sleep 1 && echo done > /done
`,
		"data": id,
	})
	cacheRef := registry + "/muslrust-chef-test/buildkit-cache:" + id
	missingRef := registry + "/muslrust-chef-test/buildkit-cache:main-" + id
	req := Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		BuildArgs:  map[string]string{"BASE": base},
		CacheFrom:  []string{cacheRef, missingRef},
		CacheTo:    cacheRef,
		Image:      &ImageOutput{Names: []string{registry + "/muslrust-chef-test/buildkit-cached:" + id}, Push: true},
	}

	first := connectShared(t, epoch)
	start := time.Now()
	res1, err := first.Solve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	if n := executedRuns(res1); n == 0 {
		t.Fatalf("first build executed no RUN step; the test input is not unique: %+v", res1.Vertexes)
	}

	second, err := Connect(context.Background(), WithHost(fresh), WithProgress(testinfra.ProgressLog(t), "plain"), epoch)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	req.CacheTo = "" // import only, as a CI rebuild of the same commit would
	start = time.Now()
	res2, err := second.Solve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	runs := 0
	for _, v := range res2.Vertexes {
		if isRun(v) {
			runs++
			if !v.Cached {
				t.Errorf("step ran again on the fresh builder: %q", v.Name)
			}
		}
	}
	if runs == 0 {
		t.Fatalf("no RUN vertex reported on the rebuild: %+v", res2.Vertexes)
	}
	if res2.Digest != res1.Digest {
		t.Errorf("rebuild from cache gave %s, first build %s", res2.Digest, res1.Digest)
	}
	t.Logf("cold %v, from registry cache on a fresh builder %v (%d RUN steps cached)", cold, warm, runs)
}

func isRun(v Vertex) bool { return strings.Contains(v.Name, "] RUN ") }

func executedRuns(r *Result) int {
	n := 0
	for _, v := range r.Vertexes {
		if isRun(v) && v.Executed() {
			n++
		}
	}
	return n
}

func TestCancelStopsBuild(t *testing.T) {
	base := testimages.Busybox(t)
	b := connectShared(t)
	// The marker is in the shell's command line (sh -c "sleep 300 && echo
	// <id>"), so the test can see the step's process and that it is gone.
	marker := "muslrust-chef-cancel-" + uniq()
	ctxDir := writeFiles(t, map[string]string{
		"Dockerfile": "ARG BASE\nFROM ${BASE}\nRUN sleep 300 && echo " + marker + "\n",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	started := make(chan struct{})
	cancelled := make(chan struct{})
	var once, seen bool
	go func() {
		defer close(cancelled)
		select {
		case <-started:
			cancelledAt = time.Now()
			cancel()
		case <-time.After(2 * time.Minute):
			cancel()
		}
	}()
	_, err := b.Solve(ctx, Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/amd64"},
		BuildArgs:  map[string]string{"BASE": base},
		OnStatus: func(ss *bkclient.SolveStatus) {
			for _, v := range ss.Vertexes {
				if !once && v.Started != nil && v.Completed == nil && strings.Contains(v.Name, marker) {
					// Wait until the step's process exists, so the test
					// shows it is killed, not merely never started.
					for i := 0; i < 100 && !seen; i++ {
						seen = processWith(marker)
						time.Sleep(50 * time.Millisecond)
					}
					once = true
					close(started)
				}
			}
		},
	})
	<-cancelled // cancelledAt and seen are settled
	if cancelledAt.IsZero() {
		t.Fatalf("the RUN step never started: %v", err)
	}
	took := time.Since(cancelledAt)
	if !seen {
		t.Errorf("the RUN step's process (marker %s) was never seen running", marker)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error does not wrap context.Canceled: %v", err)
	}
	assertOneLine(t, err)
	if took > 15*time.Second {
		t.Errorf("Solve returned %v after cancellation", took)
	}
	t.Logf("returned %v after cancel: %v", took, err)
	deadline := time.Now().Add(15 * time.Second)
	for processWith(marker) {
		if time.Now().After(deadline) {
			t.Fatal("the RUN step's process is still running 15s after cancellation")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processWith reports whether a process on this machine (BuildKit runs steps
// here, with runc) has marker in its command line.
func processWith(marker string) bool {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range cmdlines {
		if b, err := os.ReadFile(c); err == nil && strings.Contains(string(b), marker) {
			return true
		}
	}
	return false
}

func TestUnreachableBuildkit(t *testing.T) {
	for _, addr := range []string{"unix:///nonexistent/buildkitd.sock", "tcp://127.0.0.1:1"} {
		start := time.Now()
		_, err := Connect(context.Background(), WithHost(addr))
		assertOneLine(t, err)
		for _, want := range []string{addr, "not answering", "start buildkitd", HostEnv} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error lacks %q: %v", addr, want, err)
			}
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("%s: took %v", addr, time.Since(start))
		}
		t.Log(err)
	}
	_, err := Connect(context.Background(), WithHostFrom("unix:///nonexistent/from-env.sock", HostEnv))
	if err == nil || !strings.Contains(err.Error(), "from "+HostEnv) {
		t.Errorf("BUILDKIT_HOST not used or not named: %v", err)
	}
}

func TestRegistryCredentials(t *testing.T) {
	b0 := connectShared(t) // skips without infrastructure before we start daemons
	b0.Close()
	host := testinfra.AuthRegistry(t, "ci", "right-password")
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})
	ref := host + "/muslrust-chef-test/auth:" + uniq()
	req := Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/amd64"},
		Image:      &ImageOutput{Names: []string{ref}, Push: true},
	}

	wrong := connectShared(t, WithDockerConfigDir(writeDockerConfig(t, host, "ci", "wrong-password")))
	_, err := wrong.Solve(context.Background(), req)
	assertOneLine(t, err)
	for _, want := range []string{"registry " + host + " refused the credentials", "docker login " + host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	t.Log(err)

	right := connectShared(t, WithDockerConfigDir(writeDockerConfig(t, host, "ci", "right-password")))
	res, err := right.Solve(context.Background(), req)
	if err != nil {
		t.Fatalf("push with the right credentials from the Docker config: %v", err)
	}
	if res.Digest == "" {
		t.Error("no digest")
	}
}

func TestRegistryUnreachable(t *testing.T) {
	b := connectShared(t)
	host := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})
	_, err := b.Solve(context.Background(), Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/amd64"},
		Image:      &ImageOutput{Names: []string{host + "/x/y:z"}, Push: true},
	})
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), "cannot reach registry "+host) {
		t.Errorf("unexpected error: %v", err)
	}
	t.Log(err)
}

// linux/sparc64 is a platform no buildkitd lists, whichever QEMU handlers
// the machine has registered: BuildKit adds to its workers' platforms every
// emulated one it detects (even past --oci-worker-platform), but it never
// probes sparc64. So the refusal is tested on every machine.
func TestUnknownPlatform(t *testing.T) {
	testinfra.RequireArm64(t) // the refusal lists the platforms the workers build
	b := connectShared(t)
	const unknown = "linux/sparc64"
	if b.Endpoint().supports(mustPlatform(t, unknown)) {
		t.Fatalf("BuildKit is probed as building %s: %v", unknown, b.Endpoint().Platforms)
	}
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	start := time.Now()
	_, err := b.Solve(context.Background(), Request{ContextDir: ctxDir, Platforms: []string{"linux/amd64", unknown}})
	assertOneLine(t, err)
	for _, want := range []string{"cannot build " + unknown, "linux/amd64", "linux/arm64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if time.Since(start) > time.Second {
		t.Errorf("refusal took %v: it must come before solving", time.Since(start))
	}
	t.Log(err)
	_, err = b.Solve(context.Background(), Request{ContextDir: ctxDir, Platforms: []string{"linux/"}})
	assertOneLine(t, err)
}

// The Docker daemon's own BuildKit (Debian's dockerd, classic image store),
// reached through the Engine API's /grpc and /session hijack.
func TestDockerDaemonBuilder(t *testing.T) {
	dockerHost := testinfra.ClassicStoreDockerd(t)
	registry := testinfra.Registry(t)
	b, err := Connect(context.Background(),
		WithDockerConfigDir(t.TempDir()), // no buildx builder selected
		WithDockerHost(dockerHost),
		WithNeeds(Needs{}), // take it whatever it lacks, to see each refusal
		WithProgress(testinfra.ProgressLog(t), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := b.Endpoint()
	if e.Kind != KindDockerDaemon {
		t.Fatalf("resolved to %+v, want the Docker daemon", e)
	}
	if e.Caps.MultiPlatform || e.Caps.CacheExport || e.Caps.PushByDigest || e.Caps.ImageExporter {
		t.Fatalf("a classic-store Docker daemon was probed as %+v", e.Caps)
	}
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})

	refusals := []struct {
		req  Request
		want string
	}{
		{Request{ContextDir: ctxDir, Platforms: []string{"linux/amd64", "linux/arm64"}}, "cannot build several platforms at once"},
		{Request{ContextDir: ctxDir, CacheTo: registry + "/muslrust-chef-test/c:x"}, "cannot export a registry cache"},
		{Request{ContextDir: ctxDir, Image: &ImageOutput{Names: []string{registry + "/x"}, PushByDigest: true}}, "cannot push by digest"},
	}
	if !e.Caps.NamedContexts {
		// Docker 20.10's BuildKit v0.8: its frontend would try to pull an
		// image named "skeleton" instead of using the context sent.
		refusals = append(refusals, struct {
			req  Request
			want string
		}{Request{ContextDir: ctxDir, NamedContexts: map[string]string{"skeleton": ctxDir}}, "cannot use named build contexts"})
	}
	for _, r := range refusals {
		_, err := b.Solve(context.Background(), r.req)
		assertOneLine(t, err)
		if !strings.Contains(err.Error(), "the Docker daemon's built-in BuildKit") || !strings.Contains(err.Error(), r.want) || !strings.Contains(err.Error(), HostEnv) {
			t.Errorf("error lacks what/fix (%q): %v", r.want, err)
		}
		t.Log(err)
	}

	// A single-platform build works there, with a local export through the
	// hijacked session.
	out := filepath.Join(t.TempDir(), "out")
	if _, err := b.Solve(context.Background(), Request{ContextDir: ctxDir, Local: &LocalOutput{Dir: out}}); err != nil {
		t.Fatalf("single-platform build on the Docker daemon: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "id")); err != nil {
		t.Errorf("local export: %v", err)
	}
}
