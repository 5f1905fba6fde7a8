package rust

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func s(v string) *string { return &v }

func copyApp(t *testing.T) string { return fixtures.CopyTree(t, "../../../testdata/app") }

// testWorldBuilder leaves the builder unconfigured, so rust:* take the
// default path (the kit builds its own builder from
// images/muslrust-chef/Dockerfile in the same solve), and swaps only that
// Dockerfile's inputs for the test world's with the knobs a team behind a
// mirror sets: the musl stand-in as its base (MUSLRUST_CHEF_MUSLRUST_IMAGE)
// and zig from the npm tarball served on 127.0.0.1
// (MUSLRUST_CHEF_BUILDER_ARGS).
func testWorldBuilder(t *testing.T) {
	t.Helper()
	base := standin.MuslImage(t)
	zigURL, sha := testinfra.ZigMirror(t)
	t.Setenv("MUSLRUST_CHEF_BUILDER_IMAGE", "")
	os.Unsetenv("MUSLRUST_CHEF_BUILDER_IMAGE")
	t.Setenv("MUSLRUST_CHEF_MUSLRUST_IMAGE", base)
	t.Setenv("MUSLRUST_CHEF_BUILDER_ARGS", strings.Join([]string{
		"ZIG_VERSION=" + testinfra.ZigVersion, "ZIG_SHA256_AMD64=" + sha, "ZIG_SHA256_ARM64=" + sha,
		"ZIG_URL_AMD64=" + zigURL, "ZIG_URL_ARM64=" + zigURL}, ","))
}

// checkMuslBinary verifies a dist binary is a static musl executable for
// p and that it runs (arm64 through binfmt/QEMU) and prints the musl triple it
// was built for.
func checkMuslBinary(t *testing.T, bin string, p platform.Platform) {
	t.Helper()
	res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl)
	if err != nil {
		t.Fatalf("verify %s: %v", bin, err)
	}
	if res.Libc != elfcheck.Musl {
		t.Fatalf("%s links %q, want musl", bin, res.Libc)
	}
	if p.Arch == "arm64" {
		testinfra.RequireArm64(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	if want := " on " + p.Triple("musl"); !strings.Contains(string(out), want) {
		t.Errorf("%s printed %q, want %q", bin, out, want)
	}
}

// The rust:build and rust:cook targets themselves, as mage calls them:
// flags as pointers, the rest from the environment (BUILDKIT_HOST,
// MUSLRUST_CHEF_DIST), no builder and no platforms given: the kit's own
// builder cross-compiles both default musl triples; the image goes to an
// OCI layout.
func TestBuildAndCookTargets(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", testinfra.Buildkitd(t))
	t.Setenv("BUILDKIT_PROGRESS", "quiet")
	testWorldBuilder(t)
	ws := copyApp(t)
	t.Setenv("MUSLRUST_CHEF_DIST", filepath.Join(ws, "dist"))
	t.Setenv("MUSLRUST_CHEF_CACHE", "off")
	t.Setenv("MUSLRUST_CHEF_BASE_IMAGE", "scratch")
	t.Setenv("MUSLRUST_CHEF_PLATFORMS", "")
	os.Unsetenv("MUSLRUST_CHEF_PLATFORMS")
	reports := t.TempDir()
	t.Setenv("MUSLRUST_CHEF_TIMINGS", filepath.Join(reports, "cook.json"))
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(reports, "summary.md"))
	ctx := context.Background()

	if err := (Rust{}).Cook(ctx, s(ws), nil, nil, nil, nil, nil, nil, nil, nil, nil); err != nil {
		t.Fatalf("rust:cook: %v", err)
	}
	oci := filepath.Join(t.TempDir(), "oci")
	log, err := captureStderr(t, func() error {
		return (Rust{}).Build(ctx, s(ws), nil, nil, nil, nil, s("oci:"+oci), nil, nil, nil, nil, nil, nil, s(filepath.Join(reports, "build.json")), nil)
	})
	if err != nil {
		t.Fatalf("rust:build: %v", err)
	}
	checkTimings(t, reports, log)
	p, err := layout.FromPath(oci)
	if err != nil {
		t.Fatalf("rust:build wrote no OCI layout: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// One image, named; every other entry is a record (SBOM, provenance)
	// of one of its platform manifests.
	var named int
	for _, d := range im.Manifests {
		switch {
		case d.Annotations["org.opencontainers.image.ref.name"] != "":
			named++
		case d.ArtifactType == "":
			t.Errorf("layout index entry %s is neither the image nor a record", d.Digest)
		}
	}
	if named != 1 {
		t.Fatalf("layout index: %d named images, want 1: %+v", named, im)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		pl, _ := platform.Parse(p)
		checkMuslBinary(t, filepath.Join(ws, "dist", pl.OS+"_"+pl.Arch, "app"), pl)
	}

	err = (Rust{}).Build(ctx, s(ws), s("nope"), nil, nil, nil, s("oci:"+oci), nil, nil, nil, nil, nil, nil, nil, nil)
	if err == nil || mg.ExitStatus(err) != 2 || err.Error() != `rust:build: bin "nope" not found; known bins: app` {
		t.Fatalf("unknown bin: %v (exit %d)", err, mg.ExitStatus(err))
	}
	err = (Rust{}).Build(ctx, s(ws), nil, s("linux/amd64"), nil, nil, nil, nil, nil, nil, nil, s("split"), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "rust:build: no image name") {
		t.Fatalf("registry output without image: %v", err)
	}
}

// checkTimings checks what rust:cook then rust:build reported: the build's
// timings line ends its log; both JSON files hold sane values (the build's
// cook came from the cook run, the context was sent); both tables went to
// the step summary.
func checkTimings(t *testing.T, dir, log string) {
	t.Helper()
	var line string
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if strings.HasPrefix(l, "timings: ") {
			line = l
		}
	}
	if !strings.HasPrefix(line, "timings: plan ") || !strings.Contains(line, ", cook reused, build ") || !strings.Contains(line, ", push ") {
		t.Errorf("rust:build's timings line: %q", line)
	}
	type report struct {
		What         string
		Failed       string
		ContextBytes *int64  `json:"context_bytes"`
		CookReused   *bool   `json:"cook_reused"`
		Total        float64 `json:"total_s"`
	}
	read := func(name string) (report, map[string]any) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("timings file: %v", err)
		}
		var r report
		var all map[string]any
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, data)
		}
		json.Unmarshal(data, &all)
		return r, all
	}
	cook, _ := read("cook.json")
	build, all := read("build.json")
	if cook.What != "cook" || cook.Failed != "" || cook.ContextBytes == nil || *cook.ContextBytes <= 0 || cook.CookReused == nil || cook.Total <= 0 {
		t.Errorf("cook.json: %+v", cook)
	}
	if build.What != "build" || build.Failed != "" || build.ContextBytes == nil || *build.ContextBytes <= 0 || build.Total <= 0 {
		t.Errorf("build.json: %+v", build)
	}
	if build.CookReused == nil || !*build.CookReused {
		t.Errorf("build.json: the cook rust:cook ran was not reused: %v", all)
	}
	var sum float64
	for _, k := range []string{"plan_s", "context_upload_s", "build_s", "export_s", "verify_s", "slim_s", "push_s"} {
		v, ok := all[k].(float64)
		if !ok || v < 0 {
			t.Errorf("build.json: %s is %v", k, all[k])
		}
		sum += v
	}
	if sum > build.Total {
		t.Errorf("build.json: the parts (%.3fs) exceed the total (%.3fs): %v", sum, build.Total, all)
	}
	summary, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil || !strings.Contains(string(summary), "### muslrust-chef cook timings\n") || !strings.Contains(string(summary), "### muslrust-chef build: `") ||
		!strings.Contains(string(summary), "| linux/amd64 | `app` | ") || !strings.Contains(string(summary), "#### Records\n") || !strings.Contains(string(summary), "#### Timings\n") {
		t.Errorf("step summary: %v\n%s", err, summary)
	}
}

