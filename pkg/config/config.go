// Package config resolves the kit's knobs: a target flag wins over the
// MUSLRUST_CHEF_* environment variable, which wins over the default. It
// also names the knobs in the libraries' option errors (Explain): the
// libraries take typed options and never read the environment.
package config

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Knob is one setting with its flag name, environment variable and default.
// The flag name is the target parameter's ("-output" in messages).
type Knob struct {
	Flag    string
	Env     string
	Default string
	// DeprecatedEnv is a former name still read, after Env, with a
	// warning on standard error, for one release.
	DeprecatedEnv string
}

// Value resolves the knob: flag if given, else the environment, else Default.
func (k Knob) Value(flag *string) string {
	if flag != nil {
		return strings.TrimSpace(*flag)
	}
	if v, ok := os.LookupEnv(k.Env); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	if k.DeprecatedEnv != "" {
		if v, ok := os.LookupEnv(k.DeprecatedEnv); ok && strings.TrimSpace(v) != "" {
			fmt.Fprintf(deprecationOut, "warning: %s is deprecated here: use %s (the old name stops working in the next release)\n", k.DeprecatedEnv, k.Env)
			return strings.TrimSpace(v)
		}
	}
	return k.Default
}

// deprecationOut receives deprecation warnings (tests swap it).
var deprecationOut io.Writer = os.Stderr

// Bool resolves a boolean knob, accepting what strconv.ParseBool accepts.
func (k Knob) Bool(flag *bool) (bool, error) {
	if flag != nil {
		return *flag, nil
	}
	s := k.Value(nil)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, option.Usagef("%s=%q is not a boolean: use true or false", k.Env, s)
	}
	return b, nil
}

// List splits a comma-separated value, trimming blanks.
func List(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// The knobs shared by the rust:* targets. Environment names are a contract.
var (
	// Bin: binary (cargo [[bin]]) name; default: the only file name present in every dist slot.
	Bin = Knob{Flag: "bin", Env: "MUSLRUST_CHEF_BIN"}
	// Platforms: comma-separated platforms: linux/amd64, linux/arm64 (amd64, arm64, linux/arm64/v8 accepted).
	Platforms = Knob{Flag: "platforms", Env: "MUSLRUST_CHEF_PLATFORMS", Default: "linux/amd64,linux/arm64"}
	// Dist: directory holding <os>_<arch>/<bin> per platform.
	Dist = Knob{Flag: "dist", Env: "MUSLRUST_CHEF_DIST", Default: "dist"}
	// BaseImage: runtime base image reference, or scratch; default: chainguard/static pinned by digest.
	BaseImage = Knob{Flag: "base", Env: "MUSLRUST_CHEF_BASE_IMAGE"}
	// Output: where the image goes: registry, oci:DIR, tar:FILE (one platform) or docker (host platform).
	Output = Knob{Flag: "output", Env: "MUSLRUST_CHEF_OUTPUT", Default: "registry"}
	// Image: image reference repo[:tag]; required for registry, default <bin>:latest otherwise.
	Image = Knob{Flag: "image", Env: "MUSLRUST_CHEF_IMAGE"}
	// Tags: comma-separated extra tags in the image's repository.
	Tags = Knob{Flag: "tags", Env: "MUSLRUST_CHEF_TAGS"}
	// Source: org.opencontainers.image.source label; default: the GitHub repository URL in Actions.
	Source = Knob{Flag: "source", Env: "MUSLRUST_CHEF_SOURCE"}
	// Revision: org.opencontainers.image.revision label; default: GITHUB_SHA or git rev-parse HEAD.
	Revision = Knob{Flag: "revision", Env: "MUSLRUST_CHEF_REVISION"}
	// Version: org.opencontainers.image.version label; default: the image tag unless it is latest.
	Version = Knob{Flag: "version", Env: "MUSLRUST_CHEF_VERSION"}
	// Workspace: directory of the workspace's root Cargo.toml.
	Workspace = Knob{Flag: "workspace", Env: "MUSLRUST_CHEF_WORKSPACE", Default: "."}
	// PlanDir: where recipe.json and skeleton/ go; default target/muslrust-chef under the workspace.
	PlanDir = Knob{Flag: "planDir", Env: "MUSLRUST_CHEF_PLAN_DIR"}
	// SourceDateEpoch: Unix time used for file mtimes and the created timestamp (reproducible digests).
	SourceDateEpoch = Knob{Env: "SOURCE_DATE_EPOCH", Default: "0"}
)

// Epoch parses SOURCE_DATE_EPOCH.
func Epoch() (time.Time, error) {
	s := SourceDateEpoch.Value(nil)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, option.Usagef("%s=%q is not a Unix timestamp: use seconds since 1970, e.g. $(git log -1 --format=%%ct)", SourceDateEpoch.Env, s)
	}
	return time.Unix(n, 0).UTC(), nil
}
