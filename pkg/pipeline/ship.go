package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

// SlimConfig is what rust:slim publishes: binaries already in dist.
type SlimConfig struct {
	// Bin is the binary's name; empty infers it from dist (InferBin).
	Bin       string
	Platforms []platform.Platform
	Dist      string
	// Base is the runtime base; empty is slim.DefaultBase.
	Base   string
	Output publish.Output
	Image  string
	Tags   []string
}

// Slim verifies the static binaries in dist/<os>_<arch>/<bin>, builds the
// slim image of them and publishes it: rust:slim, for binaries built
// elsewhere. Options as for Build (labels, created, host, registry, slim,
// stdout, log, GitHub output).
func Slim(ctx context.Context, c SlimConfig, opts ...Option) (publish.Result, error) {
	o := newOptions(opts)
	ps, err := publish.PlatformsForOutput(c.Platforms, c.Output, o.host)
	if err != nil {
		return publish.Result{}, err
	}
	if c.Bin == "" {
		if c.Bin, err = InferBin(c.Dist, ps); err != nil {
			return publish.Result{}, err
		}
	}
	// Every binary is verified before the base is read: a bad slot fails
	// without network traffic.
	for _, p := range ps {
		if _, err := elfcheck.Verify(filepath.Join(c.Dist, p.DistDir(), c.Bin), p); err != nil {
			return publish.Result{}, err
		}
	}
	img, err := slimImage(ctx, slimIn{Bin: c.Bin, Dist: c.Dist, Platforms: ps, Image: c.Image, Tags: c.Tags,
		Output: c.Output, Base: c.Base, Labels: o.labels, Created: o.created, Registry: o.registry, Log: o.log})
	if err != nil {
		return publish.Result{}, err
	}
	return publishImage(ctx, publishIn{Index: img.Index, Tags: img.Tags, Output: c.Output, Host: o.host,
		Registry: o.registry, Stdout: o.stdout, Log: o.log, GitHubOutput: o.gitHubOutput})
}

// InferBin finds the binary name when it was not given: the one file name
// present in every platform's dist slot, leaving out the records a build
// writes beside its binary (<bin>.cdx.json, <bin>.spdx.json,
// <bin>.provenance.json) and dot files (the build step's .muslrust-chef/).
func InferBin(dist string, ps []platform.Platform) (string, error) {
	var common map[string]bool
	for _, p := range ps {
		dir := filepath.Join(dist, p.DistDir())
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", option.Errorf("dist slot %s for %s is missing: build the binaries first or set %s", dir, p, option.Env(option.Dist))
		}
		names := map[string]bool{}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				names[e.Name()] = true
			}
		}
		if common == nil {
			common = names
			continue
		}
		for n := range common {
			if !names[n] {
				delete(common, n)
			}
		}
	}
	var found []string
	for n := range common {
		if !isRecordOf(n, common) {
			found = append(found, n)
		}
	}
	sort.Strings(found)
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", option.Errorf("no binary found in every slot of %s (%s): set %s", dist, platform.Join(ps), option.Env(option.Bin))
	}
	return "", option.Usagef("several binaries in %s (%s): set %s to one of them", dist, strings.Join(found, ", "), option.Env(option.Bin))
}

// isRecordOf says whether n is the SBOM or provenance file of another name
// in names.
func isRecordOf(n string, names map[string]bool) bool {
	for m := range names {
		cdx, spdx := sbom.FileNames(m)
		if m != n && (n == cdx || n == spdx || n == provenance.FileName(m)) {
			return true
		}
	}
	return false
}
