// Package config resolves the kit's knobs: a target flag wins over the
// MUSLRUST_CHEF_* environment variable, which wins over the default. Each
// knob carries its own documentation so help text and README stay in step.
package config

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Knob is one setting with its flag name, environment variable and default.
type Knob struct {
	Flag    string
	Env     string
	Default string
	Help    string
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
		return false, fmt.Errorf("%s=%q is not a boolean: use true or false", k.Env, s)
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
	Bin = Knob{Flag: "bin", Env: "MUSLRUST_CHEF_BIN",
		Help: "binary (cargo [[bin]]) name; default: the only file name present in every dist slot"}
	Platforms = Knob{Flag: "platforms", Env: "MUSLRUST_CHEF_PLATFORMS", Default: "linux/amd64,linux/arm64",
		Help: "comma-separated platforms: linux/amd64, linux/arm64 (amd64, arm64, linux/arm64/v8 accepted)"}
	Dist = Knob{Flag: "dist", Env: "MUSLRUST_CHEF_DIST", Default: "dist",
		Help: "directory holding <os>_<arch>/<bin> per platform"}
	BaseImage = Knob{Flag: "base", Env: "MUSLRUST_CHEF_BASE_IMAGE",
		Help: "runtime base image reference, or scratch; default: chainguard/static pinned by digest"}
	Output = Knob{Flag: "output", Env: "MUSLRUST_CHEF_OUTPUT", Default: "registry",
		Help: "where the image goes: registry, oci:DIR, tar:FILE (one platform) or docker (host platform)"}
	Image = Knob{Flag: "image", Env: "MUSLRUST_CHEF_IMAGE",
		Help: "image reference repo[:tag]; required for registry, default <bin>:latest otherwise"}
	Tags = Knob{Flag: "tags", Env: "MUSLRUST_CHEF_TAGS",
		Help: "comma-separated extra tags in the image's repository"}
	Source = Knob{Flag: "source", Env: "MUSLRUST_CHEF_SOURCE",
		Help: "org.opencontainers.image.source label; default: the GitHub repository URL in Actions"}
	Revision = Knob{Flag: "revision", Env: "MUSLRUST_CHEF_REVISION",
		Help: "org.opencontainers.image.revision label; default: GITHUB_SHA or git rev-parse HEAD"}
	Version = Knob{Flag: "version", Env: "MUSLRUST_CHEF_VERSION",
		Help: "org.opencontainers.image.version label; default: the image tag unless it is latest"}
	Workspace = Knob{Flag: "workspace", Env: "MUSLRUST_CHEF_WORKSPACE", Default: ".",
		Help: "directory of the workspace's root Cargo.toml"}
	PlanDir = Knob{Flag: "planDir", Env: "MUSLRUST_CHEF_PLAN_DIR",
		Help: "where recipe.json and skeleton/ go; default target/muslrust-chef under the workspace"}
	SourceDateEpoch = Knob{Env: "SOURCE_DATE_EPOCH", Default: "0",
		Help: "Unix time used for file mtimes and the created timestamp (reproducible digests)"}
)

// Epoch parses SOURCE_DATE_EPOCH.
func Epoch() (time.Time, error) {
	s := SourceDateEpoch.Value(nil)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix timestamp: use seconds since 1970, e.g. $(git log -1 --format=%%ct)", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
