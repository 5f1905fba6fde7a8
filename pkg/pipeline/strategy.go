package pipeline

import (
	"fmt"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Strategies of multi-platform builds.
const (
	// StrategyEmulate builds every platform in one solve, each in a
	// builder of its own architecture (foreign ones under QEMU).
	StrategyEmulate = "emulate"
	// StrategySplit builds each platform on a BuildKit of its own
	// architecture: one platform per run (a native runner per platform,
	// the image pushed by digest for image:merge), or several platforms
	// spread over several BuildKit nodes from one run (split.go).
	StrategySplit = "split"
)

// StrategyCross runs cook and build once, on BuildKit's build platform, and
// compiles every requested platform's triple there with an explicit
// --target and the builder's declared cross toolchain: no emulation.
const StrategyCross = "cross"

// StrategyAuto is the default: cross when the builder image declares it can
// cross-compile to every requested platform, else emulate.
const StrategyAuto = "auto"

// buildPlatform is the platform BuildKit runs the cross stages on
// ($BUILDPLATFORM): its worker's native platform. BuildKit lists the
// worker's platforms without saying which is native, so the host running
// the kit is taken when the worker has it (a local buildkitd, Docker's
// builder), else the worker's only supported platform. The cross stages
// check $BUILDPLATFORM against this and stop with a clear message if
// BuildKit disagrees.
func buildPlatform(workerPlatforms []string, host platform.Platform) (platform.Platform, bool) {
	var supported []platform.Platform
	for _, s := range workerPlatforms {
		p, err := platform.Parse(s)
		if err != nil {
			continue
		}
		if host.Arch != "" && p == host {
			return p, true
		}
		supported = append(supported, p)
	}
	if len(workerPlatforms) == 0 && host.Arch != "" {
		return host, true
	}
	if len(supported) == 1 {
		return supported[0], true
	}
	return platform.Platform{}, false
}

// chooseStrategy settles auto and checks that the builder can do what the
// strategy needs. It returns the strategy, the platform cross stages run
// on (cross only) and a sentence saying why, which the caller prints.
func chooseStrategy(c *Config, b *builder.Builder, bp platform.Platform, bpKnown bool, names func(option.Ref) string) (string, platform.Platform, string, error) {
	want := platform.Join(c.Platforms)
	crossReason := func() (string, error) {
		if !bpKnown {
			return "", fmt.Errorf("cannot tell which platform BuildKit builds on (it offers several and none is this host's)")
		}
		if !b.Platforms[bp] {
			return "", fmt.Errorf("builder image %s has no image for the build platform %s (it has %s)", b.Ref, bp, strings.Join(b.Have, ", "))
		}
		d := b.Cross[bp]
		if len(d.Platforms) == 0 {
			return "", fmt.Errorf("builder image %s (%s) declares no cross-compilation (label %s is absent)", b.Ref, bp, builder.LabelCross)
		}
		if miss := d.Missing(c.Platforms); len(miss) > 0 {
			return "", fmt.Errorf("builder image %s (%s) cannot cross-compile to %s (its label %s=%s)", b.Ref, bp, platform.Join(miss), builder.LabelCross, platform.Join(d.Platforms))
		}
		if c.Libc != "" && b.Libc[bp] != "" && c.Libc != b.Libc[bp] {
			return "", option.Errorf("builder image %s (%s) cross-compiles for libc %s, but %s=%s", b.Ref, bp, b.Libc[bp], option.Env(option.Libc), c.Libc)
		}
		return fmt.Sprintf("builder image %s (%s) declares %s=%s", b.Ref, bp, builder.LabelCross, platform.Join(d.Platforms)), nil
	}
	switch c.Strategy {
	case StrategyCross:
		why, err := crossReason()
		if err != nil {
			return "", bp, "", option.Usagef("%s=cross: %w: use %s=emulate, or a builder image that declares cross-compilation to %s", c.StrategyFrom, err, option.Env(option.Strategy), want)
		}
		return StrategyCross, bp, "chosen by " + c.StrategyFrom + "; " + why, nil
	case StrategyEmulate, StrategySplit:
		if err := b.Require(c.Platforms); err != nil {
			return "", bp, "", err
		}
		return c.Strategy, bp, "chosen by " + c.StrategyFrom, nil
	}
	why, err := crossReason()
	if err == nil {
		return StrategyCross, bp, "default: " + why + ", covering " + want, nil
	}
	if err := b.Require(c.Platforms); err != nil {
		return "", bp, "", err
	}
	why = "default, because " + render(err, names)
	for _, p := range c.Platforms {
		if !bpKnown || p != bp {
			why += "; foreign platforms run under QEMU"
			break
		}
	}
	return StrategyEmulate, bp, why, nil
}

// render is err's text with the options it names spelled by names (the
// mage targets: the knobs), for log lines; nil names keeps Error's.
func render(err error, names func(option.Ref) string) string {
	if names == nil {
		return err.Error()
	}
	return option.Render(err, names)
}
