package elfcheck

import (
	"strings"
	"testing"
)

func TestParseRequiredAllocator(t *testing.T) {
	for in, want := range map[string]Allocator{"": "", "  ": "", "mimalloc": AllocMimalloc, "MiMalloc": AllocMimalloc, " jemalloc ": AllocJemalloc} {
		got, err := ParseRequiredAllocator(in)
		if err != nil || got != want {
			t.Errorf("ParseRequiredAllocator(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"musl", "glibc", "system", "tcmalloc", "mimalloc,jemalloc"} {
		_, err := ParseRequiredAllocator(in)
		if err == nil || !strings.Contains(err.Error(), "use mimalloc or jemalloc") || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseRequiredAllocator(%q): %v", in, err)
		}
	}
}

// The table the contents path looks for is musl's: 48 classes, the last
// one 8191 units of 16 bytes (mallocng's largest slot size, 128 KiB).
func TestMallocngTable(t *testing.T) {
	if n := len(mallocngSizeClasses); n != 48 || mallocngSizeClasses[n-1] != 8191 {
		t.Errorf("size classes: %d entries, last %d", n, mallocngSizeClasses[n-1])
	}
	for i := 1; i < len(mallocngSizeClasses); i++ {
		if mallocngSizeClasses[i] <= mallocngSizeClasses[i-1] {
			t.Fatalf("size classes not increasing at %d", i)
		}
	}
}
