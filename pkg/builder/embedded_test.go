package builder

import (
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func TestEmbeddedBuilderDeclaresCross(t *testing.T) {
	b, err := Embedded(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	// The platforms as a user gives them (arm64 parses with its v8
	// variant): emulate and split require every one of them.
	ps, err := platform.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Require(ps); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if b.Libc[p] != "musl" || len(b.Cross[p].Platforms) != 2 || !b.Platforms[p] {
			t.Fatalf("%s: libc %q cross %+v", p, b.Libc[p], b.Cross[p])
		}
	}
	if err := b.Require(embeddedPlatforms); err != nil {
		t.Fatal(err)
	}
	b, err = Embedded(map[string]string{"MUSLRUST_CHEF_CROSS_PLATFORMS": ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cross[embeddedPlatforms[0]].Platforms) != 0 {
		t.Fatalf("the cross declaration follows the build arg: %+v", b.Cross)
	}
}
