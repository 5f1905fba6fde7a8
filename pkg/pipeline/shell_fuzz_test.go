package pipeline

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// shellVocabulary is every piece of unquoted text the snippet templates
// write: command, function and option names, redirection targets. A user
// value found outside single quotes would be a word not in this list (or
// a substitution, which checkSnippet refuses outright).
var shellVocabulary = map[string]bool{
	"export": true, "cargo": true, "command": true, "-v": true, "echo": true, "exit": true, "1": true, "2": true,
	"/dev/null": true, "mkdir": true, "-p": true, "cp": true, "/": true, "rustup": true, "target": true, "add": true, ":": true,
	"muslrust_chef_cargo_build": true, "muslrust_chef_cargo_clean": true, "muslrust_chef_check_tools": true,
	"muslrust_chef_rustup_targets": true, "muslrust_chef_copy_out": true,
	"unset": true, "RUSTFLAGS": true, "CARGO_ENCODED_RUSTFLAGS": true, "true": true,
	// the records snippet
	"muslrust_chef_records": true, "rustc": true, "-V": true, "Cargo.lock": true,
}

// FuzzShellRendering feeds arbitrary knob and builder-label values through
// the code that turns a Config into the Dockerfile's build arguments
// (Config.validate, Builder.readLabels, buildArgs with snippet and
// crossSnippet). Its property: whatever is accepted appears in the shell
// text only inside single quotes (or names an environment variable), which
// is checked twice, by parsing each snippet with a POSIX shell parser and by
// evaluating it in sh (with an empty PATH, so that no injected command can
// run) with a cargo that records its arguments and environment: they must
// be exactly the values given.
func FuzzShellRendering(f *testing.F) {
	type seed struct {
		profile, features, bin, pkg, rustflags, labelRustflags, linker, cc, cflags, locals, wsDir string
		mode                                                                                      uint8
	}
	for _, s := range []seed{
		{"release", "", "app", "app", "", "", "", "", "", "app", "", 0},
		{"release", "loud,serde/derive,dep:serde_json", "app", "app", "-C target-feature=+crt-static", "-C link-self-contained=yes", "", "", "", "app,lib-a", "", 1},
		{"dist", "x", "my-bin", "my_pkg", "-C link-arg='-Wl,--x' -C opt-level=\"3\"", "", "zig cc -target aarch64-linux-musl", "zig cc", "-mno-outline-atomics", "a,b", "repo/ws", 2 | 4},
		{"dist;touch /x", "loud,$(touch x)", "a`id`", "p$(id)", "$(touch x)", "`touch y`", "cc; touch z", "$HOME", "'; touch w; '", "x;id", "../$(id)", 7},
		{"dev", "a b", "app\n", "app", "x\x00y", "\xff", "", "", "", "", "a'b\"c", 6},
		{"my-prof", "v1.2+x,_x", "app", "app", "it's", "a\\b", "ld.lld", "c\\c", "-O2 'x'", "", "with space/ws", 3},
	} {
		f.Add(s.profile, s.features, s.bin, s.pkg, s.rustflags, s.labelRustflags, s.linker, s.cc, s.cflags, s.locals, s.wsDir, s.mode)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		f.Fatalf("no sh to evaluate the snippets: %v", err)
	}
	emptyPath := f.TempDir()
	f.Fuzz(func(t *testing.T, profile, features, bin, pkg, rustflags, labelRustflags, linker, cc, cflags, locals, wsDir string, mode uint8) {
		amd, arm := platform.Platform{OS: "linux", Arch: "amd64"}, platform.Platform{OS: "linux", Arch: "arm64", Variant: "v8"}
		libc := "musl"
		if mode&1 != 0 {
			libc = "gnu"
		}
		// A whole Config is refused when any field is; the values refused
		// on their own are swapped for fixed valid ones here so that most
		// inputs still reach the renderer with their other values (which
		// the property is about). Config.validate must then agree.
		whole := &Config{Spec: buildspec.Spec{Profile: profile, Features: config.List(features), Bin: bin, Package: pkg, RustFlags: rustflags,
			Platforms: []platform.Platform{amd, arm}}}
		wholeErr := whole.validate()
		if cargo.CheckProfile(profile) != nil {
			profile = "release"
		}
		if bin != "" && cargo.CheckName("binary", bin) != nil {
			bin = "app"
		}
		if pkg != "" && cargo.CheckName("package", pkg) != nil {
			pkg = "app"
		}
		var feats []string
		for _, ft := range config.List(features) {
			if cargo.CheckFeature(ft) == nil {
				feats = append(feats, ft)
			}
		}
		if cargo.CheckText("MUSLRUST_CHEF_RUSTFLAGS", rustflags) != nil {
			rustflags = ""
		}
		c := &Config{Spec: buildspec.Spec{Profile: profile, Features: feats, Bin: bin, Package: pkg, RustFlags: rustflags,
			Platforms: []platform.Platform{amd, arm}, Locked: mode&8 == 0, Strip: mode&16 == 0, NoDefaultFeatures: mode&32 != 0}}
		if err := c.validate(); err != nil {
			t.Fatalf("every field passes its own check, but validate refuses: %v", err)
		}
		if wholeErr == nil && (c.Profile != whole.Profile || c.Bin != whole.Bin || c.Package != whole.Package || c.RustFlags != whole.RustFlags || len(c.Features) != len(whole.Features)) {
			t.Fatalf("validate accepted %+v, but a field check refuses part of it", whole)
		}
		cargoSub := builder.CargoBuild
		if mode&2 != 0 {
			cargoSub = builder.CargoZigbuild
		}
		for _, v := range []*string{&labelRustflags, &linker, &cc, &cflags} {
			if cargo.CheckText("label", *v) != nil {
				*v = ""
			}
		}
		var localList []string
		for _, l := range config.List(locals) {
			if cargo.CheckName("package", l) == nil {
				localList = append(localList, l)
			}
		}
		if cargo.CheckText("workspace path", path.Join("/src", wsDir)) != nil {
			wsDir = ""
		}
		triple := arm.Triple(libc)
		labels := map[string]string{
			builder.LabelLibc: libc, builder.LabelRustFlags: labelRustflags, builder.LabelCross: "linux/amd64,linux/arm64", builder.LabelCrossCargo: cargoSub,
			builder.LabelCrossPrefix + triple + ".linker": linker, builder.LabelCrossPrefix + triple + ".cc": cc, builder.LabelCrossPrefix + triple + ".cflags": cflags,
		}
		b := &builder.Builder{Pinned: "registry.example/builder@sha256:0123", Libc: map[platform.Platform]string{},
			RustFlags: map[platform.Platform]string{}, Cross: map[platform.Platform]builder.CrossDecl{}}
		for _, p := range c.Platforms {
			if err := b.ReadLabels(p, labels); err != nil {
				t.Fatalf("labels without control characters refused: %v", err)
			}
		}
		strategy := StrategyEmulate
		if mode&4 != 0 {
			strategy = StrategyCross
		}
		args, targets, err := buildArgs(c, b, strategy, amd, localList, wsDir)
		if err != nil {
			t.Fatalf("a configuration whose every value passed its check is refused: %v", err)
		}
		effective := rustflags
		if effective == "" {
			effective = labelRustflags
		}
		// The records: cargo metadata and tree see the same package,
		// features and RUSTFLAGS, all quoted.
		recAccepted := append([]string{pkg, effective}, c.Features...)
		if strategy == StrategyCross {
			checkSnippet(t, args[app.ArgCrossRecords], recAccepted)
		} else {
			for _, p := range c.Platforms {
				checkSnippet(t, args[app.ArgRecordsPrefix+p.Arch], recAccepted)
			}
		}
		accepted := append([]string{profile, bin, pkg, effective, path.Join("/src", wsDir)}, c.Features...)
		accepted = append(accepted, localList...)
		if strategy == StrategyCross {
			accepted = append(accepted, linker, cc, cflags)
			sn := args[app.ArgCross]
			checkSnippet(t, sn, accepted)
			var want strings.Builder
			if cargoSub == builder.CargoZigbuild {
				for _, tg := range targets {
					writeCargoCall(&want, crossArgs(tg), append(tg.Flags.Env(), tg.Toolchain.Env(tg.Flags.Triple)...))
				}
				if len(localList) > 0 {
					for _, tg := range targets {
						writeCargoCall(&want, tg.Flags.CleanArgs(localList), append(tg.Flags.Env(), tg.Toolchain.Env(tg.Flags.Triple)...))
					}
				}
			} else {
				// One cargo for both triples: each triple's flags in its
				// own variable, the inherited RUSTFLAGS and
				// CARGO_ENCODED_RUSTFLAGS gone.
				fs := []cargo.Flags{targets[0].Flags, targets[1].Flags}
				build, clean, env, err := cargo.MultiTarget(fs, localList)
				if err != nil {
					t.Fatal(err)
				}
				for _, tg := range targets {
					env = append(env, tg.Toolchain.Env(tg.Flags.Triple)...)
				}
				writeCargoCall(&want, build, env)
				if len(localList) > 0 {
					writeCargoCall(&want, clean, env)
				}
			}
			evalSnippet(t, sh, emptyPath, sn, true, targets[0].Flags, targets[1].Toolchain.Env(targets[1].Flags.Triple), want.String(), "")
			return
		}
		for _, p := range c.Platforms {
			sn, ok := args[app.ArgFlagsPrefix+p.Arch]
			if !ok {
				t.Fatalf("no %s%s", app.ArgFlagsPrefix, p.Arch)
			}
			checkSnippet(t, sn, accepted)
			fl := c.Flags(p, b.Libc[p], b.RustFlags[p])
			var want strings.Builder
			writeCargoCall(&want, fl.BuildArgs(), fl.Env())
			if len(localList) > 0 {
				writeCargoCall(&want, fl.CleanArgs(localList), fl.Env())
			}
			evalSnippet(t, sh, emptyPath, sn, false, fl, nil, want.String(), fl.BinPath("/src/"+wsDir, fl.Bin))
		}
	})
}

