package slim

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// Request is everything `rust:slim` needs, already resolved from flags,
// environment and defaults.
type Request struct {
	Bin       string // empty: infer from the dist directory
	Platforms []platform.Platform
	Dist      string
	Base      string // empty: DefaultBase
	Output    publish.Output
	Image     string
	Tags      []string
	Labels    Labels
	Created   time.Time
	Host      platform.Platform
	Stdout    io.Writer // the published reference is printed here
	Log       io.Writer // progress lines
	// RegistryOptions configure reading the base and a registry push
	// (credentials, transports, deadlines).
	RegistryOptions []publish.RegistryOption
	// Options are extra Build options.
	Options []Option
	// GitHubOutput is the file image and digest are appended to
	// ($GITHUB_OUTPUT in Actions); empty writes nothing.
	GitHubOutput string
}

// Ship verifies the dist binaries, builds the slim index and publishes it.
func Ship(ctx context.Context, req Request) (publish.Result, error) {
	if req.Stdout == nil {
		req.Stdout = os.Stdout
	}
	if req.Log == nil {
		req.Log = io.Discard
	}
	platforms, err := publish.PlatformsForOutput(req.Platforms, req.Output, req.Host)
	if err != nil {
		return publish.Result{}, err
	}
	bin := req.Bin
	if bin == "" {
		if bin, err = InferBin(req.Dist, platforms); err != nil {
			return publish.Result{}, err
		}
	}
	if err := validBinName(bin); err != nil {
		return publish.Result{}, err
	}
	image := req.Image
	if image == "" && req.Output.Kind != "registry" {
		image = bin + ":latest"
	}
	var tags []name.Tag
	if image != "" || req.Output.Kind == "registry" {
		if tags, err = publish.ParseTags(image, req.Tags); err != nil {
			return publish.Result{}, err
		}
	}
	labels := req.Labels
	if labels.Version == "" && len(tags) > 0 && tags[0].TagStr() != "latest" {
		labels.Version = tags[0].TagStr()
	}
	pub, err := publish.New(req.Output, tags, req.Host, req.RegistryOptions...)
	if err != nil {
		return publish.Result{}, err
	}
	defer pub.Close()

	bins := make([]Binary, len(platforms))
	for i, p := range platforms {
		bins[i] = Binary{Platform: p, Path: filepath.Join(req.Dist, p.DistDir(), bin)}
	}
	fmt.Fprintf(req.Log, "slim: %s for %s on %s\n", bin, platform.Join(platforms), baseName(req.Base))
	// Verify all first so that a bad slot fails before any network traffic.
	for _, b := range bins {
		if _, err := elfcheck.Verify(b.Path, b.Platform); err != nil {
			return publish.Result{}, err
		}
	}
	base, err := publish.ReadBase(ctx, baseName(req.Base), platforms, req.RegistryOptions...)
	if err != nil {
		return publish.Result{}, err
	}
	opts := append([]Option{WithLabels(labels), WithCreated(req.Created)}, req.Options...)
	idx, err := Build(Base(base), bin, bins, opts...)
	if err != nil {
		return publish.Result{}, err
	}
	res, err := pub.Publish(ctx, idx)
	if err != nil {
		return publish.Result{}, err
	}
	fmt.Fprintln(req.Stdout, res.Reference)
	if err := ghoutput.Write(req.GitHubOutput, [2]string{"image", res.Reference}, [2]string{"digest", res.Digest.String()}); err != nil {
		return res, err
	}
	return res, nil
}

func baseName(b string) string {
	if b == "" {
		return DefaultBase
	}
	return b
}

// InferBin finds the binary name when it was not given: the one file name
// present in every platform's dist slot.
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
		found = append(found, n)
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
