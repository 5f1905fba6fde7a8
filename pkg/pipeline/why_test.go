package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

var (
	whyAmd64 = platform.Platform{OS: "linux", Arch: "amd64"}
	whyArm64 = platform.Platform{OS: "linux", Arch: "arm64", Variant: "v8"}
)

const whyBuilder = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// whyKey is the cook key of testdata/app for p, as the records stage makes
// it; change edits the flags before they key it.
func whyKey(t *testing.T, p platform.Platform, change func(*cargo.Flags)) *cookkey.Key {
	t.Helper()
	plan, err := chef.NewPlan(chef.Options{Workspace: "../../testdata/app"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := cookkey.FromRecipe(plan.Recipe, cookkey.WithFlags(whyFlags(p, change)), cookkey.WithBuilder(whyBuilder), cookkey.WithToolchain("rustc 1.80.0 (051478957 2024-07-21)"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func whyFlags(p platform.Platform, change func(*cargo.Flags)) cargo.Flags {
	f := cargo.Flags{Profile: "release", Triple: p.Triple("musl"), Package: "app", Bin: "app", Locked: true, Strip: true}
	if change != nil {
		change(&f)
	}
	return f
}

// statement is a provenance statement of a build with key, as the
// records stage writes it beside the binary and attaches it.
func statement(t *testing.T, p platform.Platform, subject string, key *cookkey.Key) []byte {
	t.Helper()
	r, err := provenance.New(provenance.Subject{Name: "registry.example/app", Digest: subject, Platform: p},
		provenance.WithBuilderImage("registry.example/builder:1", whyBuilder), provenance.WithCargo("cargo", whyFlags(p, nil)), provenance.WithCook(false, key))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Statement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var someDigest = "sha256:" + strings.Repeat("ab", 32)

func rustflags(s string) func(*cargo.Flags) { return func(f *cargo.Flags) { f.RustFlags = s } }

// A build whose cooks were all reused explains nothing and asks no
// registry anything, even with an image to replace.
func TestWhyCookSilentWhenCookReused(t *testing.T) {
	reg := regtest.New(t)
	var log bytes.Buffer
	out, err := whyCook(context.Background(), whyIn{Replaced: reg.Host + "/app:1", Compare: reg.Host + "/app:0",
		Platforms: []whyPlatform{{Platform: whyAmd64, Key: whyKey(t, whyAmd64, nil)}, {Platform: whyArm64, Key: whyKey(t, whyArm64, nil)}},
		Dist:      "dist", Bin: "app", Log: &log})
	if err != nil || out != nil || log.Len() != 0 || reg.Requests.Load() != 0 {
		t.Fatalf("got %v, %v, log %q, %d registry requests; want nothing at all", out, err, log.String(), reg.Requests.Load())
	}
}

// Outputs other than a registry compare with the provenance the previous
// build left in dist (read before the export replaced it), without any
// registry request; a platform without one says it is the first build.
func TestWhyCookComparesWithThePreviousDist(t *testing.T) {
	dist := t.TempDir()
	old := statement(t, whyAmd64, someDigest, whyKey(t, whyAmd64, nil))
	if err := os.MkdirAll(filepath.Join(dist, "linux_amd64"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "linux_amd64", "app.provenance.json"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	prev := readPrevDist(dist, "app", []platform.Platform{whyAmd64, whyArm64}, &log)
	if len(prev) != 1 || !bytes.Equal(prev[whyAmd64], old) {
		t.Fatalf("readPrevDist = %d statements, want the amd64 one", len(prev))
	}
	out, err := whyCook(context.Background(), whyIn{
		Platforms: []whyPlatform{
			{Platform: whyAmd64, CookRan: true, Key: whyKey(t, whyAmd64, rustflags("-Ctarget-cpu=native"))},
			{Platform: whyArm64, CookRan: true, Key: whyKey(t, whyArm64, nil)},
		},
		PrevDist: prev, Dist: dist, Bin: "app", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dist, "linux_amd64", "app.provenance.json")
	want := "build: linux/amd64: why did cook run (compared with " + file + "):\n" +
		"  RUSTFLAGS added -Ctarget-cpu=native\n" +
		"build: linux/arm64: why did cook run:\n" +
		"  no previous build to compare with: " + dist + " holds no earlier build's provenance for linux/arm64 (first build, or one by a kit that wrote none)\n"
	if log.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), want)
	}
	if len(out) != 2 || out[0].From != file || out[1].From != "" || len(out[1].Lines) != 1 {
		t.Errorf("result %+v", out)
	}
}

// pushWithRecords pushes a two-platform image to ref and attaches to each
// platform manifest the provenance of a build with keys[p]; a platform
// without a key gets no record.
func pushWithRecords(t *testing.T, ref string, keys map[string]*cookkey.Key) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []platform.Platform{whyAmd64, whyArm64} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, p.Arch
		img, _ = mutate.ConfigFile(mutate.MediaType(img, types.OCIManifestSchema1), cf)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}}})
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		p := whyAmd64
		if d.Platform.Architecture == "arm64" {
			p = whyArm64
		}
		k := keys[p.Arch]
		if k == nil {
			continue
		}
		doc := statement(t, p, d.Digest.String(), k)
		art := publish.Artifact{ArtifactType: provenance.MediaType, Data: doc, Title: "app.provenance.json"}
		if _, err := publish.Attach(context.Background(), tag.Context().Digest(d.Digest.String()), []publish.Artifact{art}); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := idx.Digest()
	return h
}

// A registry build compares with the records of the tag it replaces: a
// changed input is named, an equal key blames the cache (naming the refs
// tried), a platform pushed without records says so. -compare reads the
// image named instead.
func TestWhyCookReadsTheReplacedImage(t *testing.T) {
	addr := testinfra.Registry(t)
	repo := fmt.Sprintf("%s/why/app-%d", addr, time.Now().UnixNano())
	pushWithRecords(t, repo+":1", map[string]*cookkey.Key{"amd64": whyKey(t, whyAmd64, nil), "arm64": whyKey(t, whyArm64, nil)})
	digest := pushWithRecords(t, repo+":2", map[string]*cookkey.Key{"amd64": whyKey(t, whyAmd64, rustflags("-Ccodegen-units=4"))})

	cur := []whyPlatform{
		{Platform: whyAmd64, CookRan: true, Key: whyKey(t, whyAmd64, rustflags("-Ccodegen-units=4")), Tried: []string{repo + ":buildcache-main-cook"}},
		{Platform: whyArm64, CookRan: true, Key: whyKey(t, whyArm64, nil), Tried: []string{repo + ":buildcache-main-cook"}},
	}
	var log bytes.Buffer
	if _, err := whyCook(context.Background(), whyIn{Replaced: repo + ":1", Platforms: cur, Dist: "dist", Bin: "app", Log: &log}); err != nil {
		t.Fatal(err)
	}
	want := "build: linux/amd64: why did cook run (compared with " + repo + ":1):\n" +
		"  RUSTFLAGS added -Ccodegen-units=4\n" +
		"build: linux/arm64: why did cook run (compared with " + repo + ":1):\n" +
		"  no input changed: the cache was not available (tried " + repo + ":buildcache-main-cook)\n"
	if log.String() != want {
		t.Errorf("replacing :1, log:\n%s\nwant:\n%s", log.String(), want)
	}

	// -compare wins over the tag being replaced; :2's arm64 has no record.
	log.Reset()
	cmp := repo + "@" + digest.String()
	if _, err := whyCook(context.Background(), whyIn{Compare: cmp, Replaced: repo + ":1", Platforms: cur, Dist: "dist", Bin: "app", Log: &log}); err != nil {
		t.Fatal(err)
	}
	want = "build: linux/amd64: why did cook run (compared with " + cmp + "):\n" +
		"  no input changed: the cache was not available (tried " + repo + ":buildcache-main-cook)\n" +
		"build: linux/arm64: why did cook run (compared with " + cmp + "):\n" +
		"  " + cmp + " has no provenance record for linux/arm64 (pushed without the kit's records): nothing to compare with\n"
	if log.String() != want {
		t.Errorf("-compare, log:\n%s\nwant:\n%s", log.String(), want)
	}

	// A cross build: one block for both platforms, each cause once.
	log.Reset()
	if _, err := whyCook(context.Background(), whyIn{Replaced: repo + ":1", Platforms: cur, Cross: true, Dist: "dist", Bin: "app", Log: &log}); err != nil {
		t.Fatal(err)
	}
	want = "build: linux/amd64, linux/arm64: why did cook run (compared with " + repo + ":1):\n" +
		"  RUSTFLAGS added -Ccodegen-units=4\n"
	if log.String() != want {
		t.Errorf("cross, log:\n%s\nwant:\n%s", log.String(), want)
	}
	// Nothing changed on any platform: the cache is to blame, once.
	log.Reset()
	same := []whyPlatform{cur[1], {Platform: whyAmd64, CookRan: true, Key: whyKey(t, whyAmd64, nil), Tried: cur[0].Tried}}
	if _, err := whyCook(context.Background(), whyIn{Replaced: repo + ":1", Platforms: same, Cross: true, Dist: "dist", Bin: "app", Log: &log}); err != nil {
		t.Fatal(err)
	}
	want = "build: linux/arm64, linux/amd64: why did cook run (compared with " + repo + ":1):\n" +
		"  no input changed: the cache was not available (tried " + repo + ":buildcache-main-cook)\n"
	if log.String() != want {
		t.Errorf("cross, nothing changed, log:\n%s\nwant:\n%s", log.String(), want)
	}
}

// The first push has no image to compare with and says so; a registry
// that cannot be read is a warning and a line, never a failed build; a
// -compare that cannot be read is a usage error naming the knob.
func TestWhyCookWithoutAPreviousImage(t *testing.T) {
	addr := testinfra.Registry(t)
	down := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	cur := []whyPlatform{{Platform: whyAmd64, CookRan: true, Key: whyKey(t, whyAmd64, nil)}}
	fast := []publish.RegistryOption{publish.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 1})}
	dist := t.TempDir()

	var log bytes.Buffer
	first := fmt.Sprintf("%s/why/never-pushed-%d:1", addr, time.Now().UnixNano())
	if _, err := whyCook(context.Background(), whyIn{Replaced: first, Platforms: cur, Dist: dist, Bin: "app", Registry: fast, Log: &log}); err != nil {
		t.Fatal(err)
	}
	want := "build: linux/amd64: why did cook run:\n  no previous image: " + first + " is not in the registry yet (first push), and " + dist + " holds no earlier build's provenance\n"
	if log.String() != want {
		t.Errorf("first push, log:\n%s\nwant:\n%s", log.String(), want)
	}

	log.Reset()
	out, err := whyCook(context.Background(), whyIn{Replaced: down + "/app:1", Platforms: cur, Dist: dist, Bin: "app", Registry: fast, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "build: warning: why did cook run: cannot read the records of "+down+"/app:1: registry "+down+" is unreachable") ||
		lines[1] != "build: linux/amd64: why did cook run (compared with "+down+"/app:1):" ||
		!strings.HasPrefix(lines[2], "  previous record unreadable: registry "+down+" is unreachable") || len(out) != 1 {
		t.Errorf("unreachable registry, log:\n%s", log.String())
	}

	_, err = whyCook(context.Background(), whyIn{Compare: down + "/app:0", Platforms: cur, Dist: dist, Bin: "app", Registry: fast, Log: &log})
	msg := config.Explain(err)
	if !option.Usage(err) || !strings.HasPrefix(msg, "cannot compare the cook with "+down+"/app:0: registry "+down+" is unreachable") ||
		!strings.HasSuffix(msg, ": set -compare / MUSLRUST_CHEF_COMPARE to an image this kit pushed (repo:tag or repo@sha256:...), or leave it unset") || strings.Contains(msg, "\n") {
		t.Errorf("unreachable -compare: usage %t, %q", option.Usage(err), msg)
	}
}

