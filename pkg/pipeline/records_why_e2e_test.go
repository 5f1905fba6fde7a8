package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
)

// uniqueRun gives the held-out copy at ws a binary of its own: its first
// image is no earlier run's, whose platform manifest (the kit's images are
// reproducible) would carry that run's records too.
func uniqueRun(t *testing.T, ws string, nonce int64) {
	t.Helper()
	replaceIn(t, filepath.Join(ws, "crates/heldout/src/main.rs"), `"the heldout workspace"`, fmt.Sprintf(`"the heldout workspace, run %d"`, nonce))
}

// runFlags are RUSTFLAGS unique to one test run: the musl stand-in's own
// flags (RUSTFLAGS replaces its cargo config's) and a --cfg nobody reads,
// so that the shared buildkitd, which keeps earlier runs' cook steps,
// must cook again.
func runFlags(nonce int64, extra ...string) string {
	return strings.Join(append([]string{standin.MuslRustFlags, fmt.Sprintf("--cfg heldout_run_%d", nonce)}, extra...), " ")
}

// whyOf runs one build and returns the "why did cook run" block it printed
// (the zero why when it printed none) and its cook key, checking that the
// provenance says cook was reused exactly when BuildKit says so.
func whyOf(t *testing.T, e *env, s Settings, rt []Option) (why, *cookkey.Key, *Result) {
	t.Helper()
	mark := len(e.log.String())
	start := time.Now()
	r, err := build(context.Background(), s, rt)
	if err != nil {
		t.Fatal(err)
	}
	log := e.log.String()[mark:]
	blocks := whyBlocks(log)
	if len(blocks) > 1 {
		t.Fatalf("%d why blocks for one platform:\n%s", len(blocks), log)
	}
	var block why
	if len(blocks) == 1 {
		block = blocks[0]
		if block.Platforms != "linux/amd64" {
			t.Errorf("the block is about %q, want linux/amd64", block.Platforms)
		}
	}
	prov := parseProvenance(t, "linux/amd64", distRecords(t, *s.Dist, amd64(), "heldout").Provenance)
	if v, ok := r.StageRun("cook", "linux/amd64"); !ok || v.Cached != prov.Cook.Reused {
		t.Errorf("cook step found %t cached %t, provenance says reused %t", ok, v.Cached, prov.Cook.Reused)
	}
	if prov.Cook.Reused != (len(blocks) == 0) {
		t.Errorf("cook reused %t, yet %d why blocks:\n%s", prov.Cook.Reused, len(blocks), log)
	}
	if prov.Cook.Key == nil {
		t.Fatal("the provenance has no cook key")
	}
	t.Logf("build took %s, cook reused %t, why (compared with %q): %q", time.Since(start).Round(time.Second), prov.Cook.Reused, block.From, block.Lines)
	return block, prov.Cook.Key, r
}

