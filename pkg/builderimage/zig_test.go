package builderimage

import (
	"reflect"
	"strings"
	"testing"
)

func TestZigBuildArgs(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	args := map[string]string{}
	z := Zig{Version: "0.11.0", SHA256: map[string]string{"amd64": sum, "arm64": sum},
		URL: map[string]string{"amd64": "http://127.0.0.1:1/zig.tgz", "arm64": "http://127.0.0.1:1/zig.tgz"}}
	if err := z.buildArgs(args); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ZIG_VERSION": "0.11.0", "ZIG_SHA256_AMD64": sum, "ZIG_SHA256_ARM64": sum,
		"ZIG_URL_AMD64": "http://127.0.0.1:1/zig.tgz", "ZIG_URL_ARM64": "http://127.0.0.1:1/zig.tgz"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("args = %v, want %v", args, want)
	}
	// The zero value keeps the Dockerfile's pins.
	args = map[string]string{}
	if err := (Zig{}).buildArgs(args); err != nil || len(args) != 0 {
		t.Errorf("zero Zig: %v %v", args, err)
	}
	for _, bad := range []Zig{
		{SHA256: map[string]string{"amd64": "xyz"}},
		{URL: map[string]string{"riscv64": "http://x"}},
	} {
		if err := bad.buildArgs(map[string]string{}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
