package builder

import (
	"regexp"
	"slices"
	"strings"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// ParseBuilderArgs parses the builder arguments (KEY=VALUE,...): build
// arguments the Dockerfile declares. rust:build gives the same list to the
// kit's own builder, so a download mirror set once serves both that and
// image:push.
func ParseBuilderArgs(list string) (map[string]string, error) {
	known, err := muslrustchef.ArgNames()
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	for _, kv := range strings.Split(list, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, option.Usagef("%s: %q is not KEY=VALUE: write e.g. ZIG_BASE_URL=https://mirror.example/zig", option.Env(option.BuilderArgs), kv)
		}
		if !slices.Contains(known, k) {
			return nil, option.Usagef("%s: the builder Dockerfile has no build argument %s: use one of %s", option.Env(option.BuilderArgs), k, strings.Join(known, ", "))
		}
		args[k] = strings.TrimSpace(v)
	}
	return args, nil
}

// DefaultMuslrustImage is the clux/muslrust reference the Dockerfile pins.
func DefaultMuslrustImage() string { return defaultMuslrust }

// The Dockerfile is the single source of its pins; Go reads them from it.
var defaultMuslrust = DockerfileArg("MUSLRUST_IMAGE")

// DockerfileArg is the default value of the builder Dockerfile's ARG name.
func DockerfileArg(name string) string {
	re := regexp.MustCompile(`(?m)^ARG ` + name + `=(\S*)\s*$`)
	m := re.FindSubmatch(muslrustchef.Dockerfile)
	if m == nil {
		return ""
	}
	return strings.Trim(string(m[1]), `"`)
}
