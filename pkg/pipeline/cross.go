package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// StrategyCross runs cook and build once, on BuildKit's build platform, and
// compiles every requested platform's triple there with an explicit
// --target and the builder's declared cross toolchain: no emulation.
const StrategyCross = "cross"

// StrategyAuto is the default: cross when the builder image declares it can
// cross-compile to every requested platform, else emulate.
const StrategyAuto = "auto"

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
	labelCrossPrefix = "io.muslrust-chef.cross."
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
func (t Toolchain) check(triple string) error {
	if t.Cargo != "" && t.Cargo != CargoBuild && t.Cargo != CargoZigbuild {
		return fmt.Errorf("label %s=%q: use %s or %s", LabelCrossCargo, t.Cargo, CargoBuild, CargoZigbuild)
	}
	for _, kv := range [][2]string{{"linker", t.Linker}, {"cc", t.CC}, {"cxx", t.CXX}, {"ar", t.AR}, {"cflags", t.CFlags}, {"rustflags", t.RustFlags}} {
		if err := cargo.CheckText("label "+labelCrossPrefix+triple+"."+kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// tools are the commands the toolchain needs in the builder, each with the
// setting and label that named it, checked before cargo runs so that a
// wrong declaration fails with one line instead of deep in a build script.
func (t Toolchain) tools(triple string) [][3]string {
	var out [][3]string
	add := func(cmd, setting, key string) {
		if cmd != "" {
			// The command is the first word: CC may carry flags ("zig cc").
			out = append(out, [3]string{strings.Fields(cmd)[0], setting + "=" + cmd, labelCrossPrefix + triple + "." + key})
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
func (d CrossDecl) missing(ps []platform.Platform) []platform.Platform {
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
			return d, fmt.Errorf("label %s=%q: %v", LabelCross, v, err)
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
		rest, ok := strings.CutPrefix(k, labelCrossPrefix)
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

// Target is the ONE value per platform that decides how cook and build
// invoke cargo: the cargo flags (profile, features, --target triple,
// RUSTFLAGS, strip) and, when cross-compiling, the triple's toolchain.
// Both stages evaluate the same rendering of it.
type Target struct {
	Platform  platform.Platform
	Flags     cargo.Flags
	Toolchain Toolchain
}

// CrossTargets returns the targets of a cross build on the builder image
// of platform from.
func (c *Config) CrossTargets(b *Builder, from platform.Platform) []Target {
	decl := b.Cross[from]
	var out []Target
	for _, p := range c.Platforms {
		f := c.Flags(p, b.Libc[from], b.RustFlags[from])
		tc := decl.Triples[f.Triple]
		tc.Cargo = decl.Cargo
		if tc.RustFlags != "" && c.RustFlags == "" {
			f.RustFlags = tc.RustFlags
		}
		out = append(out, Target{Platform: p, Flags: f, Toolchain: tc})
	}
	return out
}

// crossSnippet renders the targets as the POSIX shell the cross stages
// evaluate: a tool check, then per triple (in a subshell, so that one
// triple's environment cannot leak into the next) the exports and cargo
// runs, and the copy of each binary to OutDir/<os>_<arch>/.
//
// The triples are compiled one after the other in one RUN rather than by
// one cargo with several --target flags: RUSTFLAGS (static glibc, a
// per-triple override) is a single environment variable, and sequential
// runs share the host build-script and proc-macro artifacts anyway.
//
// As in snippet, every value is a single-quoted word.
func crossSnippet(targets []Target, locals []string, workspaceInImage, outDir string) (string, error) {
	var check, build, clean, copyOut strings.Builder
	seen := map[string]bool{}
	if err := checkLocals(locals, workspaceInImage); err != nil {
		return "", err
	}
	if err := cargo.CheckText("output directory", outDir); err != nil {
		return "", err
	}
	for _, t := range targets {
		f := t.Flags
		if err := f.Validate(); err != nil {
			return "", err
		}
		if err := t.Toolchain.check(f.Triple); err != nil {
			return "", err
		}
		var env strings.Builder
		if err := writeExports(&env, append(f.Env(), t.Toolchain.Env(f.Triple)...)); err != nil {
			return "", err
		}
		tools := t.Toolchain.tools(f.Triple)
		args := f.BuildArgs()
		if t.Toolchain.Cargo == CargoZigbuild {
			args[0] = CargoZigbuild
			tools = append(tools, [3]string{"cargo-zigbuild", "cargo zigbuild", LabelCrossCargo}, [3]string{"zig", "cargo zigbuild", LabelCrossCargo})
		}
		for _, tool := range tools {
			if seen[tool[0]+tool[1]] {
				continue
			}
			seen[tool[0]+tool[1]] = true
			msg := fmt.Sprintf("muslrust-chef: %s needs %s, which is not in the builder image (declared by its label %s): install it in the builder image or fix the label", tool[1], tool[0], tool[2])
			fmt.Fprintf(&check, "command -v %s >/dev/null 2>&1 || { echo %s >&2; exit 1; }; ", shellQuote(tool[0]), shellQuote(msg))
		}
		fmt.Fprintf(&build, "( %scargo %s ) || exit 1; ", env.String(), shellWords(args))
		if len(locals) > 0 {
			fmt.Fprintf(&clean, "( %scargo %s ) || exit 1; ", env.String(), shellWords(f.CleanArgs(locals)))
		}
		dir := outDir + "/" + t.Platform.DistDir()
		fmt.Fprintf(&copyOut, "mkdir -p %s && cp %s %s/ || exit 1; ", shellQuote(dir), shellQuote(f.BinPath(workspaceInImage, f.Bin)), shellQuote(dir))
	}
	if len(targets) == 0 {
		return "", fmt.Errorf("cross build without a target platform")
	}
	orNoop := func(s string) string {
		if s == "" {
			return ":; "
		}
		return s
	}
	triples := make([]string, len(targets))
	for i, t := range targets {
		triples[i] = t.Flags.Triple
	}
	// A rust-toolchain file selects a toolchain the image may not have the
	// foreign standard libraries for: the cook stage adds them with rustup.
	return fmt.Sprintf("muslrust_chef_check_tools() { %s}; muslrust_chef_rustup_targets() { rustup target add %s; }; muslrust_chef_cargo_build() { %s}; muslrust_chef_cargo_clean() { %s}; muslrust_chef_copy_out() { %s}",
		orNoop(check.String()), shellWords(triples), build.String(), orNoop(clean.String()), copyOut.String()), nil
}

// buildPlatform is the platform BuildKit runs the cross stages on
// ($BUILDPLATFORM): its worker's native platform. BuildKit lists the
// worker's platforms without saying which is native, so the host running
// the kit is taken when the worker has it (a local buildkitd, Docker's
// builder), else the worker's only supported platform. The cross stages
// check $BUILDPLATFORM against this and stop with a clear message if
// BuildKit disagrees.
func buildPlatform(workerPlatforms []string, host platform.Platform) (platform.Platform, bool) {
	var supported []platform.Platform
	for _, s := range workerPlatforms {
		p, err := platform.Parse(s)
		if err != nil {
			continue
		}
		if host.Arch != "" && p == host {
			return p, true
		}
		supported = append(supported, p)
	}
	if len(workerPlatforms) == 0 && host.Arch != "" {
		return host, true
	}
	if len(supported) == 1 {
		return supported[0], true
	}
	return platform.Platform{}, false
}

// chooseStrategy settles auto and checks that the builder can do what the
// strategy needs. It returns the strategy, the platform cross stages run
// on (cross only) and a sentence saying why, which the caller prints.
func chooseStrategy(c *Config, b *Builder, bp platform.Platform, bpKnown bool) (string, platform.Platform, string, error) {
	want := platform.Join(c.Platforms)
	crossReason := func() (string, error) {
		if !bpKnown {
			return "", fmt.Errorf("cannot tell which platform BuildKit builds on (it offers several and none is this host's)")
		}
		if !b.platforms[bp] {
			return "", fmt.Errorf("builder image %s has no image for the build platform %s (it has %s)", b.Ref, bp, strings.Join(b.have, ", "))
		}
		d := b.Cross[bp]
		if len(d.Platforms) == 0 {
			return "", fmt.Errorf("builder image %s (%s) declares no cross-compilation (label %s is absent)", b.Ref, bp, LabelCross)
		}
		if miss := d.missing(c.Platforms); len(miss) > 0 {
			return "", fmt.Errorf("builder image %s (%s) cannot cross-compile to %s (its label %s=%s)", b.Ref, bp, platform.Join(miss), LabelCross, platform.Join(d.Platforms))
		}
		if c.Libc != "" && b.Libc[bp] != "" && c.Libc != b.Libc[bp] {
			return "", fmt.Errorf("builder image %s (%s) cross-compiles for libc %s, but MUSLRUST_CHEF_LIBC=%s", b.Ref, bp, b.Libc[bp], c.Libc)
		}
		return fmt.Sprintf("builder image %s (%s) declares %s=%s", b.Ref, bp, LabelCross, platform.Join(d.Platforms)), nil
	}
	switch c.Strategy {
	case StrategyCross:
		why, err := crossReason()
		if err != nil {
			return "", bp, "", fmt.Errorf("%s=cross: %v: use MUSLRUST_CHEF_STRATEGY=emulate, or a builder image that declares cross-compilation to %s", c.StrategyFrom, err, want)
		}
		return StrategyCross, bp, "chosen by " + c.StrategyFrom + "; " + why, nil
	case StrategyEmulate, StrategySplit:
		if err := b.require(c.Platforms); err != nil {
			return "", bp, "", err
		}
		return c.Strategy, bp, "chosen by " + c.StrategyFrom, nil
	}
	why, err := crossReason()
	if err == nil {
		return StrategyCross, bp, "default: " + why + ", covering " + want, nil
	}
	if err := b.require(c.Platforms); err != nil {
		return "", bp, "", err
	}
	why = "default, because " + err.Error()
	for _, p := range c.Platforms {
		if !bpKnown || p != bp {
			why += "; foreign platforms run under QEMU"
			break
		}
	}
	return StrategyEmulate, bp, why, nil
}
