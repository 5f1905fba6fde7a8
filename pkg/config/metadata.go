package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// MetadataKey is the table name under [workspace.metadata] and
// [package.metadata] that the kit reads.
const MetadataKey = "muslrust-chef"

// Metadata are the defaults a workspace declares in Cargo.toml:
//
//	[workspace.metadata.muslrust-chef]   # root Cargo.toml
//	[package.metadata.muslrust-chef]     # the binary's package; wins per key
//	image = "ghcr.io/org/app"
//	platforms = ["linux/amd64", "linux/arm64"]   # or "linux/amd64,linux/arm64"
//	base-image = "scratch"
//	features = ["tls"]                           # or "tls,metrics"
//	profile = "release"
//	strategy = "cross"                           # or "emulate", "split", "auto"
//
// Flags and MUSLRUST_CHEF_* variables override every key.
type Metadata struct {
	Image     string
	Platforms string // comma-separated
	BaseImage string
	Features  string // comma-separated
	Profile   string
	Strategy  string
	// StrategyFrom is the section Strategy came from: "workspace" or
	// "package" (messages name it).
	StrategyFrom string
}

var metadataKeys = []string{"base-image", "features", "image", "platforms", "profile", "strategy"}

// ReadMetadata reads [workspace.metadata.muslrust-chef] from the root
// manifest and [package.metadata.muslrust-chef] from packageManifest (a
// path relative to the workspace, or empty); package keys win.
func ReadMetadata(workspace, packageManifest string) (Metadata, error) {
	var md Metadata
	if err := md.merge(filepath.Join(workspace, "Cargo.toml"), "workspace"); err != nil {
		return md, err
	}
	if packageManifest != "" {
		if err := md.merge(filepath.Join(workspace, filepath.FromSlash(packageManifest)), "package"); err != nil {
			return md, err
		}
	}
	return md, nil
}

func (md *Metadata) merge(file, section string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return option.Usagef("%s does not exist; point %s (or -%s) at the directory holding the root Cargo.toml", file, Workspace.Env, Workspace.Flag)
		}
		return err
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		// The parser's message spans lines (it quotes the line at fault).
		return option.Usagef("%s is not valid TOML: %s", file, oneline.Err(err))
	}
	sec, _ := doc[section].(map[string]any)
	meta, _ := sec["metadata"].(map[string]any)
	raw, ok := meta[MetadataKey]
	if !ok {
		return nil
	}
	where := fmt.Sprintf("%s: [%s.metadata.%s]", file, section, MetadataKey)
	tbl, ok := raw.(map[string]any)
	if !ok {
		return option.Usagef("%s must be a table", where)
	}
	keys := make([]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var dst *string
		list := false
		switch k {
		case "image":
			dst = &md.Image
		case "base-image":
			dst = &md.BaseImage
		case "profile":
			dst = &md.Profile
		case "strategy":
			dst = &md.Strategy
			md.StrategyFrom = section
		case "platforms":
			dst, list = &md.Platforms, true
		case "features":
			dst, list = &md.Features, true
		default:
			return option.Usagef("%s has unknown key %q: use %s", where, k, strings.Join(metadataKeys, ", "))
		}
		v, err := metadataValue(tbl[k], list)
		if err != nil {
			return option.Usagef("%s: %s %w", where, k, err)
		}
		*dst = v
	}
	return nil
}

func metadataValue(v any, list bool) (string, error) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case []any:
		if !list {
			return "", errors.New("must be a string")
		}
		items := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", errors.New("must be a list of strings")
			}
			items = append(items, strings.TrimSpace(s))
		}
		return strings.Join(items, ","), nil
	}
	if list {
		return "", errors.New("must be a string or a list of strings")
	}
	return "", errors.New("must be a string")
}
