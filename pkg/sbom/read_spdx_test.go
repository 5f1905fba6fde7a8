package sbom

import (
	"bytes"
	"strings"
	"testing"
)

// The SPDX document gives the same table as the CycloneDX one, for every
// kind of source (git, two registries' crates of one name, path root with a
// revision) and for build tools.
func TestReadSPDXGivesTheCycloneDXTable(t *testing.T) {
	s, err := Resolve([]byte(syntheticMetadata), []byte(syntheticLock), WithBinary("tool"), WithBuildTools(true),
		WithTriple("x86_64-unknown-linux-musl"), WithFeatures("--features fast"), WithSourceRevision("0123abc"))
	if err != nil {
		t.Fatal(err)
	}
	cdxDoc, err := s.CycloneDX()
	if err != nil {
		t.Fatal(err)
	}
	spdxDoc, err := s.SPDX()
	if err != nil {
		t.Fatal(err)
	}
	fromCDX, err := ReadCycloneDX(cdxDoc)
	if err != nil {
		t.Fatal(err)
	}
	fromSPDX, err := ReadSPDX(spdxDoc)
	if err != nil {
		t.Fatal(err)
	}
	var want, got bytes.Buffer
	if err := fromCDX.WriteTable(&want); err != nil {
		t.Fatal(err)
	}
	if err := fromSPDX.WriteTable(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("table from SPDX:\n%s\nfrom CycloneDX:\n%s", got.String(), want.String())
	}
	for _, part := range []string{"tool 1.0.0 (cargo package app) for x86_64-unknown-linux-musl, features: --features fast, revision 0123abc: 2 linked crates, 2 build tools",
		"git https://git.example/dep.git@0123456789ab", "Apache-2.0", "aaaaaaaaaaaa", "build   derive", "build   syn"} {
		if !strings.Contains(got.String(), part) {
			t.Errorf("table from SPDX lacks %q:\n%s", part, got.String())
		}
	}
	for _, bad := range []string{`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[]}`, `not json`} {
		if _, err := ReadSPDX([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "sbom: ") {
			t.Errorf("ReadSPDX(%q) = %v, want an sbom: error", bad, err)
		}
	}
}
