package standin

import (
	"strconv"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
)

// The Dockerfile carries the declaration and the toolchain environment the
// Go side defines, with no placeholder left; cargo's config names the same
// wrapper as linker.
func TestMuslDockerfileRendersDeclaration(t *testing.T) {
	df := MuslDockerfile()
	if strings.Contains(df, "@TOOLCHAIN_ENV@") || strings.Contains(df, "@LABELS@") {
		t.Fatal("placeholder left in the Dockerfile")
	}
	for k, v := range MuslLabels() {
		if !strings.Contains(df, k+"="+strconv.Quote(v)) {
			t.Errorf("Dockerfile lacks label %s=%q", k, v)
		}
	}
	for _, e := range muslEnv() {
		if strings.Count(df, e) != 2 { // the warm stage and the final image
			t.Errorf("Dockerfile has %q %d times, want 2", e, strings.Count(df, e))
		}
	}
	cfg := muslCargoConfig()
	for _, tr := range MuslTriples {
		if !strings.Contains(cfg, "[target."+tr+"]\nlinker = \"/usr/local/bin/zigcc-"+tr+"\"") {
			t.Errorf("cargo config lacks %s's linker:\n%s", tr, cfg)
		}
		if MuslLabels()[builder.LabelCrossPrefix+tr+".ar"] != "/usr/local/bin/zigar-"+tr {
			t.Errorf("%s: ar label %q", tr, MuslLabels()[builder.LabelCrossPrefix+tr+".ar"])
		}
	}
	if !strings.Contains(cfg, `rustflags = ["-C", "target-feature=+crt-static", "-C", "link-self-contained=no"]`) {
		t.Errorf("cargo config rustflags:\n%s", cfg)
	}
}
