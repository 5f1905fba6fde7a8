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

// Bench runs the benchmarks, which print their ratios side by side.
func Bench(ctx context.Context) error {
	return run(ctx, "go", "test", "-run=^$", "-bench=.", "-benchtime=3x", "-timeout=60m", "./...")
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
	return cmd.Run()
}
