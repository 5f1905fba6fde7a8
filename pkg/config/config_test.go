package config

import (
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	k := Knob{Env: "MUSLRUST_CHEF_TEST_KNOB", Default: "def"}
	if got := k.Value(nil); got != "def" {
		t.Fatalf("default: %q", got)
	}
	t.Setenv(k.Env, "  from-env ")
	if got := k.Value(nil); got != "from-env" {
		t.Fatalf("env: %q", got)
	}
	flag := "from-flag"
	if got := k.Value(&flag); got != "from-flag" {
		t.Fatalf("flag: %q", got)
	}
	empty := ""
	if got := k.Value(&empty); got != "" {
		t.Fatalf("an explicit empty flag must win: %q", got)
	}
	t.Setenv(k.Env, "   ")
	if got := k.Value(nil); got != "def" {
		t.Fatalf("blank env must fall back to the default: %q", got)
	}
}

func TestBool(t *testing.T) {
	k := Knob{Env: "MUSLRUST_CHEF_TEST_BOOL"}
	t.Setenv(k.Env, "nope")
	if _, err := k.Bool(nil); err == nil || !strings.Contains(err.Error(), "MUSLRUST_CHEF_TEST_BOOL") {
		t.Fatalf("bad bool: %v", err)
	}
	t.Setenv(k.Env, "true")
	if b, err := k.Bool(nil); err != nil || !b {
		t.Fatalf("true: %v %v", b, err)
	}
	f := false
	if b, _ := k.Bool(&f); b {
		t.Fatal("flag false must win")
	}
}

func TestListAndEpoch(t *testing.T) {
	if got := strings.Join(List(" a, ,b,c ,"), "|"); got != "a|b|c" {
		t.Fatalf("List: %q", got)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if e, err := Epoch(); err != nil || !e.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("Epoch: %v %v", e, err)
	}
	for _, bad := range []string{"yesterday", "-5", "1.5"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if _, err := Epoch(); err == nil {
			t.Errorf("SOURCE_DATE_EPOCH=%s accepted", bad)
		}
	}
}

// The former name of a knob still works for one release, with a warning
// naming the new one; the new name wins when both are set.
func TestDeprecatedEnv(t *testing.T) {
	var warn strings.Builder
	old := deprecationOut
	deprecationOut = &warn
	t.Cleanup(func() { deprecationOut = old })
	k := Knob{Env: "MUSLRUST_CHEF_TEST_NEW", DeprecatedEnv: "MUSLRUST_CHEF_TEST_OLD"}
	t.Setenv("MUSLRUST_CHEF_TEST_OLD", "reg.example/old")
	if got := k.Value(nil); got != "reg.example/old" {
		t.Fatalf("Value = %q, want the deprecated variable's value", got)
	}
	if !strings.Contains(warn.String(), "MUSLRUST_CHEF_TEST_OLD is deprecated") || !strings.Contains(warn.String(), "use MUSLRUST_CHEF_TEST_NEW") {
		t.Fatalf("warning = %q", warn.String())
	}
	warn.Reset()
	t.Setenv("MUSLRUST_CHEF_TEST_NEW", "reg.example/new")
	if got := k.Value(nil); got != "reg.example/new" || warn.Len() != 0 {
		t.Fatalf("Value = %q (warning %q), want the new variable's value and no warning", got, warn.String())
	}
}

func TestCargoTokens(t *testing.T) {
	got, err := CargoTokens([]string{"CARGO_REGISTRY_TOKEN=a", "CARGO_REGISTRIES_MY_CORP_TOKEN=b=c", "CARGO_REGISTRIES__TOKEN=x",
		"CARGO_REGISTRIES_X_TOKEN=", "CARGO_HOME=/c", "MY_CARGO_REGISTRY_TOKEN=z", "CARGO_REGISTRIES_X_INDEX=i"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["CARGO_REGISTRY_TOKEN"] != "a" || got["CARGO_REGISTRIES_MY_CORP_TOKEN"] != "b=c" {
		t.Fatalf("CargoTokens = %v", got)
	}
	if names := TokenNames(got); strings.Join(names, ",") != "CARGO_REGISTRIES_MY_CORP_TOKEN,CARGO_REGISTRY_TOKEN" {
		t.Fatalf("TokenNames = %v", names)
	}
	_, err = CargoTokens([]string{"CARGO_REGISTRIES_X_TOKEN=abc\ndef"})
	if err == nil || strings.Contains(err.Error(), "abc") || !strings.Contains(err.Error(), "CARGO_REGISTRIES_X_TOKEN holds a line break") {
		t.Fatalf("token with a newline: %v", err)
	}
}

func TestDurationKnobs(t *testing.T) {
	t.Setenv("MUSLRUST_CHEF_REGISTRY_TIMEOUT", "")
	if d, err := RegistryTimeout.Duration(); err != nil || d != publish.DefaultRequestTimeout {
		t.Errorf("default registry timeout: %s %v", d, err)
	}
	t.Setenv("MUSLRUST_CHEF_REGISTRY_TIMEOUT", "0")
	if d, err := RegistryTimeout.Duration(); err != nil || d != 0 {
		t.Errorf("0: %s %v", d, err)
	}
	if d, err := PushTimeout.Duration(); err != nil || d != publish.DefaultPushTimeout {
		t.Errorf("default push timeout: %s %v", d, err)
	}
	t.Setenv("MUSLRUST_CHEF_PUSH_TIMEOUT", "90s")
	if d, err := PushTimeout.Duration(); err != nil || d != 90*time.Second {
		t.Errorf("90s: %s %v", d, err)
	}
	for _, bad := range []string{"10", "-1s", "soon"} {
		t.Setenv("MUSLRUST_CHEF_PUSH_TIMEOUT", bad)
		if _, err := PushTimeout.Duration(); err == nil || !strings.Contains(err.Error(), "MUSLRUST_CHEF_PUSH_TIMEOUT") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
