package config

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// optionNames reads every constant of type Name declared in pkg/option,
// and of type option.Name in pkg/buildspec (options declared beside the
// Spec field they set, so that pkg/option and the test images keyed on it
// stay put), so that a new option without a knob fails here rather than in
// a user's message.
func optionNames(t *testing.T) []string {
	t.Helper()
	names := constsOfType(t, "../option", "Name")
	if len(names) < 40 {
		t.Fatalf("found only %d option names in pkg/option: the parser missed them", len(names))
	}
	spec := constsOfType(t, "../buildspec", "option.Name")
	if len(spec) == 0 {
		t.Fatal("found no option name in pkg/buildspec: the parser missed OptionCompare")
	}
	return append(names, spec...)
}

// constsOfType lists the constants of the Go package in dir declared with
// the type typ ("Name", "option.Name").
func constsOfType(t *testing.T, dir, typ string) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, s := range g.Specs {
					v := s.(*ast.ValueSpec)
					if v.Type != nil && types.ExprString(v.Type) == typ {
						for _, n := range v.Names {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	return names
}

func TestEveryOptionHasAKnob(t *testing.T) {
	names := optionNames(t)
	if len(byOption) != len(names) {
		// Two constants with one value also land here: a map literal
		// cannot hold the same key twice.
		t.Errorf("pkg/option declares %d names, byOption maps %d", len(names), len(byOption))
	}
	seen := map[string]option.Name{}
	for opt, k := range byOption {
		if k.Env == "" && k.Flag == "" {
			t.Errorf("option %q maps to a knob with neither an environment variable nor a flag", opt)
		}
		if prev, dup := seen[k.Env]; dup && k.Env != "" {
			t.Errorf("options %q and %q share %s", prev, opt, k.Env)
		}
		seen[k.Env] = opt
	}
}

func TestKnobName(t *testing.T) {
	for _, c := range []struct {
		ref  option.Ref
		want string
	}{
		{option.Env(option.Libc), "MUSLRUST_CHEF_LIBC"},
		{option.Flag(option.Output), "-output"},
		{option.Env(option.Output), "MUSLRUST_CHEF_OUTPUT"},
		{option.Flag(option.Libc), "MUSLRUST_CHEF_LIBC"}, // no flag: the variable
		{option.Flag(option.PublishImage), "-image"},
		{option.Env(option.PublishImage), "MUSLRUST_CHEF_PUBLISH_IMAGE"},
		{option.Env(option.Builder), "MUSLRUST_CHEF_BUILDER_IMAGE"},
		{option.Env(option.BuildkitHost), "BUILDKIT_HOST"},
		{option.Env(option.SourceDateEpoch), "SOURCE_DATE_EPOCH"},
		{option.Env("not an option"), "the not an option option"},
	} {
		if got := KnobName(c.ref); got != c.want {
			t.Errorf("KnobName(%+v) = %q, want %q", c.ref, got, c.want)
		}
	}
}

func TestExplain(t *testing.T) {
	notExist := fmt.Errorf("open ws/Cargo.toml: %w", fs.ErrNotExist)
	usage := option.Usagef("image %q is not a valid reference: %w; set %s to repo[:tag]", "A B", errors.New("bad"), option.Env(option.Image))
	inner := option.Errorf("has label %s=%q: %w; set %s to override it", "io.muslrust-chef.libc", "glibc", notExist, option.Env(option.Libc))
	outer := option.Errorf("builder %s: %w (or pass %s)", "b:1", inner, option.Flag(option.Builder))
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("no  knob here"), "no  knob here"},
		{"usage", usage, `image "A B" is not a valid reference: bad; set MUSLRUST_CHEF_IMAGE to repo[:tag]`},
		{"wrapped by fmt", fmt.Errorf("publish: %w", usage), `publish: image "A B" is not a valid reference: bad; set MUSLRUST_CHEF_IMAGE to repo[:tag]`},
		{"nested", fmt.Errorf("solve: %w", outer),
			`solve: builder b:1: has label io.muslrust-chef.libc="glibc": open ws/Cargo.toml: file does not exist; set MUSLRUST_CHEF_LIBC to override it (or pass -builder)`},
		{"joined", errors.Join(usage, option.Errorf("set %s", option.Flag(option.Cache))),
			`image "A B" is not a valid reference: bad; set MUSLRUST_CHEF_IMAGE to repo[:tag] set -cache`},
		{"multi-line", fmt.Errorf("cargo failed:\n  error[E0425]: x\n%w", option.Errorf("see %s", option.Env(option.Features))),
			"cargo failed: error[E0425]: x see MUSLRUST_CHEF_FEATURES"},
	} {
		if got := Explain(c.err); got != c.want {
			t.Errorf("%s: Explain = %q\nwant             %q", c.name, got, c.want)
		}
	}
	// The library's own rendering is untouched.
	if got := outer.Error(); !strings.Contains(got, "set the libc option") || !strings.Contains(got, "pass the builder image option") {
		t.Errorf("outer.Error() = %q", got)
	}
}
