package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

// GenerateMembers writes under dir a workspace of n members, each a lib
// with a bin, a test and a build script, depending on the previous member
// by path and on one external crate, plus a consistent Cargo.lock: the
// planner's worst case per member (targets to discover, versions to mask,
// [lints] to drop).
func GenerateMembers(dir string, n int) error {
	files := map[string]string{
		"Cargo.toml": "[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[workspace.dependencies]\nitoa = \"1\"\n",
	}
	var lock strings.Builder
	lock.WriteString("version = 3\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"1aab8fc367588b89dcee83ab0fd66b72b50b72fa1904d7095045ace2b0c81c35\"\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("m%03d", i)
		deps := "itoa = { workspace = true }\n"
		lockDeps := "dependencies = [\n \"itoa\",\n"
		if i > 0 {
			prev := fmt.Sprintf("m%03d", i-1)
			deps += fmt.Sprintf("%s = { path = \"../%s\", version = \"1\" }\n", prev, prev)
			lockDeps += fmt.Sprintf(" \"%s\",\n", prev)
		}
		d := "crates/" + name + "/"
		files[d+"Cargo.toml"] = fmt.Sprintf("[package]\nname = %q\nversion.workspace = true\nedition.workspace = true\n\n[dependencies]\n%s\n[lints.rust]\nunsafe_code = \"forbid\"\n", name, deps)
		files[d+"src/lib.rs"] = ""
		files[d+"src/main.rs"] = "fn main() {}\n"
		files[d+"tests/it.rs"] = ""
		files[d+"build.rs"] = "fn main() {}\n"
		fmt.Fprintf(&lock, "\n[[package]]\nname = %q\nversion = \"1.0.0\"\n%s]\n", name, lockDeps)
	}
	files["Cargo.lock"] = lock.String()
	for n, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// PlanOnce reads and plans the workspace at dir as rust:plan does
// (chef.NewPlan: load, plan, recipe and skeleton in memory) and returns
// how long it took and how many packages it planned.
func PlanOnce(dir string) (time.Duration, int, error) {
	start := time.Now()
	p, err := chef.NewPlan(chef.Options{Workspace: dir})
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start), len(p.Packages), nil
}
