package config

import (
	"runtime/debug"
	"testing"
)

// The kit's version comes from the build info of the binary that runs
// it: a magefile's dependency, the kit's own checkout, or nothing usable.
func TestKitVersion(t *testing.T) {
	dep := func(path, version string, replace *debug.Module) *debug.Module {
		return &debug.Module{Path: path, Version: version, Replace: replace}
	}
	for _, c := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"magefile requires a release", debug.BuildInfo{Main: debug.Module{Path: "example.com/app", Version: "(devel)"},
			Deps: []*debug.Module{dep("golang.org/x/mod", "v0.20.0", nil), dep(kitModule, "v1.4.0", nil)}}, "v1.4.0"},
		{"magefile requires a commit", debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{dep(kitModule, "v0.0.0-20261206113416-3162534abcde", nil)}}, "v0.0.0-20261206113416-3162534abcde"},
		{"replaced by a fork's version", debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{dep(kitModule, "v1.4.0", dep("example.com/fork", "v1.4.1", nil))}}, "v1.4.1"},
		{"replaced by a local directory", debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{dep(kitModule, "v1.4.0", dep("../muslrust-chef", "", nil))}}, "devel"},
		{"the kit's checkout, stamped", debug.BuildInfo{Main: debug.Module{Path: kitModule, Version: "v0.0.0-20261206113416-3162534abcde+dirty"}}, "v0.0.0-20261206113416-3162534abcde+dirty"},
		{"the kit's checkout, revision only", debug.BuildInfo{Main: debug.Module{Path: kitModule, Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3162534abcdef0123456789"}, {Key: "vcs.modified", Value: "true"}}}, "devel+3162534abcde+dirty"},
		{"the kit's checkout, nothing stamped", debug.BuildInfo{Main: debug.Module{Path: kitModule, Version: "(devel)"}}, "devel"},
		{"not linked", debug.BuildInfo{Main: debug.Module{Path: "example.com/app"}}, "devel"},
	} {
		if got := kitVersion(&c.bi); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if KitVersion() == "" {
		t.Error("KitVersion of the test binary is empty")
	}
}
