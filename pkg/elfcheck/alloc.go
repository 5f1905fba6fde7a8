package elfcheck

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
)

// Allocator names the memory allocator that serves a binary's heap.
type Allocator string

const (
	// AllocMusl is musl's malloc (mallocng, musl >= 1.2.1): one global
	// lock, slow for multi-threaded allocation-heavy programs.
	AllocMusl Allocator = "musl"
	// AllocGlibc is glibc's malloc (ptmalloc) in a static glibc binary.
	AllocGlibc Allocator = "glibc"
	// AllocMimalloc is mimalloc linked in (the mimalloc crate or its C API).
	AllocMimalloc Allocator = "mimalloc"
	// AllocJemalloc is jemalloc linked in (jemalloc-sys, tikv-jemalloc-sys).
	AllocJemalloc Allocator = "jemalloc"
	// AllocGo is the Go runtime's allocator (a Go program, no libc).
	AllocGo Allocator = "go"
	// AllocUnknown: no allocator this package knows left a mark.
	AllocUnknown Allocator = "unknown"
)

// Describe is the allocator's name in messages.
func (a Allocator) Describe() string {
	switch a {
	case AllocMusl:
		return "musl malloc (mallocng)"
	case AllocGlibc:
		return "glibc malloc"
	case AllocGo:
		return "Go runtime"
	case "":
		return string(AllocUnknown)
	}
	return string(a)
}

// AllocReport is what detectAllocator found.
type AllocReport struct {
	Allocator Allocator
	// MultiThreaded: the binary can start threads (it links Rust std's
	// thread spawn, or pthread_create when symbols are there).
	MultiThreaded bool
	// Symbols: the binary has a symbol table and the answer comes from it;
	// otherwise from strings and data in its loaded sections.
	Symbols bool
}

// ParseRequiredAllocator parses the allocator a build requires
// (the require-allocator option): empty (nothing required), mimalloc or
// jemalloc. The others are not a choice a Rust program makes for speed.
func ParseRequiredAllocator(s string) (Allocator, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "mimalloc":
		return AllocMimalloc, nil
	case "jemalloc":
		return AllocJemalloc, nil
	}
	return "", fmt.Errorf("unknown allocator %q: use mimalloc or jemalloc (or leave it unset to only warn)", s)
}

// Evidence, in the order it decides. Each C allocator prints its own
// message prefix on errors, so its strings survive stripping:
//   - mimalloc: "mimalloc: error: " / "mimalloc: warning: " (_mi_error_message)
//   - jemalloc: "<jemalloc>: " (malloc_printf and its option parser)
//   - glibc: malloc's corruption checks ("free(): invalid pointer",
//     "malloc_consolidate(): ..."), in every static glibc binary.
//   - musl mallocng holds no string at all, but its size-class table
//     (48 uint16 values from 1 to 8191, `__malloc_size_classes`) sits in
//     .rodata whether stripped or not.
//   - std::thread::spawn (and thread::scope's spawn) panics with "failed
//     to spawn thread": the string is linked exactly when the program can
//     spawn a thread (the linker drops it with the unused function).
var (
	mimallocMarkers = [][]byte{[]byte("mimalloc: error: "), []byte("mimalloc: warning: ")}
	jemallocMarkers = [][]byte{[]byte("<jemalloc>: ")}
	glibcMallocMark = [][]byte{[]byte("free(): invalid pointer"), []byte("malloc_consolidate(): ")}
	threadMarkers   = [][]byte{[]byte("failed to spawn thread")}
)

// mallocngSizeClasses is musl's mallocng size_classes[] (src/malloc/mallocng/malloc.c).
var mallocngSizeClasses = []uint16{
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 18, 20, 25, 31,
	36, 42, 50, 63, 72, 84, 102, 127, 146, 170, 204, 255, 292, 340, 409, 511,
	584, 682, 818, 1023, 1169, 1364, 1637, 2047, 2340, 2730, 3276, 4095, 4680, 5460, 6552, 8191,
}

// detectAllocator names the allocator linked into the ELF file ef and
// whether the program can start threads.
//
// With a symbol table (the strip option off) the answer is exact:
// mimalloc's and jemalloc's functions, musl's __malloc_alloc_meta, glibc's
// _int_malloc; and Rust's allocator shim says whether a #[global_allocator]
// is set at all (__rg_alloc) or std's System allocator serves Rust
// (__rdl_alloc only), so mimalloc linked by a C dependency while Rust uses
// libc malloc is reported as the libc's malloc. Multi-threaded means
// pthread_create is defined.
//
// Stripped binaries (the kit's default) keep no symbols, so the answer
// comes from the evidence in loaded sections listed above: mimalloc,
// jemalloc, glibc's malloc and musl's mallocng are all found, and a Rust
// program that calls std::thread::spawn is multi-threaded. What a stripped
// binary cannot tell: whether a linked mimalloc/jemalloc is the global
// allocator or only used by C code (it is reported as the allocator);
// allocators without such marks (pure-Rust allocators, musl < 1.2.1's
// oldmalloc; on musl the first then shows as musl's malloc, which is still
// linked for libc's own use); and threads a C program or library starts
// with pthread_create directly.
func detectAllocator(ef *elf.File, ev evidence) AllocReport {
	if ef.Section(".go.buildinfo") != nil {
		return AllocReport{Allocator: AllocGo, MultiThreaded: true}
	}
	if syms, err := ef.Symbols(); err == nil && len(syms) > 0 {
		if r, ok := allocFromSymbols(syms); ok {
			return r
		}
	}
	return allocFromContents(ev)
}

