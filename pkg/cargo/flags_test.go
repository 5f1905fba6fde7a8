package cargo

import (
	"reflect"
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
	if err := (Flags{}).Validate(); err == nil {
		t.Fatal("empty triple accepted")
	}
	if err := (Flags{Triple: "t", Profile: "a/b"}).Validate(); err == nil {
		t.Fatal("profile with a slash accepted")
	}
	if err := (Flags{Triple: "t", Profile: "dist"}).Validate(); err != nil {
		t.Fatal(err)
	}
}
