package builderimage

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Zig replaces the Dockerfile's zig pin: another version, or the same
// from a mirror (the tests serve the npm registry's tarball). Any field
// left empty keeps the Dockerfile's value.
type Zig struct {
	Version string
	// SHA256 and URL per architecture (amd64, arm64): the archive's
	// checksum and its full download URL (.tar.xz or .tar.gz).
	SHA256 map[string]string
	URL    map[string]string
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (z Zig) buildArgs(args map[string]string) error {
	if z.Version != "" {
		args["ZIG_VERSION"] = z.Version
	}
	for _, m := range []struct {
		what string
		vals map[string]string
		arg  string
	}{{"sha256", z.SHA256, "ZIG_SHA256_"}, {"URL", z.URL, "ZIG_URL_"}} {
		keys := make([]string, 0, len(m.vals))
		for k := range m.vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, arch := range keys {
			v := m.vals[arch]
			if arch != "amd64" && arch != "arm64" {
				return fmt.Errorf("zig %s for %q: use amd64 or arm64", m.what, arch)
			}
			if m.what == "sha256" && !sha256Hex.MatchString(v) {
				return fmt.Errorf("zig sha256 for %s %q is not 64 lowercase hex digits", arch, v)
			}
			args[m.arg+strings.ToUpper(arch)] = v
		}
	}
	return nil
}
