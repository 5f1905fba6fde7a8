package cargo

import (
	"reflect"
	"strings"
	"testing"
)

func TestProfileDir(t *testing.T) {
	for profile, want := range map[string]string{"": "debug", "dev": "debug", "test": "debug", "release": "release", "bench": "release", "dist": "dist"} {
		if got := ProfileDir(profile); got != want {
			t.Errorf("ProfileDir(%q) = %q, want %q", profile, got, want)
		}
	}
}

func TestBinPath(t *testing.T) {
	cases := []struct {
		f    Flags
		want string
	}{
		{Flags{Triple: "x86_64-unknown-linux-musl"}, "/ws/target/x86_64-unknown-linux-musl/debug/app"},
		{Flags{Triple: "aarch64-unknown-linux-musl", Profile: "release"}, "/ws/target/aarch64-unknown-linux-musl/release/app"},
		{Flags{Triple: "aarch64-unknown-linux-musl", Profile: "dist", TargetDir: "out"}, "/ws/out/aarch64-unknown-linux-musl/dist/app"},
		{Flags{Triple: "t", TargetDir: "/abs"}, "/abs/t/debug/app"},
	}
	for _, c := range cases {
		if got := c.f.BinPath("/ws", "app"); got != c.want {
			t.Errorf("%+v: BinPath = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestArgsShareSelection(t *testing.T) {
	f := Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl", TargetDir: "/t", Features: []string{"a", "b"}, Bin: "app", Locked: true, NoDefaultFeatures: true}
	build := f.BuildArgs()
	want := []string{"build", "--profile", "release", "--target", "x86_64-unknown-linux-musl", "--target-dir", "/t", "--bin", "app", "--no-default-features", "--features", "a,b", "--locked"}
	if !reflect.DeepEqual(build, want) {
		t.Fatalf("BuildArgs = %q, want %q", build, want)
	}
	clean := f.CleanArgs([]string{"x", "y"})
	wantClean := []string{"clean", "-p", "x", "-p", "y", "--profile", "release", "--target", "x86_64-unknown-linux-musl", "--target-dir", "/t"}
	if !reflect.DeepEqual(clean, wantClean) {
		t.Fatalf("CleanArgs = %q, want %q", clean, wantClean)
	}
}

func TestValidate(t *testing.T) {
	const musl = "x86_64-unknown-linux-musl"
	if err := (Flags{}).Validate(); err == nil {
		t.Fatal("empty triple accepted")
	}
	for _, c := range []struct {
		f    Flags
		want string // empty: accepted
	}{
		{Flags{Triple: musl, Profile: "dist"}, ""},
		{Flags{Triple: "aarch64-unknown-linux-gnu", Profile: "my_prof-2", Package: "my-pkg_1", Bin: "app-2",
			Features: []string{"loud", "serde/derive", "dep:serde_json", "v1.2+x", "_x"}, RustFlags: "-C target-feature=+crt-static\t-C opt-level=3"}, ""},
		{Flags{Triple: musl, Profile: "dist;touch /x"}, `profile "dist;touch /x" is not a valid cargo profile name: use letters, digits, - and _`},
		{Flags{Triple: musl, Profile: "a/b"}, `profile "a/b" is not a valid cargo profile name`},
		{Flags{Triple: "x86_64-unknown-linux-musl;id"}, `target triple "x86_64-unknown-linux-musl;id" is not one this kit builds: use one of aarch64-unknown-linux-gnu, aarch64-unknown-linux-musl, x86_64-unknown-linux-gnu, x86_64-unknown-linux-musl`},
		{Flags{Triple: "t"}, `target triple "t" is not one this kit builds`},
		{Flags{Triple: musl, Bin: "app$(id)"}, `binary "app$(id)" is not a valid cargo binary name: use letters, digits, - and _`},
		{Flags{Triple: musl, Package: "p q"}, `package "p q" is not a valid cargo package name`},
		{Flags{Triple: musl, Features: []string{"loud", "$(touch x)"}}, `feature "$(touch x)" is not a valid cargo feature`},
		{Flags{Triple: musl, Features: []string{"a b"}}, `feature "a b" is not a valid cargo feature`},
		{Flags{Triple: musl, Features: []string{"dep:"}}, `feature "dep:" is not a valid cargo feature`},
		{Flags{Triple: musl, Features: []string{"a/b/c"}}, `feature "a/b/c" is not a valid cargo feature`},
		{Flags{Triple: musl, Features: []string{"+a"}}, `feature "+a" is not a valid cargo feature`},
		{Flags{Triple: musl, Features: []string{"pkg/dep:x"}}, `feature "pkg/dep:x" is not a valid cargo feature`},
		{Flags{Triple: musl, RustFlags: "-C a\nid"}, `RUSTFLAGS "-C a\nid" holds a control character at byte 4: remove it`},
		{Flags{Triple: musl, RustFlags: "\xff"}, `RUSTFLAGS "\xff" is not valid UTF-8`},
	} {
		err := c.f.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v refused: %v", c.f, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.f, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestMultiTarget(t *testing.T) {
	f := func(triple, rustflags string) Flags {
		return Flags{Profile: "release", Triple: triple, TargetDir: "/t", Features: []string{"a"}, Bin: "app", Package: "app", Locked: true,
			RustFlags: rustflags, Strip: true}
	}
	amd, arm := f("x86_64-unknown-linux-gnu", "-C target-feature=+crt-static"), f("aarch64-unknown-linux-musl", "-C link-self-contained=no")
	build, clean, env, err := MultiTarget([]Flags{amd, arm}, []string{"app", "lib"})
	if err != nil {
		t.Fatal(err)
	}
	sel := []string{"--profile", "release", "--target", "x86_64-unknown-linux-gnu", "--target", "aarch64-unknown-linux-musl", "--target-dir", "/t"}
	if want := append(append([]string{"build"}, sel...), "--package", "app", "--bin", "app", "--features", "a", "--locked"); !reflect.DeepEqual(build, want) {
		t.Errorf("build = %q, want %q", build, want)
	}
	if want := append([]string{"clean", "-p", "app", "-p", "lib"}, sel...); !reflect.DeepEqual(clean, want) {
		t.Errorf("clean = %q, want %q", clean, want)
	}
	wantEnv := []string{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=-C target-feature=+crt-static",
		"CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS=-C link-self-contained=no", "CARGO_PROFILE_RELEASE_STRIP=symbols"}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("env = %q, want %q", env, wantEnv)
	}
	// One triple: the same arguments as the single-target build.
	build, clean, _, err = MultiTarget([]Flags{amd}, []string{"app"})
	if err != nil || !reflect.DeepEqual(build, amd.BuildArgs()) || !reflect.DeepEqual(clean, amd.CleanArgs([]string{"app"})) {
		t.Errorf("one triple: %q %q %v, want %q %q", build, clean, err, amd.BuildArgs(), amd.CleanArgs([]string{"app"}))
	}
	for name, c := range map[string]struct {
		fs   []Flags
		want string
	}{
		"none":     {nil, "cargo flags: no target triple"},
		"twice":    {[]Flags{amd, amd}, "cargo flags: target triple x86_64-unknown-linux-gnu given twice"},
		"profile":  {[]Flags{amd, func() Flags { g := arm; g.Profile = "dev"; return g }()}, "differ in more than the triple"},
		"features": {[]Flags{amd, func() Flags { g := arm; g.Features = []string{"b"}; return g }()}, "differ in more than the triple"},
		"strip":    {[]Flags{amd, func() Flags { g := arm; g.Strip = false; return g }()}, "differ in more than the triple"},
		"invalid":  {[]Flags{amd, func() Flags { g := arm; g.Bin = "a b"; return g }()}, `binary "a b" is not a valid cargo binary name`},
	} {
		if _, _, _, err := MultiTarget(c.fs, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
