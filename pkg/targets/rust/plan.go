package rust

import (
	"context"
	"os"
	"path/filepath"

	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/fail"
)

// Plan writes the dependency recipe (recipe.json) and skeleton/ that make the cook layer rebuild exactly when dependencies change.
//
// The recipe follows cargo-chef's schema: every manifest with local crate
// versions masked to 0.0.1 and [lints] dropped, the masked Cargo.lock,
// .cargo/config.toml and the rust-toolchain file. skeleton/ holds the same
// files plus a dummy source per target. Both are replaced all or nothing.
// It prints members, target counts, the external dependency count, the
// recipe digest and, when a previous recipe exists in the plan directory,
// what changed in dependency terms (why the cook layer will rebuild).
// Knobs (the flag wins over the environment variable):
// -workspace / MUSLRUST_CHEF_WORKSPACE: directory of the root Cargo.toml,
// default the current directory; -plandir / MUSLRUST_CHEF_PLAN_DIR: output
// directory, default target/muslrust-chef under the workspace; -bin /
// MUSLRUST_CHEF_BIN: keep only the members this binary needs. No cargo and
// no container are needed.
func (Rust) Plan(ctx context.Context,
	workspace *string, // MUSLRUST_CHEF_WORKSPACE: directory of the root Cargo.toml; default the current directory
	planDir *string, // MUSLRUST_CHEF_PLAN_DIR: where recipe.json and skeleton/ go; default target/muslrust-chef under the workspace
	bin *string, // MUSLRUST_CHEF_BIN: narrow the recipe to the members this binary depends on; default all members
) error {
	ws := config.Workspace.Value(workspace)
	out := config.PlanDir.Value(planDir)
	if out == "" {
		out = filepath.Join(ws, "target", "muslrust-chef")
	}
	_, err := chef.PlanAndWrite(chef.Options{Workspace: ws, Bin: config.Bin.Value(bin)}, out, os.Stdout)
	return fail.Fatal(ctx, "rust:plan", err)
}
