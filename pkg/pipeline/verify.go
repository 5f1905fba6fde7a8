package pipeline

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// expectedLibc is the C library p's binary must link: the one of the
// triple cargo built it for (the libc setting, else the label of the
// builder image that compiled it: the build platform's when cross
// compiling), so that verify catches a builder whose toolchain links
// another libc than its triple says.
func expectedLibc(c *Config, r *Result, p platform.Platform) elfcheck.Libc {
	libc := c.Libc
	if libc == "" && r.Builder != nil {
		from := p
		if r.Strategy == StrategyCross {
			from = r.BuildPlatform
		}
		libc = r.Builder.Libc[from]
	}
	if libc == "" {
		libc = platform.DefaultLibc
	}
	if libc == "gnu" {
		return elfcheck.Glibc
	}
	return elfcheck.Libc(libc)
}