// checkSnippet parses sn as POSIX shell and fails unless every unquoted
// word is the template's own text or an identifier being assigned, no
// expansion of any kind occurs, and each accepted value is found inside
// single quotes.
func checkSnippet(t *testing.T, sn string, accepted []string) {
	t.Helper()
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(sn), "snippet")
	if err != nil {
		t.Fatalf("snippet does not parse: %v\n%s", err, sn)
	}
	assigned := map[*syntax.Lit]bool{}
	var quoted strings.Builder
	syntax.Walk(file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name != nil {
				assigned[n.Name] = true
			}
		case *syntax.FuncDecl:
			assigned[n.Name] = true
		case *syntax.CallExpr:
			// POSIX mode parses export NAME='v' as words: the first part of
			// each argument after export is the literal "NAME=".
			if len(n.Args) > 0 && n.Args[0].Lit() == "export" {
				for _, w := range n.Args[1:] {
					if l, ok := w.Parts[0].(*syntax.Lit); ok && strings.HasSuffix(l.Value, "=") && envNameRE.MatchString(strings.TrimSuffix(l.Value, "=")) {
						assigned[l] = true
					}
				}
			}
		case *syntax.Word:
			// The word's value as the shell sees it: single-quoted parts,
			// the escaped quote shellQuote writes between them, and the
			// template's own literals.
			for _, part := range n.Parts {
				switch part := part.(type) {
				case *syntax.SglQuoted:
					quoted.WriteString(part.Value)
				case *syntax.Lit:
					quoted.WriteString(strings.ReplaceAll(part.Value, `\'`, "'"))
				}
			}
			quoted.WriteByte(0)
		case *syntax.SglQuoted:
			if n.Dollar {
				t.Fatalf("$'...' quoting in snippet: %s", sn)
			}
		case *syntax.Lit:
			ok := shellVocabulary[n.Value] || n.Value == `\'` || (assigned[n] && envNameRE.MatchString(strings.TrimSuffix(n.Value, "=")))
			if !ok {
				t.Fatalf("unquoted text %q in snippet:\n%s", n.Value, sn)
			}
		case *syntax.CmdSubst, *syntax.ProcSubst, *syntax.ParamExp, *syntax.ArithmExp, *syntax.ArithmCmd,
			*syntax.DblQuoted, *syntax.ExtGlob, *syntax.BraceExp, *syntax.TestClause, *syntax.LetClause:
			t.Fatalf("expansion %T in snippet:\n%s", n, sn)
		case *syntax.Redirect:
			if n.Hdoc != nil {
				t.Fatalf("here-document in snippet:\n%s", sn)
			}
		}
		return true
	})
	for _, v := range accepted {
		if v != "" && !strings.Contains(quoted.String(), strings.TrimSpace(v)) {
			t.Fatalf("accepted value %q is not inside single quotes in:\n%s", v, sn)
		}
	}
}

