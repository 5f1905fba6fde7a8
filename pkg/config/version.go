package config

import "runtime/debug"

// kitModule is the kit's module path, as a magefile requires it.
const kitModule = "github.com/muslrust-chef/muslrust-chef"

// KitVersion is the kit's version as the Go toolchain recorded it in the
// running binary, for the provenance (runDetails.builder.version) and the
// SBOMs' tool entry: the version of the kit module a magefile requires
// ("v1.4.0", or a pseudo-version for a commit), or the kit's own checkout's
// version when it is the main module (Go stamps it from git, "+dirty" for
// uncommitted changes). "devel" when the binary records none: a kit
// replaced by a local directory, a test binary.
func KitVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return kitVersion(bi)
}

func kitVersion(bi *debug.BuildInfo) string {
	m, main := &bi.Main, true
	if m.Path != kitModule {
		main = false
		m = nil
		for _, d := range bi.Deps {
			if d.Path == kitModule {
				m = d
				break
			}
		}
	}
	if m == nil {
		return "devel"
	}
	if m.Replace != nil {
		m = m.Replace
	}
	if v := m.Version; v != "" && v != "(devel)" {
		return v
	}
	// The main module without a stamped version (go build -buildvcs=false
	// keeps the revision out too, then this is plain "devel").
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if !main || rev == "" {
		return "devel"
	}
	v := "devel+" + rev[:min(12, len(rev))]
	if dirty {
		v += "+dirty"
	}
	return v
}