// rust:build of the held-out workspace for linux/amd64 (the kit's own
// builder, emulate on the host), one cook input changed per build, each
// build compared with the image its tag pointed at: the "why did cook run"
// block names exactly that input. Then -compare=<the first image> names
// every change since. The builder, toolchain and triples lines are unit
// tested (pkg/cookkey): changing them here would rebuild the kit's builder.
// Every change also changes the binary: a tag's platform manifest then
// carries one provenance record, this test's previous build's (an
// unchanged image would carry both builds' and the comparison would take
// either).
func TestWhyCookRanNamesEachInput(t *testing.T) {
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataHeldout)
	nonce := time.Now().UnixNano()
	uniqueRun(t, ws, nonce)
	image := fmt.Sprintf("%s/muslrust-chef-test/heldout-why:run-%d", e.registry, nonce)
	s := e.settings(ws, "linux/amd64", image)
	s.Bin = str("heldout")
	rt := e.runtime("")
	t.Setenv("MUSLRUST_CHEF_RUSTFLAGS", runFlags(nonce))

	from := image
	step := func(what string, want ...string) *Result {
		t.Helper()
		got, _, r := whyOf(t, e, s, rt)
		if !slices.Equal(got.Lines, want) || got.From != from {
			t.Errorf("%s: why did cook run (compared with %q):\n  %s\nwant (compared with %q):\n  %s", what, got.From, strings.Join(got.Lines, "\n  "), from, strings.Join(want, "\n  "))
		}
		return r
	}
	from = ""
	first := step("first push", "no previous image: "+image+" is not in the registry yet (first push), and "+*s.Dist+" holds no earlier build's provenance")
	from = image

	s.Features = str("fmt")
	step("-features fmt", "features: default -> --features fmt")

	t.Setenv("MUSLRUST_CHEF_RUSTFLAGS", runFlags(nonce, "-Ccodegen-units=4"))
	step("RUSTFLAGS", "RUSTFLAGS added -Ccodegen-units=4")

	s.Profile = str("small")
	step("-profile small", "profile: release -> small")

	fixtures.WriteFile(t, ws, ".cargo/config.toml", "[net]\nretry = 3\n\n[env]\nHELDOUT_NOTE = \"configured\"\n")
	step(".cargo/config.toml", ".cargo/config.toml added")

	lock, err := os.ReadFile(filepath.Join(testdataHeldoutRegex, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	crates, err := cookkey.LockedCrates(lock)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(crates, func(c cookkey.Crate) bool { return c.Name == "regex" })
	if i < 0 {
		t.Fatalf("%s/Cargo.lock locks no regex", testdataHeldoutRegex)
	}
	regexLine := fmt.Sprintf("Cargo.lock: added regex %s (%s)", crates[i].Version, crates[i].Source)
	copyDir(t, testdataHeldoutRegex, ws)
	step("helper depends on regex", regexLine)

	// Against the first image, with one more change so that cook runs.
	t.Setenv("MUSLRUST_CHEF_RUSTFLAGS", runFlags(nonce, "-Ccodegen-units=2"))
	s.Compare = str(first.Published.Reference)
	from = first.Published.Reference
	step("-compare=<first image>", regexLine, ".cargo/config.toml added", "profile: release -> small",
		"features: default -> --features fmt", "RUSTFLAGS added -Ccodegen-units=2")
}

// The same inputs twice, the second time on a buildkitd with an empty
// state and a registry cache ref nothing was ever written to: cook runs
// although no input changed, and the block says so, naming the refs that
// were tried. The musl stand-in is the builder (a published builder image:
// the fresh buildkitd pulls it instead of building the kit's own).
func TestCookMissWithNothingChanged(t *testing.T) {
	e := newMuslEnv(t)
	ws := fixtures.CopyTree(t, testdataHeldout)
	nonce := time.Now().UnixNano()
	uniqueRun(t, ws, nonce)
	s := e.settings(ws, "linux/amd64", fmt.Sprintf("%s/muslrust-chef-test/heldout-miss:run-%d", e.registry, nonce))
	s.Bin = str("heldout")
	_, before, _ := whyOf(t, e, s, e.runtime(""))

	cacheRef := fmt.Sprintf("%s/muslrust-chef-test/heldout-miss-cache:never-%d", e.registry, nonce)
	s.Cache = str(cacheRef)
	got, after, r := whyOf(t, e, s, e.runtime(testinfra.FreshBuildkitd(t)))
	if changes := cookkey.Changes(before, after); len(changes) > 0 {
		t.Fatalf("the same inputs gave another cook key: %q", changes)
	}
	// The cook's cache refs: the one given, with the -cook suffix of the
	// cook part (buildcache), and nothing else for a ref given in full.
	if tried := r.Cache.Cook.From; !slices.Equal(tried, []string{cacheRef + "-cook"}) {
		t.Fatalf("the cook imported %v, want %s-cook", tried, cacheRef)
	}
	want := []string{"no input changed: the cache was not available (tried " + cacheRef + "-cook)"}
	if !slices.Equal(got.Lines, want) || got.From != *s.Image {
		t.Errorf("why did cook run (compared with %q): %q, want %q compared with %s", got.From, got.Lines, want, *s.Image)
	}
}
