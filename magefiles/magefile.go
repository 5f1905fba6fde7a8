//go:build mage

// This repository's own magefile: the kit's importable targets plus the
// targets that test, lint and benchmark the kit itself.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/internal/faults"
	//mage:import
	_ "github.com/muslrust-chef/muslrust-chef/pkg/targets/image"
	//mage:import
	_ "github.com/muslrust-chef/muslrust-chef/pkg/targets/rust"
)

// Test runs every unit and integration test of the kit (go test ./...).
//
// Integration tests skip loudly when the infrastructure from scripts/ is not
// running; MUSLRUST_CHEF_INTEGRATION=1 turns those skips into failures.
func Test(ctx context.Context) error {
	return run(ctx, "go", "test", "-count=1", "-timeout=75m", "./...")
}

// Lint checks formatting (gofmt) and runs go vet.
func Lint(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "gofmt", "-l", ".").Output()
	if err != nil {
		return fmt.Errorf("gofmt: %w", err)
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt would change: %s", strings.ReplaceAll(files, "\n", " "))
	}
	return run(ctx, "go", "vet", "./...")
}

// Bench prints the performance table: each goal (cold, warm, fresh BuildKit, cross, slim, plan, split, cache export) against its anchor, measured in the same run.
//
// Two workspaces are generated from Debian's crates (small, ~15 crates;
// large, ~80) and every cell runs MUSLRUST_CHEF_BENCH_RUNS times (default
// 3: median, min-max); MUSLRUST_CHEF_BENCH_SIZES=small limits the
// workspaces, MUSLRUST_CHEF_BENCH_OUT=file also writes the table as
// Markdown, MUSLRUST_CHEF_BENCH_NOTE adds a note to its title. It needs the
// test infrastructure (scripts/services.sh) and a quiet machine: 1.5-2
// hours for 3 runs of both workspaces on 2 cores.
func Bench(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-v", "-count=1", "-run=^$", "-bench=^BenchmarkTable$", "-benchtime=1x", "-timeout=180m", "./pkg/pipeline")
	cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
	// The table needs every service: a missing one fails instead of skipping.
	cmd.Env = append(os.Environ(), "MUSLRUST_CHEF_INTEGRATION=1")
	return cmd.Run()
}

// BenchAll runs every other benchmark of the kit (go test -bench on every package, without Bench's table).
func BenchAll(ctx context.Context) error {
	return run(ctx, "go", "test", "-run=^$", "-bench=.", "-skip=^BenchmarkTable$", "-benchtime=3x", "-timeout=60m", "./...")
}

// Faults runs the fault-injection suite and prints a table: scenario, result, what stayed intact.
//
// A fault proxy on 127.0.0.1 sits in front of the test registry and of
// BuildKit's socket: 503s and resets, an index PUT refused for good, a
// registry that stalls, SIGINT and SIGTERM during cook, build, push and an
// OCI write, buildkitd dying mid-build, a full disk under the output, two
// builds at once and four concurrent go run mage.go. The suite is also part
// of Test (go test ./...); set MUSLRUST_CHEF_INTEGRATION=1 to fail instead of
// skip when the infrastructure is missing.
func Faults(ctx context.Context) error {
	f, err := os.CreateTemp("", "muslrust-chef-faults-*.jsonl")
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout=40m", "./internal/faults", "./pkg/magerun")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), faults.ResultsEnv+"="+f.Name())
	testErr := cmd.Run()
	fmt.Println()
	passed, failed, err := faults.Table(os.Stdout, f.Name())
	if err != nil {
		return fmt.Errorf("reading the results: %w", err)
	}
	fmt.Printf("\n%d scenarios passed, %d failed\n", passed, failed)
	if testErr != nil {
		return fmt.Errorf("fault suite failed: %w", testErr)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
	return cmd.Run()
}
