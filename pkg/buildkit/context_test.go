package buildkit

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
)

// The cache options given to the solve: a local cache directory is
// imported only once it holds a cache, always exported (to a temporary
// sibling), and never turns into a registry request.
func TestSolveOptLocalCache(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	b := &builder{cfg: config{}}
	ctxDir := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	req := Request{ContextDir: ctxDir, DockerfileContent: []byte("FROM scratch\n"), CacheDir: cache}
	opt, cleanup, err := b.solveOpt(req)
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.CacheImports) != 0 || len(opt.CacheExports) != 1 || opt.CacheExports[0].Type != "local" || opt.CacheExports[0].Attrs["mode"] != "max" {
		t.Fatalf("empty cache dir: imports %+v exports %+v", opt.CacheImports, opt.CacheExports)
	}
	fixtures.WriteFile(t, cache, "index.json", "{}\n")
	opt, cleanup2, err := b.solveOpt(req)
	defer cleanup2()
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.CacheImports) != 1 || opt.CacheImports[0].Type != "local" || opt.CacheImports[0].Attrs["src"] != cache {
		t.Fatalf("cache dir with a cache: imports %+v", opt.CacheImports)
	}
	for _, e := range append(opt.CacheImports, opt.CacheExports...) {
		if e.Type == "registry" {
			t.Fatalf("a local cache asked for a registry: %+v", e)
		}
	}

	// Refusing a foreign directory and replacing the cache atomically are
	// internal/atomicdir's (tested there and end to end in pkg/pipeline).
}

func TestMeasureContextHonoursIncludes(t *testing.T) {
	dir := t.TempDir()
	fixtures.WriteFile(t, dir, "ws/Cargo.toml", "[package]\n")
	fixtures.WriteFile(t, dir, "ws/target/big", strings.Repeat("x", 1000))
	fixtures.WriteFile(t, dir, "crate/src/lib.rs", "\n")
	fixtures.WriteFile(t, dir, "secret.txt", "token\n")
	fixtures.WriteFile(t, dir, "other/data", strings.Repeat("y", 5000))
	st, err := MeasureContext(t.Context(), dir, []string{"ws", "crate"}, []string{"ws/target"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Bytes != int64(len("[package]\n")+1) {
		t.Fatalf("measured %d files, %d bytes; want the 2 files of ws and crate", st.Files, st.Bytes)
	}
}

// The cache export's mode and extra attributes reach both cache exporters;
// the mode cannot be overridden through the attributes.
func TestSolveOptCacheModeAttrs(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	b := &builder{cfg: config{}}
	req := Request{ContextDir: t.TempDir(), DockerfileContent: []byte("FROM scratch\n"), CacheTo: "127.0.0.1:5000/app:buildcache-main",
		CacheDir: filepath.Join(t.TempDir(), "cache"), CacheMode: "min", CacheAttrs: map[string]string{"compression": "zstd", "mode": "max"}}
	opt, cleanup, err := b.solveOpt(req)
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.CacheExports) != 2 {
		t.Fatalf("exports %+v", opt.CacheExports)
	}
	for _, e := range opt.CacheExports {
		if e.Attrs["mode"] != "min" || e.Attrs["compression"] != "zstd" {
			t.Errorf("%s export: attrs %v, want mode=min compression=zstd", e.Type, e.Attrs)
		}
	}
	if req.CacheAttrs["mode"] != "max" {
		t.Error("the request's attributes were changed")
	}
}
