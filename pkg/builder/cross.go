package builder

import (
	"fmt"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The cross-compilation declaration of a builder image, labels on the
// image of the platform it runs on (BuildKit's build platform):
//
//	io.muslrust-chef.cross=linux/amd64,linux/arm64      platforms it compiles for
//	io.muslrust-chef.cross.cargo=zigbuild               cargo subcommand: build (default) or zigbuild
//	io.muslrust-chef.cross.<triple>.linker=...          CARGO_TARGET_<TRIPLE>_LINKER
//	io.muslrust-chef.cross.<triple>.cc=...              CC_<triple>  (the cc crate's C compiler)
//	io.muslrust-chef.cross.<triple>.cxx=...             CXX_<triple>
//	io.muslrust-chef.cross.<triple>.ar=...              AR_<triple>
//	io.muslrust-chef.cross.<triple>.cflags=...          CFLAGS_<triple>
//	io.muslrust-chef.cross.<triple>.rustflags=...       RUSTFLAGS for that triple (default: io.muslrust-chef.rustflags)
//
// Labels live in the image config, so the kit reads them with one small
// registry request and never pulls the (gigabyte) builder layers.
const (
	LabelCross       = "io.muslrust-chef.cross"
	LabelCrossCargo  = "io.muslrust-chef.cross.cargo"
	LabelCrossPrefix = "io.muslrust-chef.cross."
)

// Cargo subcommands a builder may declare for cross builds.
const (
	CargoBuild    = "build"
	CargoZigbuild = "zigbuild"
)

// Toolchain is how the builder compiles one target triple: the cargo
// subcommand and what the cc crate and rustc's linker invocation need.
// Empty fields are left to cargo (and to cargo-zigbuild, which sets CC,
// CXX, AR and the linker to `zig cc` itself).
type Toolchain struct {
	Cargo                       string // "build" (default) or "zigbuild"
	Linker, CC, CXX, AR, CFlags string
	// RustFlags, when the builder declares it for this triple, replaces
	// the image-wide io.muslrust-chef.rustflags.
	RustFlags string
}

// envTriple is a triple the way the cc crate reads it from the
// environment: CC_aarch64_unknown_linux_musl.
func envTriple(triple string) string { return strings.ReplaceAll(triple, "-", "_") }

// Env returns the environment entries of the toolchain for triple, in a
// fixed order.
func (t Toolchain) Env(triple string) []string {
	var env []string
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("CARGO_TARGET_"+strings.ToUpper(envTriple(triple))+"_LINKER", t.Linker)
	add("CC_"+envTriple(triple), t.CC)
	add("CXX_"+envTriple(triple), t.CXX)
	add("AR_"+envTriple(triple), t.AR)
	add("CFLAGS_"+envTriple(triple), t.CFlags)
	return env
}

// check refuses label values that no toolchain setting needs: they are
// quoted in the snippet, but a control character or invalid UTF-8 is a
// broken label, not a compiler.
func (t Toolchain) Check(triple string) error {
	if t.Cargo != "" && t.Cargo != CargoBuild && t.Cargo != CargoZigbuild {
		return fmt.Errorf("label %s=%q: use %s or %s", LabelCrossCargo, t.Cargo, CargoBuild, CargoZigbuild)
	}
	for _, kv := range [][2]string{{"linker", t.Linker}, {"cc", t.CC}, {"cxx", t.CXX}, {"ar", t.AR}, {"cflags", t.CFlags}, {"rustflags", t.RustFlags}} {
		if err := cargo.CheckText("label "+LabelCrossPrefix+triple+"."+kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// tools are the commands the toolchain needs in the builder, each with the
// setting and label that named it, checked before cargo runs so that a
// wrong declaration fails with one line instead of deep in a build script.
func (t Toolchain) Tools(triple string) [][3]string {
	var out [][3]string
	add := func(cmd, setting, key string) {
		if cmd != "" {
			// The command is the first word: CC may carry flags ("zig cc").
			out = append(out, [3]string{strings.Fields(cmd)[0], setting + "=" + cmd, LabelCrossPrefix + triple + "." + key})
		}
	}
	add(t.Linker, "CARGO_TARGET_"+strings.ToUpper(envTriple(triple))+"_LINKER", "linker")
	add(t.CC, "CC_"+envTriple(triple), "cc")
	add(t.CXX, "CXX_"+envTriple(triple), "cxx")
	add(t.AR, "AR_"+envTriple(triple), "ar")
	return out
}

// CrossDecl is what one builder platform image declares about
// cross-compiling.
type CrossDecl struct {
	// Platforms it compiles for without emulation (its own included).
	Platforms []platform.Platform
	// Cargo is the subcommand for every triple: build or zigbuild.
	Cargo string
	// Triples holds the per-triple settings the image declares.
	Triples map[string]Toolchain
}

// missing reports the requested platforms the declaration does not cover.
func (d CrossDecl) Missing(ps []platform.Platform) []platform.Platform {
	var out []platform.Platform
	for _, p := range ps {
		found := false
		for _, q := range d.Platforms {
			found = found || q == p
		}
		if !found {
			out = append(out, p)
		}
	}
	return out
}

// parseCross reads the declaration from an image's labels.
func parseCross(labels map[string]string) (CrossDecl, error) {
	d := CrossDecl{Cargo: CargoBuild, Triples: map[string]Toolchain{}}
	if v := strings.TrimSpace(labels[LabelCross]); v != "" {
		ps, err := platform.ParseList(v)
		if err != nil {
			return d, fmt.Errorf("label %s=%q: %w", LabelCross, v, err)
		}
		d.Platforms = ps
	}
	switch v := strings.TrimSpace(labels[LabelCrossCargo]); v {
	case "", CargoBuild:
	case CargoZigbuild:
		d.Cargo = CargoZigbuild
	default:
		return d, fmt.Errorf("label %s=%q: use %s or %s", LabelCrossCargo, v, CargoBuild, CargoZigbuild)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, LabelCrossPrefix)
		if !ok || k == LabelCrossCargo {
			continue
		}
		i := strings.LastIndex(rest, ".")
		if i <= 0 {
			continue
		}
		triple, key, v := rest[:i], rest[i+1:], strings.TrimSpace(labels[k])
		t := d.Triples[triple]
		switch key {
		case "linker":
			t.Linker = v
		case "cc":
			t.CC = v
		case "cxx":
			t.CXX = v
		case "ar":
			t.AR = v
		case "cflags":
			t.CFlags = v
		case "rustflags":
			t.RustFlags = v
		default:
			// A newer image's setting this kit does not know: ignored, so
			// that old kits keep working with new builder images.
			continue
		}
		if err := cargo.CheckText("label "+k, v); err != nil {
			return d, err
		}
		d.Triples[triple] = t
	}
	return d, nil
}
