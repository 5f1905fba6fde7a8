// Package platform maps container platforms (linux/amd64, linux/arm64) to the
// Rust target triple, ELF machine and dist directory that belong to them.
package platform

import (
	"debug/elf"
	"fmt"
	"runtime"
	"sort"
	"strings"
)

// Default is the platform list used when nothing else is configured.
const Default = "linux/amd64,linux/arm64"

// DefaultLibc is the libc half of the Rust triple in production builds.
const DefaultLibc = "musl"

// Platform is one supported container platform.
type Platform struct {
	OS      string // always "linux"
	Arch    string // "amd64" or "arm64"
	Variant string // "v8" for arm64, empty for amd64
}

type archInfo struct {
	rustArch string
	machine  elf.Machine
	variant  string
}

var supported = map[string]archInfo{
	"amd64": {rustArch: "x86_64", machine: elf.EM_X86_64},
	"arm64": {rustArch: "aarch64", machine: elf.EM_AARCH64, variant: "v8"},
}

// aliases lets users write the architecture the way Rust, uname or Docker spell it.
var aliases = map[string]string{
	"x86_64":  "amd64",
	"x86-64":  "amd64",
	"aarch64": "arm64",
}

// Supported lists the supported platforms, for error messages and help text.
func Supported() string { return "linux/amd64, linux/arm64" }

// String returns the OCI form, for example "linux/amd64".
func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Triple returns the Rust target triple for the given libc ("musl" or "gnu");
// an empty libc means DefaultLibc.
func (p Platform) Triple(libc string) string {
	if libc == "" {
		libc = DefaultLibc
	}
	return supported[p.Arch].rustArch + "-unknown-linux-" + libc
}

// RustArch returns the architecture as Rust and ELF tools name it (x86_64, aarch64).
func (p Platform) RustArch() string { return supported[p.Arch].rustArch }

// Machine returns the ELF machine a binary for this platform must have.
func (p Platform) Machine() elf.Machine { return supported[p.Arch].machine }

// DistDir returns the directory name under dist/ for this platform, "linux_amd64".
func (p Platform) DistDir() string { return p.OS + "_" + p.Arch }

// Parse reads one platform: "linux/amd64", "amd64", "linux/arm64/v8", "arm64".
func Parse(s string) (Platform, error) {
	raw := s
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Platform{}, fmt.Errorf("empty platform: use one of %s", Supported())
	}
	parts := strings.Split(s, "/")
	osName, arch, variant := "linux", "", ""
	switch len(parts) {
	case 1:
		arch = parts[0]
	case 2:
		osName, arch = parts[0], parts[1]
	case 3:
		osName, arch, variant = parts[0], parts[1], parts[2]
	default:
		return Platform{}, unsupported(raw)
	}
	if a, ok := aliases[arch]; ok {
		arch = a
	}
	info, ok := supported[arch]
	if osName != "linux" || !ok || (variant != "" && variant != info.variant) {
		return Platform{}, unsupported(raw)
	}
	return Platform{OS: osName, Arch: arch, Variant: info.variant}, nil
}

func unsupported(s string) error {
	return fmt.Errorf("unsupported platform %q: use one of %s (comma-separated)", strings.TrimSpace(s), Supported())
}

// ParseList reads a comma-separated platform list, dropping duplicates and
// returning the platforms in a stable order (amd64 before arm64).
func ParseList(s string) ([]Platform, error) {
	seen := map[string]Platform{}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		p, err := Parse(item)
		if err != nil {
			return nil, err
		}
		seen[p.String()] = p
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("no platform given: use one of %s", Supported())
	}
	out := make([]Platform, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// Join formats platforms back into the comma-separated form ParseList reads.
func Join(ps []Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return strings.Join(names, ",")
}

// Host returns the platform of the machine running this code, if supported.
func Host() (Platform, error) {
	return Parse(runtime.GOARCH)
}

// ForMachine returns the platform whose binaries have the given ELF machine.
func ForMachine(m elf.Machine) (Platform, bool) {
	for arch, info := range supported {
		if info.machine == m {
			return Platform{OS: "linux", Arch: arch, Variant: info.variant}, true
		}
	}
	return Platform{}, false
}

// Triples lists every Rust target triple the kit builds (each supported
// architecture with each supported libc), sorted: the only triples that
// may reach a cargo command line.
func Triples() []string {
	var out []string
	for _, a := range supported {
		for _, libc := range []string{"musl", "gnu"} {
			out = append(out, a.rustArch+"-unknown-linux-"+libc)
		}
	}
	sort.Strings(out)
	return out
}

// Libc validates the libc half of a triple.
func Libc(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return DefaultLibc, nil
	case "musl", "gnu":
		return s, nil
	}
	return "", fmt.Errorf("unsupported libc %q: use musl (production) or gnu (static glibc, as the tests' stand-in builder)", s)
}
