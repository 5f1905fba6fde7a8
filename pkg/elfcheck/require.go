package elfcheck

import (
	"path/filepath"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// AllocatorReadme is the README section the warning points to.
const AllocatorReadme = `README "Allocator on musl"`

// AllocatorWarning is the advice for a multi-threaded binary on musl's
// malloc, nil for every other binary: musl's allocator serialises threads,
// and the fix is one dependency and two lines of Rust. It is an option
// error (not a failure) so that the caller names the knob that turns it
// into one.
func AllocatorWarning(res Result) error {
	if res.Alloc.Allocator != AllocMusl || !res.Alloc.MultiThreaded {
		return nil
	}
	return option.Errorf("WARNING: %s %s is multi-threaded and allocates with %s, which takes one global lock: "+
		"add a global allocator to the binary's Cargo.toml (mimalloc = \"0.1\") and main.rs "+
		"(#[global_allocator] static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;), "+
		"or jemalloc (tikv-jemallocator); see %s for the measured effect; "+
		"%s=mimalloc makes this a failure",
		res.Platform, filepath.Base(res.Path), AllocMusl.Describe(), AllocatorReadme, option.Env(option.RequireAllocator))
}

// AllocatorError is a binary whose allocator is not the required one.
type AllocatorError struct {
	Path     string
	Platform platform.Platform
	Found    Allocator
	Want     Allocator
	Stripped bool
}

func (e *AllocatorError) Error() string { return e.Unwrap().Error() }

// Unwrap is the message as an option error that names the requirement's
// knob (see LibcError.Unwrap).
func (e *AllocatorError) Unwrap() error {
	found := e.Found.Describe()
	if e.Found == AllocUnknown && e.Stripped {
		found = "an allocator that leaves no mark in a stripped binary"
	}
	crate := map[Allocator]string{AllocMimalloc: `mimalloc = "0.1" and #[global_allocator] static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;`,
		AllocJemalloc: `tikv-jemallocator = "0.5" and #[global_allocator] static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;`}[e.Want]
	return option.Errorf("%s %s allocates with %s, but %s=%s: %s; add %s to the binary's Cargo.toml and main.rs (see %s), or unset %s",
		e.Platform, filepath.Base(e.Path), found, option.Env(option.RequireAllocator), e.Want, e.Path, crate, AllocatorReadme,
		option.Env(option.RequireAllocator))
}

// RequireAllocator fails with an *AllocatorError unless res's allocator is
// want; an empty want requires nothing.
func RequireAllocator(res Result, want Allocator) error {
	if want == "" || res.Alloc.Allocator == want {
		return nil
	}
	return &AllocatorError{Path: res.Path, Platform: res.Platform, Found: res.Alloc.Allocator, Want: want, Stripped: !res.Alloc.Symbols}
}
