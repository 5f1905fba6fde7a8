package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// A dist, local cache or oci:DIR directory of the user's is refused before the
// builder is read, BuildKit contacted or the plan written, not after the
// compile: the BuildKit address here leads nowhere, and no plan appears.
func TestForeignOutputsRefusedFirst(t *testing.T) {
	type runner func(context.Context, Settings, []Option) (*Result, error)
	for _, c := range []struct {
		name, want string
		set        func(*Settings, string)
		runs       []runner // rust:cook writes no dist/
	}{
		{"dist", "local output: ", func(s *Settings, d string) { s.Dist = str(d) }, []runner{build}},
		{"cache", "cache directory: ", func(s *Settings, d string) { s.Cache = str("local:" + d) }, []runner{build, cook}},
		{"oci", "output: ", func(s *Settings, d string) { s.Output = str("oci:" + d) }, []runner{build}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := fixtures.CopyTree(t, testdataApp)
			foreign := t.TempDir()
			fixtures.WriteFile(t, foreign, "notes.txt", "mine\n")
			plan := filepath.Join(t.TempDir(), "plan")
			s := Settings{
				Workspace: str(ws), Platforms: str("linux/amd64"), Image: str("127.0.0.1:1/app:1"),
				Dist: str(filepath.Join(ws, "dist")), PlanDir: str(plan), Output: str("registry"), Cache: str("off"),
			}
			c.set(&s, foreign)
			rt := []Option{WithConnectOptions(buildkit.WithHost("unix://" + filepath.Join(t.TempDir(), "no.sock")))}
			for _, run := range c.runs {
				r, err := run(context.Background(), s, rt)
				want := c.want + foreign + " is a non-empty directory muslrust-chef did not write"
				if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want %q", err, want)
				}
				// The end of the refusal names the knob as the user sets it.
				if c.name == "dist" && !strings.HasSuffix(err.Error(), "set -dist / MUSLRUST_CHEF_DIST to a new or empty directory (default dist)") {
					t.Fatalf("error %v does not say how to fix it", err)
				}
				if r != nil && (r.Builder != nil || r.Plan != nil) {
					t.Fatal("the builder was read or the plan written before the refusal")
				}
				if _, err := os.Stat(plan); !os.IsNotExist(err) {
					t.Fatalf("plan written: %v", err)
				}
				if b, _ := os.ReadFile(filepath.Join(foreign, "notes.txt")); string(b) != "mine\n" {
					t.Fatal("the foreign directory changed")
				}
			}
		})
	}
}

// The split strategy publishes by digest (one platform per run, or one per
// BuildKit node): an output that holds one image (tar:, docker) or a local
// layout would keep only part of it, so any output but a registry is
// refused before a node is contacted.
func TestSplitNeedsRegistryOutput(t *testing.T) {
	for _, ps := range []string{"linux/amd64", "linux/amd64,linux/arm64"} {
		for _, output := range []string{"tar:" + filepath.Join(t.TempDir(), "app.tar"), "oci:" + filepath.Join(t.TempDir(), "layout"), "docker"} {
			ws := fixtures.CopyTree(t, testdataApp)
			s := Settings{
				Workspace: str(ws), Platforms: str(ps), Image: str("127.0.0.1:1/app:1"), Strategy: str(StrategySplit),
				Dist: str(filepath.Join(ws, "dist")), PlanDir: str(filepath.Join(t.TempDir(), "plan")), Output: str(output), Cache: str("off"),
			}
			rt := []Option{WithConnectOptions(buildkit.WithHost("unix://" + filepath.Join(t.TempDir(), "no.sock")))}
			_, err := build(context.Background(), s, rt)
			msg := option.Render(err, func(r option.Ref) string {
				return map[option.Name]string{option.Strategy: "MUSLRUST_CHEF_STRATEGY", option.Output: "MUSLRUST_CHEF_OUTPUT"}[r.Opt]
			})
			want := "MUSLRUST_CHEF_STRATEGY=split pushes one platform by digest for image:merge, so it needs MUSLRUST_CHEF_OUTPUT=registry (got "
			if err == nil || !strings.HasPrefix(msg, want) || !option.Usage(err) {
				t.Errorf("%s to %s: error %q, want a usage error starting %q", ps, output, msg, want)
			}
			if _, err := os.Stat(filepath.Join(ws, "dist")); !os.IsNotExist(err) {
				t.Errorf("%s to %s: dist written (%v)", ps, output, err)
			}
		}
	}
}
