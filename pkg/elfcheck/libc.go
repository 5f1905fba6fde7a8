package elfcheck

import (
	"debug/elf"
	"fmt"
	"path/filepath"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Libc names the C library a static binary carries.
type Libc string

const (
	// Musl: no glibc markers in a binary that is not a Go program. musl
	// leaves no string of its own behind, so it is told by glibc's absence.
	Musl Libc = "musl"
	// Glibc: static glibc always carries its tunables parser
	// ("GLIBC_TUNABLES") and its banner ("GNU C Library").
	Glibc Libc = "glibc"
	// NoLibc: a Go program (it has Go build info and links no C library).
	NoLibc Libc = "none"
)

// glibcMarkers are strings every static glibc binary holds (checked on
// x86_64 and aarch64, stripped and not) and musl binaries do not.
var glibcMarkers = [][]byte{[]byte("GLIBC_TUNABLES"), []byte("GNU C Library")}

func detectLibc(ef *elf.File, ev evidence) Libc {
	if ef.Section(".go.buildinfo") != nil {
		return NoLibc
	}
	if ev[evGlibc] {
		return Glibc
	}
	return Musl
}

// LibcError is a binary linked with another C library than asked for.
type LibcError struct {
	Path     string
	Platform platform.Platform
	Found    Libc
	Want     Libc
}

func (e *LibcError) Error() string { return e.Unwrap().Error() }

// Unwrap is the message as an option error, so that a caller that knows
// the knobs names the libc setting the way its user sets it.
func (e *LibcError) Unwrap() error {
	return option.Errorf("%s %s is a static %s binary, expected %s: %s; build for %s with a builder whose toolchain links %s, or set the libc to %s (%s=%s) if %s is intended",
		e.Platform, filepath.Base(e.Path), e.Found, e.Want, e.Path, e.Platform.Triple(configLibc(e.Want)), e.Want,
		configLibc(e.Found), option.Env(option.Libc), configLibc(e.Found), e.Found)
}

// configLibc maps a libc name to the kit's libc setting (musl or gnu).
func configLibc(l Libc) string {
	if l == Glibc {
		return "gnu"
	}
	return string(l)
}

// ParseLibc accepts the kit's libc settings (musl, gnu) and glibc.
func ParseLibc(s string) (Libc, error) {
	switch s {
	case "":
		return "", nil
	case "musl":
		return Musl, nil
	case "gnu", "glibc":
		return Glibc, nil
	}
	return "", fmt.Errorf("unknown libc %q: use musl or gnu", s)
}

// VerifyLibc is Verify plus the C library: when want is not empty, a
// binary linking another libc fails with a *LibcError. A Go program
// (NoLibc) links none and passes.
func VerifyLibc(path string, p platform.Platform, want Libc) (Result, error) {
	res, err := Verify(path, p)
	if err != nil {
		return res, err
	}
	if want == "" || res.Libc == NoLibc || res.Libc == want {
		return res, nil
	}
	return res, &LibcError{Path: path, Platform: p, Found: res.Libc, Want: want}
}