// writeCargoCall is what the recording cargo prints for one call: its
// arguments, then each expected environment entry as the call saw it.
func writeCargoCall(b *strings.Builder, args, env []string) {
	b.WriteString("cargo")
	for _, a := range args {
		b.WriteString("\x1f" + a)
	}
	env = append([]string(nil), env...)
	sort.Slice(env, func(i, j int) bool {
		ki, _, _ := strings.Cut(env[i], "=")
		kj, _, _ := strings.Cut(env[j], "=")
		return ki < kj
	})
	for _, e := range env {
		b.WriteString("\x1e" + e)
	}
	b.WriteString("\n")
}

// evalSnippet evaluates sn as the Dockerfile does and runs its build and
// clean functions with cargo (and rustup, mkdir, cp) replaced by recorders.
// PATH is an empty directory: an injected command would fail to run and
// make the output differ.
func evalSnippet(t *testing.T, sh, emptyPath, sn string, cross bool, f cargo.Flags, extraEnv []string, want, wantBinPath string) {
	t.Helper()
	var keys []string
	for _, e := range append(f.Env(), extraEnv...) {
		k, _, _ := strings.Cut(e, "=")
		keys = append(keys, k)
	}
	// The recorder prints the variables that any target may export, set or
	// not, sorted as writeCargoCall sorts them.
	// The names are identifiers (writeExports checks them), so they may be
	// written into the recorder as they are.
	recorder := `cargo() { printf cargo; for a in "$@"; do printf '\037%s' "$a"; done; for e in ` + strings.Join(allKeys(keys), " ") +
		`; do eval "set=\${$e+x} v=\${$e-}"; [ -z "$set" ] || printf '\036%s=%s' "$e" "$v"; done; printf '\n'; }; `
	script := `set -eu; ` + recorder + `eval "$1"; muslrust_chef_cargo_build; muslrust_chef_cargo_clean; printf 'bin=%s\n' "${muslrust_chef_bin_path-}"`
	cmd := exec.Command(sh, "-c", script, "sh", sn)
	cmd.Env = []string{"PATH=" + emptyPath, "LC_ALL=C"}
	if cross {
		// Inherited flags: the cross snippet must unset them (zigbuild:
		// override RUSTFLAGS and unset the other).
		cmd.Env = append(cmd.Env, "RUSTFLAGS=-C inherited", "CARGO_ENCODED_RUSTFLAGS=-Cinherited")
	}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v: %s\nsnippet:\n%s", err, out, sn)
	}
	if got := string(out); got != want+"bin="+wantBinPath+"\n" {
		t.Fatalf("sh printed\n%q\nwant\n%q\nsnippet:\n%s", got, want+"bin="+wantBinPath+"\n", sn)
	}
}

// allKeys adds the per-triple toolchain variables of both triples, so the
// recorder sees a variable exported for one target leak into another.
func allKeys(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range keys {
		add(k)
	}
	add("RUSTFLAGS")
	add("CARGO_ENCODED_RUSTFLAGS")
	for _, tr := range platform.Triples() {
		for _, e := range (builder.Toolchain{Linker: "x", CC: "x", CXX: "x", AR: "x", CFlags: "x"}).Env(tr) {
			k, _, _ := strings.Cut(e, "=")
			add(k)
		}
		add(cargo.TargetRustFlagsEnv(tr))
	}
	sort.Strings(out)
	return out
}
