package builderimage

import (
	"regexp"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The Dockerfile is the single source of its pins; Go reads them from it.
var defaultChefVersion = builder.DockerfileArg("CARGO_CHEF_VERSION")

// CargoChef selects the cargo-chef release baked into the image.
type CargoChef struct {
	// Version is a release such as 0.1.78; "none" skips cargo-chef; empty
	// keeps the Dockerfile's pin.
	Version string
	// SHA256 maps an architecture (amd64, arm64) to the checksum of its
	// release asset; required for a version other than the pinned one.
	SHA256 map[string]string
	// BaseURL replaces the GitHub releases download URL (a mirror).
	BaseURL string
}

var hexSum = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseChefSHA256 reads "amd64=<hex>,arm64=<hex>".
func ParseChefSHA256(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		arch, sum, ok := strings.Cut(item, "=")
		p, err := platform.Parse(strings.TrimSpace(arch))
		sum = strings.ToLower(strings.TrimSpace(sum))
		if !ok || err != nil || !hexSum.MatchString(sum) {
			return nil, option.Usagef("%s: %q is not arch=<64 hex digits>: write amd64=<sha256>,arm64=<sha256>", option.Env(option.CargoChefSHA256), item)
		}
		out[p.Arch] = sum
	}
	return out, nil
}

// buildArgs checks the selection against the platforms being built and
// returns the Dockerfile's build args for it.
func (c CargoChef) buildArgs(platforms []platform.Platform) (map[string]string, error) {
	args := map[string]string{}
	if c.BaseURL != "" {
		args["CARGO_CHEF_BASE_URL"] = c.BaseURL
	}
	v := strings.TrimPrefix(strings.TrimSpace(c.Version), "v")
	switch {
	case strings.EqualFold(v, "none") || strings.EqualFold(v, "off"):
		args["CARGO_CHEF_VERSION"] = ""
		return args, nil
	case v == "":
		v = defaultChefVersion
	}
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) {
		return nil, option.Usagef("cargo-chef version %q is not X.Y.Z: use a release number such as %s, or none", c.Version, defaultChefVersion)
	}
	args["CARGO_CHEF_VERSION"] = v
	for arch, sum := range c.SHA256 {
		args["CARGO_CHEF_SHA256_"+strings.ToUpper(arch)] = sum
	}
	if v != defaultChefVersion {
		// The Dockerfile's checksums belong to its pinned version: another
		// version must bring its own for every platform built.
		for _, p := range platforms {
			if c.SHA256[p.Arch] == "" {
				return nil, option.Usagef("cargo-chef %s needs the sha256 of its %s release asset (the Dockerfile's checksums are for %s): set %s=amd64=<sha256>,arm64=<sha256>",
					v, p, defaultChefVersion, option.Env(option.CargoChefSHA256))
			}
		}
	}
	return args, nil
}
