package standin

import "github.com/muslrust-chef/muslrust-chef/pkg/builder"

// CrossRepository is the cross stand-in's repository under the test registry.
const CrossRepository = "muslrust-chef-test/standin-cross-builder"

// CrossTriple is the foreign triple the cross stand-in compiles for.
const CrossTriple = "aarch64-unknown-linux-gnu"

// CrossCC is the declared C compiler (and linker) for CrossTriple.
const CrossCC = "aarch64-linux-gnu-gcc"

// CrossCrates are the crates testdata/cross needs besides Crates.
var CrossCrates = []string{"librust-cc-dev"}

// CrossToolchain is what the amd64 image adds to compile for aarch64 without
// emulation: the aarch64 Rust standard library of the very same rustc
// version (multiarch, Debian's arm64 package) and Debian's aarch64 gcc
// cross compiler with its glibc (static libc.a for +crt-static).
var CrossToolchain = []string{"libstd-rust-dev:arm64", "gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross", "binutils-aarch64-linux-gnu"}

// CrossLabels is the amd64 image's declaration: it compiles for both
// platforms, with the aarch64 triple's C compiler, archiver and linker
// named explicitly, the way a production builder declares zig's.
func CrossLabels() map[string]string {
	p := builder.LabelCrossPrefix + CrossTriple + "."
	return map[string]string{
		builder.LabelCross:     "linux/amd64,linux/arm64",
		p + "linker":           CrossCC,
		p + "cc":               CrossCC,
		p + "ar":               "aarch64-linux-gnu-ar",
		builder.LabelRustFlags: CrtStatic,
	}
}

// CrossImages are the cross stand-in's images: amd64 with the aarch64
// cross toolchain and the declaration, arm64 as the plain stand-in plus
// CrossCrates (for the emulated comparison on the same workspace).
func CrossImages() []ImageSpec {
	base := append(append(append([]string{}, Toolchain...), Crates...), CrossCrates...)
	return []ImageSpec{
		{Arch: "amd64", Packages: append(append([]string{}, base...), CrossToolchain...), Foreign: []string{"arm64"}, Labels: CrossLabels()},
		{Arch: "arm64", Packages: base},
	}
}