// A build that fails still reports where it stopped: the timings line, the
// JSON file and the step summary, up to the stage that failed (here the
// plan, refusing to overwrite a file of the user's with tar:FILE), and the
// error is the build's own.
func TestTimingsOfAFailedBuild(t *testing.T) {
	ws := copyApp(t)
	reports := t.TempDir()
	mine := filepath.Join(reports, "notes.tar")
	if err := os.WriteFile(mine, []byte("my notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MUSLRUST_CHEF_DIST", filepath.Join(ws, "dist"))
	t.Setenv("MUSLRUST_CHEF_CACHE", "off")
	t.Setenv("MUSLRUST_CHEF_BASE_IMAGE", "scratch")
	t.Setenv("MUSLRUST_CHEF_TIMINGS", "")
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(reports, "summary.md"))
	file := filepath.Join(reports, "timings.json")
	log, err := captureStderr(t, func() error {
		return (Rust{}).Build(context.Background(), s(ws), nil, s("linux/amd64"), nil, nil, s("tar:"+mine), nil, nil, nil, nil, nil, nil, s(file), nil)
	})
	if err == nil || !strings.Contains(err.Error(), "rust:build: output: "+mine+" exists and is not a file muslrust-chef wrote") {
		t.Fatalf("rust:build over a user's file: %v", err)
	}
	if !regexp.MustCompile(`(?m)^timings: plan [0-9.]+s, total [0-9.]+s \(failed in plan\)$`).MatchString(log) {
		t.Errorf("no timings line for the failed build:\n%s", log)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no timings file for the failed build: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if got["what"] != "build" || got["failed"] != "plan" || got["plan_s"] == nil || got["context_bytes"] != nil || got["push_s"] != nil {
		t.Errorf("timings of the failed build: %s", data)
	}
	if summary, _ := os.ReadFile(filepath.Join(reports, "summary.md")); !strings.Contains(string(summary), "### muslrust-chef build (failed in plan)\n\n#### Timings\n") {
		t.Errorf("step summary:\n%s", summary)
	}
}
