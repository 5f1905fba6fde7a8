package bench

import "testing"

// TestBuilder builds (or finds) the benchmark's builder image: the first
// run on a machine takes minutes, later ones find it in the registry.
func TestBuilder(t *testing.T) {
	if ref := Builder(t); ref == "" {
		t.Fatal("no builder reference")
	}
}
