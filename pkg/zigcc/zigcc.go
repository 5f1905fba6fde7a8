// Package zigcc turns zig into the C compiler, C++ compiler, archiver and
// linker of Rust's *-linux-musl targets, as cargo-zigbuild does, so that
// cargo (CARGO_TARGET_<TRIPLE>_LINKER) and the cc crate (CC_<triple>,
// CXX_<triple>, AR_<triple>) can name one program per triple:
//
//   - the Rust triple becomes zig's `-target <arch>-linux-musl`;
//   - flags zig refuses are dropped: the `--target=<rust triple>` forms the
//     cc crate passes to clang-like compilers, `-Wl,--defsym`;
//     glibc's unwinder libraries become zig's libunwind, and rustc's own
//     (self-contained) musl start files and libc are left to zig;
//   - every link gets a small C file of weak LFS64 forwarders (open64,
//     fstat64, readdir64, ...): zig 0.11 bundles musl 1.2.4, which dropped
//     those names, and older Rust standard libraries and libc crates still
//     link them.
//
// The package builds command lines; the helper CLI (cmd/muslrust-chef)
// finds zig and runs them.
package zigcc

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

// Tool is what the wrapper stands in for.
type Tool string

const (
	CC  Tool = "cc"
	CXX Tool = "c++"
	AR  Tool = "ar"
)

// ParseTool accepts the tool names of the CLI (cxx for c++ too).
func ParseTool(s string) (Tool, error) {
	switch s {
	case "cc":
		return CC, nil
	case "c++", "cxx":
		return CXX, nil
	case "ar":
		return AR, nil
	}
	return "", fmt.Errorf("unknown zig tool %q: use cc, c++ or ar", s)
}

// Link names are the argv[0] spellings of the wrapper, one program path per
// tool and triple (what CARGO_TARGET_<TRIPLE>_LINKER needs): zigcc-<triple>,
// zigcxx-<triple>, zigar-<triple>.
var linkPrefixes = map[string]Tool{"zigcc-": CC, "zigcxx-": CXX, "zigar-": AR}

// LinkName is the argv[0] name of tool for triple.
func LinkName(t Tool, triple string) string {
	for p, tt := range linkPrefixes {
		if tt == t {
			return p + triple
		}
	}
	return ""
}

// FromLinkName reads the tool and triple from an argv[0] base name; ok is
// false when name is not one of the wrapper's link names.
func FromLinkName(name string) (t Tool, triple string, ok bool) {
	for p, tt := range linkPrefixes {
		if rest, found := strings.CutPrefix(name, p); found && rest != "" {
			return tt, rest, true
		}
	}
	return "", "", false
}

// arches maps the architecture part of a Rust musl triple to zig's.
var arches = map[string]string{
	"x86_64":    "x86_64",
	"aarch64":   "aarch64",
	"i686":      "x86",
	"i586":      "x86",
	"riscv64gc": "riscv64",
	"armv7":     "arm",
	"arm":       "arm",
}

// ZigTarget maps a Rust *-linux-musl* triple to zig's -target value:
// x86_64-unknown-linux-musl -> x86_64-linux-musl,
// armv7-unknown-linux-musleabihf -> arm-linux-musleabihf.
func ZigTarget(triple string) (string, error) {
	parts := strings.Split(triple, "-")
	if len(parts) != 4 || parts[2] != "linux" || !strings.HasPrefix(parts[3], "musl") {
		return "", fmt.Errorf("triple %q is not a <arch>-<vendor>-linux-musl* Rust triple: the zig wrapper only builds for musl (glibc targets need their own C toolchain)", triple)
	}
	arch, ok := arches[parts[0]]
	if !ok {
		return "", fmt.Errorf("triple %q: no zig target for architecture %q (supported: x86_64, aarch64, i686, i586, riscv64gc, armv7, arm)", triple, parts[0])
	}
	return arch + "-linux-" + parts[3], nil
}

//go:embed csrc/lfs64.c
var lfs64Source []byte

