package oneline

import (
	"errors"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"plain":                      "plain",
		"  a\n\tb  c\r\n":            "a b c",
		"toml: line 3\n  key = 1\n^": "toml: line 3 key = 1 ^",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
		if got := Err(errors.New(in)); got != want {
			t.Errorf("Err(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Err(nil); got != "" {
		t.Errorf("Err(nil) = %q", got)
	}
}

// Lines is the variant pkg/buildkit asserts its messages with: the line
// breaks stay visible as " | ".
func TestLines(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"one  line":                        "one line",
		"\nfailed to solve:\r\n  exit 1\n": "failed to solve: | exit 1",
		"a\n\nb":                           "a | | b",
		"a\n":                              "a",
	} {
		if got := Lines(errors.New(in)); got != want {
			t.Errorf("Lines(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Lines(nil); got != "" {
		t.Errorf("Lines(nil) = %q", got)
	}
}
