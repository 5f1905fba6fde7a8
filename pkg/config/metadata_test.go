package config

import (
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
)

func TestMetadataPackageWinsOverWorkspace(t *testing.T) {
	ws := t.TempDir()
	fixtures.WriteFile(t, ws, "Cargo.toml", `[workspace]
members = ["app"]
[workspace.metadata.muslrust-chef]
image = "ghcr.io/o/ws"
platforms = ["linux/amd64", "linux/arm64"]
profile = "release"
features = "a, b"
strategy = "emulate"
`)
	fixtures.WriteFile(t, ws, "app/Cargo.toml", `[package]
name = "app"
version = "0.1.0"
[package.metadata.muslrust-chef]
image = "ghcr.io/o/app"
base-image = "scratch"
features = ["tls"]
strategy = "cross"
`)
	md, err := ReadMetadata(ws, "app/Cargo.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{Image: "ghcr.io/o/app", Platforms: "linux/amd64,linux/arm64", BaseImage: "scratch", Features: "tls", Profile: "release", Strategy: "cross", StrategyFrom: "package"}
	if md != want {
		t.Fatalf("got %+v, want %+v", md, want)
	}
	ws2 := t.TempDir()
	fixtures.WriteFile(t, ws2, "Cargo.toml", "[workspace]\n[workspace.metadata.muslrust-chef]\nfeatures = \"a, b\"\n")
	md, err = ReadMetadata(ws2, "")
	if err != nil || md.Features != "a, b" {
		t.Fatalf("string features: %+v %v", md, err)
	}
}

func TestMetadataRejectsUnknownKeysAndWrongTypes(t *testing.T) {
	for body, want := range map[string]string{
		"imag = \"x\"":          `unknown key "imag": use base-image, features, image, platforms, profile, strategy`,
		"image = [\"x\"]":       "image must be a string",
		"platforms = 3":         "platforms must be a string or a list of strings",
		"features = [\"a\", 1]": "features must be a list of strings",
	} {
		ws := t.TempDir()
		fixtures.WriteFile(t, ws, "Cargo.toml", "[workspace]\n[workspace.metadata.muslrust-chef]\n"+body+"\n")
		_, err := ReadMetadata(ws, "")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "[workspace.metadata.muslrust-chef]") {
			t.Errorf("%s: error %v, want %q", body, err, want)
		}
	}
}

func TestKnobOrPrecedence(t *testing.T) {
	k := Knob{Env: "MUSLRUST_CHEF_TEST_OR", Default: "def"}
	if got := k.Or(nil, ""); got != "def" {
		t.Fatalf("default: %q", got)
	}
	if got := k.Or(nil, "meta"); got != "meta" {
		t.Fatalf("metadata over default: %q", got)
	}
	t.Setenv(k.Env, "env")
	if got := k.Or(nil, "meta"); got != "env" {
		t.Fatalf("env over metadata: %q", got)
	}
	flag := "flag"
	if got := k.Or(&flag, "meta"); got != "flag" {
		t.Fatalf("flag over env: %q", got)
	}
}