// WriteLFS64 writes the forwarders' source under dir, once per content
// (the file name carries its hash; written through internal/atomicdir so
// that parallel links never see half a file), and returns its path.
func WriteLFS64(dir string) (string, error) {
	sum := sha256.Sum256(lfs64Source)
	p := filepath.Join(dir, "muslrust-chef-lfs64-"+hex.EncodeToString(sum[:6])+".c")
	if b, err := os.ReadFile(p); err == nil && string(b) == string(lfs64Source) {
		return p, nil
	}
	err := atomicdir.WriteFile(p, 0o644, atomicdir.FileOptions{Fix: errors.New("remove it; the zig wrapper writes the LFS64 forwarders there")}, func(w io.Writer) error {
		_, err := w.Write(lfs64Source)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("zig wrapper: cannot write the LFS64 forwarders: %w", err)
	}
	return p, nil
}

// valueFlags take their value as the next argument; that argument is not
// an input file.
var valueFlags = map[string]bool{
	"-o": true, "-I": true, "-L": true, "-l": true, "-x": true, "-D": true, "-U": true,
	"-MF": true, "-MT": true, "-MQ": true, "-include": true, "-isystem": true, "-iquote": true,
	"-idirafter": true, "-isysroot": true, "--sysroot": true, "-Xlinker": true, "-Xclang": true,
	"-Xassembler": true, "-Xpreprocessor": true, "-u": true, "-z": true, "-T": true, "-e": true,
	"-target": true, "--target": true, "-arch": true, "-imacros": true,
}

// compileOnly flags mean no link happens.
var compileOnly = map[string]bool{"-c": true, "-S": true, "-E": true, "-M": true, "-MM": true, "-fsyntax-only": true}

// IsLink reports whether a compiler invocation links: it has an input
// and none of the compile-only flags.
func IsLink(args []string) bool {
	inputs := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case compileOnly[a]:
			return false
		case valueFlags[a]:
			i++
		case a == "-" || !strings.HasPrefix(a, "-"):
			inputs++
		}
	}
	return inputs > 0
}

// CompilerArgs returns zig's arguments (after "zig") for tool cc or c++
// building for triple, given the arguments cargo, rustc or the cc crate
// passed. lfs64, when not empty, is the forwarders' source added to links.
func CompilerArgs(t Tool, triple string, args []string, lfs64 string) ([]string, error) {
	if t != CC && t != CXX {
		return nil, fmt.Errorf("CompilerArgs: %s is not a compiler", t)
	}
	target, err := ZigTarget(triple)
	if err != nil {
		return nil, err
	}
	out := []string{string(t), "-target", target}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--target=") || strings.HasPrefix(a, "-target="):
			// The cc crate's clang form, a Rust triple zig does not know.
			continue
		case a == "-target" || a == "--target":
			i++
			continue
		case isSelfContained(a):
			// rustc's own musl start files (link-self-contained=yes, the
			// rustup default): zig links its musl's, twice would clash.
			continue
		case a == "-L" && i+1 < len(args) && isSelfContainedDir(args[i+1]):
			i++
			continue
		case strings.HasPrefix(a, "-L") && isSelfContainedDir(a[2:]):
			continue
		case a == "-lgcc_s" || a == "-lgcc_eh":
			// glibc's unwinder; zig links its own libunwind.
			out = append(out, "-lunwind")
			continue
		case strings.HasPrefix(a, "-Wl,"):
			if kept := dropDefsym(a); kept != "" {
				out = append(out, kept)
			}
			continue
		case a == "-Xlinker" && i+1 < len(args) && isDefsym(args[i+1]):
			i++
			if i+1 < len(args) && args[i] == "--defsym" && args[i+1] == "-Xlinker" {
				i += 2 // -Xlinker --defsym -Xlinker a=b
			}
			continue
		}
		out = append(out, a)
	}
	if lfs64 != "" && IsLink(args) {
		out = append(out, lfs64)
	}
	return out, nil
}

// selfContainedObjects are the start files rustc adds from its
// lib/rustlib/<triple>/lib/self-contained directory.
var selfContainedObjects = map[string]bool{"crt1.o": true, "rcrt1.o": true, "Scrt1.o": true, "crti.o": true, "crtn.o": true,
	"crtbegin.o": true, "crtbeginS.o": true, "crtbeginT.o": true, "crtend.o": true, "crtendS.o": true}

// isSelfContained also takes a bare name ("rcrt1.o"): rustc passes one when
// its sysroot has no self-contained directory (a std built from rust-src),
// leaving the linker to find a file zig does not have; objects rustc
// compiled are always absolute paths.
func isSelfContained(a string) bool {
	if !selfContainedObjects[filepath.Base(a)] {
		return false
	}
	return !strings.Contains(a, "/") || isSelfContainedDir(filepath.Dir(a))
}

// isSelfContainedDir: rustc's self-contained directory holds its own musl
// libc.a, which must not shadow the one zig builds.
func isSelfContainedDir(d string) bool { return filepath.Base(filepath.Clean(d)) == "self-contained" }

func isDefsym(s string) bool { return s == "--defsym" || strings.HasPrefix(s, "--defsym=") }

// dropDefsym removes --defsym items from a -Wl, list, which zig's linker
// driver refuses; it returns "" when nothing is left.
func dropDefsym(a string) string {
	items := strings.Split(strings.TrimPrefix(a, "-Wl,"), ",")
	var kept []string
	for i := 0; i < len(items); i++ {
		switch {
		case items[i] == "--defsym":
			i++ // its value is the next item
		case strings.HasPrefix(items[i], "--defsym="):
		default:
			kept = append(kept, items[i])
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return "-Wl," + strings.Join(kept, ",")
}

// ArArgs returns zig's arguments for the archiver: zig's ar is llvm-ar and
// takes ar's arguments unchanged.
func ArArgs(args []string) []string {
	return append([]string{"ar"}, args...)
}
