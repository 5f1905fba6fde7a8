package pipeline

import (
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
)

// MUSLRUST_CHEF_REQUIRE_ALLOCATOR: unset requires nothing, mimalloc and
// jemalloc are typed for verify, anything else is refused before a build.
func TestResolveRequireAllocator(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	for env, want := range map[string]elfcheck.Allocator{"": "", "mimalloc": elfcheck.AllocMimalloc, "jemalloc": elfcheck.AllocJemalloc, " MiMalloc ": elfcheck.AllocMimalloc} {
		t.Setenv("MUSLRUST_CHEF_REQUIRE_ALLOCATOR", env)
		c, err := Resolve(Settings{Workspace: str(ws), Bin: str("alpha")})
		if err != nil || c.RequireAllocator != want {
			t.Errorf("%q: %v, %v; want %q", env, c, err, want)
		}
	}
	for _, env := range []string{"musl", "tcmalloc"} {
		t.Setenv("MUSLRUST_CHEF_REQUIRE_ALLOCATOR", env)
		_, err := Resolve(Settings{Workspace: str(ws), Bin: str("alpha")})
		want := `MUSLRUST_CHEF_REQUIRE_ALLOCATOR: unknown allocator "` + env + `": use mimalloc or jemalloc (or leave it unset to only warn)`
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", env, err, want)
		}
	}
}