// allocFromSymbols decides from the symbol table; ok is false when it
// holds none of the names (then the contents decide).
func allocFromSymbols(syms []elf.Symbol) (AllocReport, bool) {
	defined := make(map[string]bool, len(syms))
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && s.Name != "" {
			defined[s.Name] = true
		}
	}
	r := AllocReport{Symbols: true, MultiThreaded: defined["pthread_create"] || defined["__pthread_create"]}
	anyOf := func(names ...string) bool {
		for _, n := range names {
			if defined[n] {
				return true
			}
		}
		return false
	}
	mi := anyOf("mi_malloc", "mi_malloc_aligned", "mi_free", "_mi_malloc_generic")
	je := anyOf("mallocx", "je_mallocx", "_rjem_mallocx", "_rjem_je_mallocx", "je_malloc_conf", "_rjem_malloc_conf", "malloc_conf")
	var libc Allocator
	switch {
	case anyOf("__malloc_alloc_meta", "__malloc_size_classes"):
		libc = AllocMusl
	case anyOf("_int_malloc", "__libc_malloc"):
		libc = AllocGlibc
	}
	// Rust's allocator shim: __rdl_alloc is std's System allocator, only
	// called when no #[global_allocator] defines __rg_alloc.
	systemOnly := defined["__rdl_alloc"] && !defined["__rg_alloc"]
	switch {
	case systemOnly && libc != "":
		r.Allocator = libc
	case mi && je:
		r.Allocator = AllocUnknown
	case mi:
		r.Allocator = AllocMimalloc
	case je:
		r.Allocator = AllocJemalloc
	case libc != "":
		r.Allocator = libc
	default:
		return r, false
	}
	return r, true
}

// allocFromContents decides from the markers documented on
// detectAllocator, found in the loaded sections by scanEvidence.
func allocFromContents(ev evidence) AllocReport {
	r := AllocReport{MultiThreaded: ev[evThreads]}
	switch {
	case ev[evMimalloc] && ev[evJemalloc]:
		r.Allocator = AllocUnknown
	case ev[evMimalloc]:
		r.Allocator = AllocMimalloc
	case ev[evJemalloc]:
		r.Allocator = AllocJemalloc
	case ev[evGlibcMalloc]:
		r.Allocator = AllocGlibc
	case ev[evMallocng]:
		r.Allocator = AllocMusl
	default:
		r.Allocator = AllocUnknown
	}
	return r
}

// Kinds of evidence, each found by any of its markers.
const (
	evGlibc = iota
	evMimalloc
	evJemalloc
	evGlibcMalloc
	evMallocng
	evThreads
	evKinds
)

// evidence records which kinds of markers a binary's loaded sections hold.
type evidence [evKinds]bool

// scanEvidence looks for every marker of libc and allocator detection in
// one pass over the loaded, file-backed sections of ef, whose file is data.
func scanEvidence(ef *elf.File, data []byte) (evidence, error) {
	table := make([]byte, 2*len(mallocngSizeClasses))
	for i, v := range mallocngSizeClasses {
		ef.ByteOrder.PutUint16(table[2*i:], v)
	}
	var markers [evKinds][][]byte
	markers[evGlibc] = glibcMarkers
	markers[evMimalloc] = mimallocMarkers
	markers[evJemalloc] = jemallocMarkers
	markers[evGlibcMalloc] = glibcMallocMark
	markers[evMallocng] = [][]byte{table}
	markers[evThreads] = threadMarkers
	var ev evidence
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		b, err := sectionBytes(s, data)
		if err != nil {
			return evidence{}, fmt.Errorf("reading section %s: %w", s.Name, err)
		}
		for kind, ms := range markers {
			for _, m := range ms {
				ev[kind] = ev[kind] || bytes.Contains(b, m)
			}
		}
	}
	return ev, nil
}

// sectionBytes is s's contents: a slice of the file when stored as is,
// decompressed otherwise.
func sectionBytes(s *elf.Section, data []byte) ([]byte, error) {
	if s.Flags&elf.SHF_COMPRESSED == 0 && s.Offset <= uint64(len(data)) && s.FileSize <= uint64(len(data))-s.Offset {
		return data[s.Offset : s.Offset+s.FileSize], nil
	}
	return s.Data()
}

// String is the report as verify prints it: "allocator mimalloc,
// multi-threaded".
func (r AllocReport) String() string {
	s := "allocator " + r.Allocator.Describe()
	if r.MultiThreaded {
		s += ", multi-threaded"
	}
	return s
}
