// Package elfcheck verifies that a file is a statically linked executable for
// a given platform. It replaces `ldd`, whose output differs per architecture
// (static-pie x86_64 vs plain static aarch64) and per libc.
package elfcheck

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Linkage describes how a verified binary is linked.
type Linkage string

const (
	// Static is a classic ET_EXEC static executable.
	Static Linkage = "static"
	// StaticPIE is a position-independent static executable (ET_DYN without
	// an interpreter), the default for x86_64 musl Rust binaries.
	StaticPIE Linkage = "static-pie"
)

// Result is what Verify found in a binary that passed.
type Result struct {
	Path     string
	Platform platform.Platform
	Linkage  Linkage
	// Libc is the C library linked in (empty when it could not be read).
	Libc Libc
	// Alloc is the allocator and threading evidence (see detectAllocator).
	Alloc AllocReport
}

// Error is a verification failure; its message says what was found and what to do.
type Error struct {
	Path   string
	Reason string
	Fix    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s; %s", e.Path, e.Reason, e.Fix)
}

const staticFix = "build with a static target (RUSTFLAGS='-C target-feature=+crt-static', musl triple) and do not link shared C libraries"

// Verify checks that path is an ELF executable for p's machine with no
// PT_INTERP program header and no DT_NEEDED entries.
func Verify(path string, p platform.Platform) (Result, error) {
	data, err := readBinary(path)
	if err != nil {
		return Result{}, err
	}
	// One read, one parse: the checks, the libc and the allocator all look
	// at the same bytes in memory.
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return Result{}, &Error{Path: path, Reason: "not an ELF file (" + describeNonELF(data) + ")", Fix: "the dist slot must hold the Linux executable cargo built"}
	}

	if ef.Machine != p.Machine() {
		found := ef.Machine.String()
		if other, ok := platform.ForMachine(ef.Machine); ok {
			found = other.RustArch()
		}
		return Result{}, &Error{Path: path,
			Reason: fmt.Sprintf("%s binary in the %s slot", found, p),
			Fix:    fmt.Sprintf("build with --target %s and copy that artifact to dist/%s", p.Triple(""), p.DistDir())}
	}
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return Result{}, &Error{Path: path, Reason: fmt.Sprintf("ELF type %s is not an executable", ef.Type), Fix: "point at the linked binary, not an object file or library"}
	}
	for _, prog := range ef.Progs {
		if prog.Type == elf.PT_INTERP {
			interp := readInterp(prog)
			return Result{}, &Error{Path: path,
				Reason: "dynamically linked (program interpreter " + interp + neededSuffix(ef) + ")",
				Fix:    staticFix}
		}
	}
	needed, err := ef.DynString(elf.DT_NEEDED)
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		// A static binary may simply have no dynamic section.
		if ef.Section(".dynamic") != nil {
			return Result{}, &Error{Path: path, Reason: "unreadable dynamic section: " + err.Error(), Fix: "rebuild the binary"}
		}
	}
	if len(needed) > 0 {
		return Result{}, &Error{Path: path, Reason: "needs shared libraries " + strings.Join(needed, ", "), Fix: staticFix}
	}
	if ef.Type == elf.ET_DYN && !hasEntry(ef) {
		return Result{}, &Error{Path: path, Reason: "a shared library, not an executable", Fix: "point at the binary target, not a cdylib"}
	}
	linkage := Static
	if ef.Type == elf.ET_DYN {
		linkage = StaticPIE
	}
	res := Result{Path: path, Platform: p, Linkage: linkage, Alloc: AllocReport{Allocator: AllocUnknown}}
	// Unreadable sections leave libc and allocator unknown, as a binary
	// without evidence would.
	if ev, err := scanEvidence(ef, data); err == nil {
		res.Libc = detectLibc(ef, ev)
		res.Alloc = detectAllocator(ef, ev)
	}
	return res, nil
}

// readBinary reads the whole file at path: verify looks at most of it.
func readBinary(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{Path: path, Reason: "binary not found", Fix: "build it first or check the binary name and dist directory"}
		}
		return nil, &Error{Path: path, Reason: "cannot open binary: " + err.Error(), Fix: "check the file's permissions"}
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		return nil, &Error{Path: path, Reason: "is a directory, not a binary", Fix: "point at the executable file"}
	}
	var buf bytes.Buffer
	if err == nil && st.Size() > 0 {
		buf.Grow(int(st.Size()) + 1)
	}
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, &Error{Path: path, Reason: "cannot read binary: " + err.Error(), Fix: "check the file's permissions"}
	}
	return buf.Bytes(), nil
}

// hasEntry separates a static-pie executable from a shared library: both are
// ET_DYN, but only an executable without an interpreter has a non-zero entry
// and a PT_DYNAMIC-free or DT_FLAGS_1 PIE marking. The entry point is the
// signal that holds for both glibc and musl static-pie.
func hasEntry(ef *elf.File) bool {
	if ef.Entry == 0 {
		return false
	}
	flags, err := ef.DynValue(elf.DT_FLAGS_1)
	if err == nil && len(flags) > 0 && flags[0]&uint64(elf.DF_1_PIE) != 0 {
		return true
	}
	soname, _ := ef.DynString(elf.DT_SONAME)
	return len(soname) == 0
}

func neededSuffix(ef *elf.File) string {
	needed, _ := ef.DynString(elf.DT_NEEDED)
	if len(needed) == 0 {
		return ""
	}
	return ", needs " + strings.Join(needed, ", ")
}

func readInterp(prog *elf.Prog) string {
	buf := make([]byte, prog.Filesz)
	if _, err := prog.ReadAt(buf, 0); err != nil {
		return "(unreadable)"
	}
	return strings.TrimRight(string(buf), "\x00")
}

func describeNonELF(data []byte) string {
	head := data[:min(4, len(data))]
	n := len(head)
	switch {
	case n == 0:
		return "empty file"
	case strings.HasPrefix(string(head), "#!"):
		return "a script"
	case string(head) == "\xcf\xfa\xed\xfe" || string(head) == "\xce\xfa\xed\xfe":
		return "a Mach-O binary"
	case strings.HasPrefix(string(head), "MZ"):
		return "a Windows PE binary"
	}
	return fmt.Sprintf("starts with % x", head)
}
