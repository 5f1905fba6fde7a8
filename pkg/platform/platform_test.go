package platform

import (
	"debug/elf"
	"strings"
	"testing"
)

func TestParseListAcceptsCommonSpellings(t *testing.T) {
	got, err := ParseList(" linux/arm64/v8 , amd64,linux/amd64,, arm64 , aarch64")
	if err != nil {
		t.Fatal(err)
	}
	if Join(got) != "linux/amd64,linux/arm64" {
		t.Fatalf("got %s", Join(got))
	}
}

func TestPlatformFacts(t *testing.T) {
	cases := []struct {
		in, musl, gnu, dist string
		machine             elf.Machine
	}{
		{"linux/amd64", "x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu", "linux_amd64", elf.EM_X86_64},
		{"arm64", "aarch64-unknown-linux-musl", "aarch64-unknown-linux-gnu", "linux_arm64", elf.EM_AARCH64},
	}
	for _, c := range cases {
		p, err := Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Triple("") != c.musl || p.Triple("musl") != c.musl || p.Triple("gnu") != c.gnu {
			t.Errorf("%s: triples %s %s", c.in, p.Triple(""), p.Triple("gnu"))
		}
		if p.DistDir() != c.dist || p.Machine() != c.machine {
			t.Errorf("%s: dist %s machine %v", c.in, p.DistDir(), p.Machine())
		}
		back, ok := ForMachine(c.machine)
		if !ok || back != p {
			t.Errorf("ForMachine(%v) = %v", c.machine, back)
		}
	}
}

func TestParseRejectsUnsupported(t *testing.T) {
	for _, in := range []string{"linux/386", "windows/amd64", "linux/arm/v7", "linux/arm64/v7", "linux/amd64/v2/x", "s390x", ""} {
		_, err := ParseList(in)
		if err == nil {
			t.Errorf("%q: accepted", in)
			continue
		}
		if !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
			t.Errorf("%q: error does not list supported platforms: %v", in, err)
		}
	}
}

func TestLibc(t *testing.T) {
	if l, _ := Libc(""); l != "musl" {
		t.Fatal(l)
	}
	if _, err := Libc("uclibc"); err == nil {
		t.Fatal("uclibc accepted")
	}
}