// The refs a cook could have come from: registry cook refs, a local cook
// directory, a split node's own, or nothing.
func TestCacheTried(t *testing.T) {
	s := &Solved{}
	s.Cache.Cook.From = []string{"r/app:buildcache-x-cook", "r/app:buildcache-main-cook"}
	if got := cacheTried(s, whyAmd64); strings.Join(got, " ") != "r/app:buildcache-x-cook r/app:buildcache-main-cook" {
		t.Errorf("registry: %q", got)
	}
	local := &Solved{}
	local.Cache.Cook.Dir = "/cache/cook"
	if got := cacheTried(local, whyAmd64); strings.Join(got, " ") != "local:/cache/cook" {
		t.Errorf("local: %q", got)
	}
	split := &Solved{Nodes: []NodeSolved{{Platform: whyAmd64}, {Platform: whyArm64, Solved: *s}}}
	if got := cacheTried(split, whyArm64); len(got) != 2 || cacheTried(split, whyAmd64) != nil {
		t.Errorf("split: arm64 %q, amd64 %q", got, cacheTried(split, whyAmd64))
	}
}

// The cook key's template follows the kit's cook stage and shell code
// only: the build stage's text does not move it, the cook stage's does,
// and it takes none of the build's values (their changes are lines of
// their own, not "the kit's build template changed" besides).
func TestCookTemplateFollowsOnlyTheKitsCookCode(t *testing.T) {
	df, err := os.ReadFile("../../images/app/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	digest := func(dockerfile []byte, strategy string) string {
		t.Helper()
		d, err := cookTemplate(dockerfile, strategy)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	emulate, cross := digest(df, StrategyEmulate), digest(df, StrategyCross)
	if emulate == cross || digest(df, StrategyEmulate) != emulate || digest(df, StrategySplit) != emulate {
		t.Errorf("emulate %s, split %s, cross %s: want emulate = split, cross its own", emulate, digest(df, StrategySplit), cross)
	}
	build := bytes.Replace(df, []byte("mkdir -p /muslrust-chef/out;"), []byte("mkdir -p /muslrust-chef/out /tmp/x;"), 1)
	if bytes.Equal(build, df) || digest(build, StrategyEmulate) != emulate {
		t.Error("an edit of the build stage moved the cook template (or the edit did not apply)")
	}
	cook := bytes.Replace(df, []byte("    muslrust_chef_cargo_build; \\\n    muslrust_chef_cargo_clean"), []byte("    muslrust_chef_cargo_build; \\\n    true; muslrust_chef_cargo_clean"), 1)
	if bytes.Equal(cook, df) || digest(cook, StrategyEmulate) == emulate {
		t.Error("an edit of the cook stage left the cook template (or the edit did not apply)")
	}
}

// An image rebuilt byte for byte with other cook inputs carries one
// provenance per build: the previous dist's, when there is one, is this
// machine's previous build; without it the block says which record was
// taken and how to pick another.
func TestWhyCookWithSeveralRecordsOnOneImage(t *testing.T) {
	addr := testinfra.Registry(t)
	repo := fmt.Sprintf("%s/why/rebuilt-%d", addr, time.Now().UnixNano())
	pushWithRecords(t, repo+":1", map[string]*cookkey.Key{"amd64": whyKey(t, whyAmd64, nil)})
	recs, err := publish.ReadRecords(context.Background(), repo+":1", []string{provenance.MediaType})
	if err != nil {
		t.Fatal(err)
	}
	var manifest name.Digest
	for _, r := range recs {
		if r.Platform.Architecture == "amd64" {
			manifest = r.Digest
		}
	}
	second := statement(t, whyAmd64, manifest.DigestStr(), whyKey(t, whyAmd64, rustflags("-Ccodegen-units=8")))
	if _, err := publish.Attach(context.Background(), manifest,
		[]publish.Artifact{{ArtifactType: provenance.MediaType, Data: second, Title: "app.provenance.json"}}); err != nil {
		t.Fatal(err)
	}
	cur := []whyPlatform{{Platform: whyAmd64, CookRan: true, Key: whyKey(t, whyAmd64, rustflags("-Ccodegen-units=4")), Tried: []string{repo + ":buildcache-main-cook"}}}

	var log bytes.Buffer
	if _, err := whyCook(context.Background(), whyIn{Replaced: repo + ":1", Platforms: cur, Dist: "dist", Bin: "app", Log: &log}); err != nil {
		t.Fatal(err)
	}
	head := "build: linux/amd64: why did cook run (compared with " + repo + ":1):\n  " + repo + ":1 carries 2 provenance records for linux/amd64 (the same image built with other cook inputs); compared with sha256:"
	if !strings.HasPrefix(log.String(), head) || !strings.Contains(log.String(), ", the lowest digest: set -compare to the image to compare with\n  RUSTFLAGS ") {
		t.Errorf("without a previous dist, log:\n%s\nwant it to start:\n%s", log.String(), head)
	}

	log.Reset()
	prev := map[platform.Platform][]byte{whyAmd64: second}
	if _, err := whyCook(context.Background(), whyIn{Replaced: repo + ":1", Platforms: cur, PrevDist: prev, Dist: "dist", Bin: "app", Log: &log}); err != nil {
		t.Fatal(err)
	}
	want := "build: linux/amd64: why did cook run (compared with " + prevDistFile("dist", "app", whyAmd64) + "):\n" +
		"  RUSTFLAGS added -Ccodegen-units=4; removed -Ccodegen-units=8\n"
	if log.String() != want {
		t.Errorf("with the previous dist, log:\n%s\nwant:\n%s", log.String(), want)
	}
}
