package chef

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// PlanAndWrite plans the workspace, writes recipe.json and skeleton/ into
// planDir (all or nothing) and reports to w what was planned and, when a
// previous recipe exists there, what changed in dependency terms.
func PlanAndWrite(opts Options, planDir string, w io.Writer) (*Plan, error) {
	plan, err := NewPlan(opts)
	if err != nil {
		return nil, err
	}
	if err := plan.Write(planDir, w); err != nil {
		return nil, err
	}
	return plan, nil
}

// Write writes recipe.json and skeleton/ into planDir (all or nothing) and
// reports to w what was planned and, when a previous recipe exists there,
// what changed in dependency terms.
func (p *Plan) Write(planDir string, w io.Writer) error {
	var prev *Recipe
	prevFile := filepath.Join(planDir, RecipeFile)
	if _, err := os.Stat(prevFile); err == nil {
		// An unreadable previous recipe only loses the comparison.
		if prev, err = LoadRecipe(prevFile); err != nil {
			fmt.Fprintf(w, "warning: %v\n", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := WritePlan(planDir, p.Recipe); err != nil {
		return err
	}
	digest, err := p.Recipe.Digest()
	if err != nil {
		return err
	}
	report(w, p, planDir, digest, prev)
	return nil
}

func report(w io.Writer, plan *Plan, planDir, digest string, prev *Recipe) {
	fmt.Fprintf(w, "plan: %s\n", planDir)
	for _, p := range plan.Packages {
		role := "member"
		if !p.Member {
			role = "path dependency"
		}
		fmt.Fprintf(w, "  %-24s %-28s %s, %s\n", p.Name, p.Dir, role, countTargets(p.Targets))
	}
	fmt.Fprintf(w, "targets: %s\n", formatCounts(plan.TargetCounts()))
	fmt.Fprintf(w, "external dependencies: %d\n", plan.ExternalDeps)
	fmt.Fprintf(w, "recipe: %s\n", digest)
	if prev == nil {
		fmt.Fprintln(w, "changes: no previous recipe; the cook layer will be built from scratch")
		return
	}
	changes := Changes(prev, plan.Recipe)
	if len(changes) == 0 {
		fmt.Fprintln(w, "changes: none; the cook layer stays cached")
		return
	}
	fmt.Fprintf(w, "changes: %d; the cook layer will rebuild because:\n", len(changes))
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

func countTargets(ts []Target) string {
	c := map[string]int{}
	for _, t := range ts {
		c[t.Kind.Name]++
	}
	return formatCounts(c)
}

func formatCounts(c map[string]int) string {
	if len(c) == 0 {
		return "no targets"
	}
	var parts []string
	for k, n := range c {
		parts = append(parts, fmt.Sprintf("%s=%d", strings.ToLower(k), n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
