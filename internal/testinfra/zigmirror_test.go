package testinfra

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
)

// The mirror URL serves the tarball with the sha256 it names, twice (the
// second call finds the blob already stored and returns the same URL).
func TestZigMirrorServesTheTarball(t *testing.T) {
	url, sha := ZigMirror(t)
	again, sha2 := ZigMirror(t)
	if again != url || sha2 != sha {
		t.Errorf("second call gave %s %s, first %s %s", again, sha2, url, sha)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		t.Errorf("GET %s: sha256 %s, want %s", url, got, sha)
	}
}
