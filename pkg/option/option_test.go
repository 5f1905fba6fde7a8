package option_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

func knobs(r option.Ref) string {
	if r.Flag {
		return "-" + strings.ReplaceAll(string(r.Opt), " ", "")
	}
	return "MUSLRUST_CHEF_" + strings.ToUpper(strings.ReplaceAll(string(r.Opt), " ", "_"))
}

func TestDefaultRendering(t *testing.T) {
	e := option.Errorf("has label %s=%q; set %s or %s to override it", "libc", "gnu", option.Env(option.Libc), option.Flag(option.Output))
	want := `has label libc="gnu"; set the libc option or the output option to override it`
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := e.Error(); got != want {
		t.Errorf("second Error() = %q: not deterministic", got)
	}
	want = `has label libc="gnu"; set MUSLRUST_CHEF_LIBC or -output to override it`
	if got := e.Render(knobs); got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestWrapsOneError(t *testing.T) {
	inner := fmt.Errorf("open x: %w", fs.ErrNotExist)
	e := option.Usagef("image %q is not a valid reference: %w; set %s to repo[:tag]", "a b", inner, option.Env(option.Image))
	if !errors.Is(e, fs.ErrNotExist) {
		t.Errorf("errors.Is(e, fs.ErrNotExist) = false; Unwrap = %v", e.Unwrap())
	}
	if e.Unwrap() != inner {
		t.Errorf("Unwrap = %v, want the %%w operand", e.Unwrap())
	}
	want := `image "a b" is not a valid reference: open x: file does not exist; set MUSLRUST_CHEF_IMAGE to repo[:tag]`
	if got := e.Render(knobs); got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
	if strings.Contains(e.Error(), "%!") {
		t.Errorf("bad verb in %q", e.Error())
	}
}

func TestWithoutWrap(t *testing.T) {
	e := option.Errorf("no %s given", option.Env(option.Bin))
	if e.Unwrap() != nil {
		t.Errorf("Unwrap = %v, want nil", e.Unwrap())
	}
}

func TestSeveralWraps(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	e := option.Errorf("%w and %w (%s)", a, b, option.Env(option.Cache))
	if !errors.Is(e, a) || !errors.Is(e, b) {
		t.Errorf("errors.Is misses an operand: %v", e.Unwrap())
	}
	if got, want := e.Error(), "a and b (the cache option)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestUsage(t *testing.T) {
	u := option.Usagef("set %s", option.Env(option.Image))
	b := option.Errorf("build: %w", u)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("plain"), false},
		{u, true},
		{fmt.Errorf("rust:build: %w", u), true},
		{errors.Join(errors.New("x"), u), true},
		{b, false}, // the outer classification wins
		{option.Usagef("bad: %w", option.Errorf("inner")), true},
	} {
		if got := option.Usage(c.err); got != c.want {
			t.Errorf("Usage(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !u.Usage || b.Usage {
		t.Errorf("Usage fields: Usagef %v, Errorf %v", u.Usage, b.Usage)
	}
}

// Render finds option errors however they are wrapped: by fmt.Errorf's %w,
// inside errors.Join, and inside another option error.
func TestRenderWalksTheChain(t *testing.T) {
	inner := option.Usagef("set %s", option.Env(option.Libc))
	outer := option.Errorf("verify: %w (or %s)", inner, option.Flag(option.Dist))
	err := fmt.Errorf("rust:build: %w", errors.Join(outer, errors.New("second")))
	got := option.Render(err, knobs)
	want := "rust:build: verify: set MUSLRUST_CHEF_LIBC (or -dist)\nsecond"
	if got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
	if got := option.Render(nil, knobs); got != "" {
		t.Fatalf("Render(nil) = %q", got)
	}
	plain := errors.New("no option here")
	if got := option.Render(plain, knobs); got != plain.Error() {
		t.Fatalf("Render(plain) = %q", got)
	}
}
