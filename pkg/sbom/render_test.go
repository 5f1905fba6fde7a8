package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// cycloneDXSchema compiles the CycloneDX 1.5 JSON schema with the two
// schemas it references, from the copies github.com/CycloneDX/cyclonedx-go
// ships in its module (the version go.mod pins, already in the module
// cache because this package is built with it); nothing is fetched.
func cycloneDXSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command(testinfra.Tool(t, "go"), "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("locating the cyclonedx-go module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// The module names the JSF schema jsf-0.82.schemax.json; the BOM
	// schema refers to it as jsf-0.82.schema.json.
	for file, id := range map[string]string{
		"bom-1.5.schema.json":   "bom-1.5.schema.json",
		"spdx.schema.json":      "spdx.schema.json",
		"jsf-0.82.schemax.json": "jsf-0.82.schema.json",
	} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+id, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.5.schema.json")
	if err != nil {
		t.Fatalf("compiling the CycloneDX 1.5 schema: %v", err)
	}
	return s
}

func validateCycloneDX(t *testing.T, s *jsonschema.Schema, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("CycloneDX output is not JSON: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("CycloneDX output fails the 1.5 schema: %v\n%s", err, doc)
	}
}

var (
	spdxRefRE   = regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	spdxDateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	creatorRE   = regexp.MustCompile(`^(Tool|Organization|Person): \S`)
	sha256HexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// The relationship types of SPDX 2.3 clause 11.1 used or plausible here.
	spdxRelTypes = map[string]bool{"DESCRIBES": true, "DEPENDS_ON": true, "DEPENDENCY_OF": true, "BUILD_DEPENDENCY_OF": true, "BUILD_TOOL_OF": true, "CONTAINS": true}
)

// validateSPDX checks an SPDX 2.3 JSON document. No SPDX 2.3 JSON schema
// is available offline (tools-golang ships none, and the Go module proxy
// serves no module that does), so this checks the spec's mandatory fields
// and formats by hand, then reads the document back with tools-golang and
// runs its own document validation.
func validateSPDX(t *testing.T, doc []byte) {
	t.Helper()
	var d struct {
		SPDXVersion       string `json:"spdxVersion"`
		DataLicense       string `json:"dataLicense"`
		SPDXID            string `json:"SPDXID"`
		Name              string `json:"name"`
		DocumentNamespace string `json:"documentNamespace"`
		CreationInfo      *struct {
			Creators []string `json:"creators"`
			Created  string   `json:"created"`
		} `json:"creationInfo"`
		Packages []struct {
			Name             string  `json:"name"`
			SPDXID           string  `json:"SPDXID"`
			DownloadLocation string  `json:"downloadLocation"`
			FilesAnalyzed    *bool   `json:"filesAnalyzed"`
			VerificationCode *string `json:"packageVerificationCode"`
			Checksums        []struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"checksumValue"`
			} `json:"checksums"`
			ExternalRefs []struct {
				Category string `json:"referenceCategory"`
				Type     string `json:"referenceType"`
				Locator  string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
		Relationships []struct {
			A    string `json:"spdxElementId"`
			B    string `json:"relatedSpdxElement"`
			Type string `json:"relationshipType"`
		} `json:"relationships"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("SPDX output is not JSON: %v", err)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if d.SPDXVersion != "SPDX-2.3" || d.DataLicense != "CC0-1.0" || d.SPDXID != "SPDXRef-DOCUMENT" || d.Name == "" {
		bad("document header: version %q licence %q id %q name %q", d.SPDXVersion, d.DataLicense, d.SPDXID, d.Name)
	}
	if u, err := url.Parse(d.DocumentNamespace); err != nil || !u.IsAbs() || strings.Contains(d.DocumentNamespace, "#") {
		bad("documentNamespace %q is not an absolute URI without #", d.DocumentNamespace)
	}
	if d.CreationInfo == nil || !spdxDateRE.MatchString(d.CreationInfo.Created) || len(d.CreationInfo.Creators) == 0 {
		bad("creationInfo missing, or created/creators wrong: %+v", d.CreationInfo)
	} else {
		for _, c := range d.CreationInfo.Creators {
			if !creatorRE.MatchString(c) {
				bad("creator %q", c)
			}
		}
	}
	ids := map[string]bool{"SPDXRef-DOCUMENT": true}
	for _, p := range d.Packages {
		if p.Name == "" || !spdxRefRE.MatchString(p.SPDXID) || ids[p.SPDXID] || p.DownloadLocation == "" {
			bad("package %q: id %q (duplicate %v) downloadLocation %q", p.Name, p.SPDXID, ids[p.SPDXID], p.DownloadLocation)
		}
		ids[p.SPDXID] = true
		if p.FilesAnalyzed == nil || (!*p.FilesAnalyzed && p.VerificationCode != nil) {
			bad("package %q: filesAnalyzed %v with verification code %v", p.Name, p.FilesAnalyzed, p.VerificationCode)
		}
		for _, c := range p.Checksums {
			if c.Algorithm != "SHA256" || !sha256HexRE.MatchString(c.Value) {
				bad("package %q: checksum %s %q", p.Name, c.Algorithm, c.Value)
			}
		}
		for _, r := range p.ExternalRefs {
			if r.Category != "PACKAGE-MANAGER" || r.Type != "purl" || !strings.HasPrefix(r.Locator, "pkg:cargo/") {
				bad("package %q: external ref %+v", p.Name, r)
			}
		}
	}
	describes := 0
	for _, r := range d.Relationships {
		if !ids[r.A] || !ids[r.B] || !spdxRelTypes[r.Type] {
			bad("relationship %s %s %s names an unknown element or type", r.A, r.Type, r.B)
		}
		if r.A == "SPDXRef-DOCUMENT" && r.Type == "DESCRIBES" {
			describes++
		}
	}
	if describes != 1 {
		bad("%d DESCRIBES relationships, want 1", describes)
	}
	for _, e := range errs {
		t.Errorf("SPDX 2.3: %s", e)
	}

	read, err := spdxjson.Read(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("tools-golang cannot read the SPDX output back: %v", err)
	}
	if err := spdxlib.ValidateDocument(read); err != nil {
		t.Errorf("tools-golang rejects the SPDX output: %v", err)
	}
}

func TestDocumentsAreValidAndReproducible(t *testing.T) {
	c := newCargoEnv(t)
	dir := workspace(t, c)
	schema := cycloneDXSchema(t)
	when := time.Unix(1700000000, 0)
	for _, f := range []cargo.Flags{
		{Triple: "x86_64-unknown-linux-musl", Package: "app"},
		{Triple: "aarch64-unknown-linux-musl", Package: "app", Features: []string{"fast"}},
	} {
		for _, tools := range []bool{false, true} {
			s := resolveFor(t, c, dir, f, WithBuildTools(tools), WithSourceRevision("0123abc"))
			opts := []RenderOption{WithTimestamp(when), WithToolVersion("v1.2.3")}
			cdx1, err := s.CycloneDX(opts...)
			if err != nil {
				t.Fatal(err)
			}
			validateCycloneDX(t, schema, cdx1)
			spdx1, err := s.SPDX(opts...)
			if err != nil {
				t.Fatal(err)
			}
			validateSPDX(t, spdx1)
			if !strings.Contains(string(cdx1), `"timestamp": "2023-11-14T22:13:20Z"`) || !strings.Contains(string(spdx1), `"created": "2023-11-14T22:13:20Z"`) {
				t.Errorf("the given timestamp is missing from a document")
			}

			// A second, independent run (new cargo metadata, new Resolve)
			// gives the same bytes.
			again := resolveFor(t, c, dir, f, WithBuildTools(tools), WithSourceRevision("0123abc"))
			cdx2, _ := again.CycloneDX(opts...)
			spdx2, _ := again.SPDX(opts...)
			if !bytes.Equal(cdx1, cdx2) || !bytes.Equal(spdx1, spdx2) {
				t.Errorf("%s tools=%v: two runs gave different documents", f.Triple, tools)
			}

			// Without a timestamp: no wall clock anywhere.
			plain, err := s.CycloneDX()
			if err != nil {
				t.Fatal(err)
			}
			validateCycloneDX(t, schema, plain)
			if strings.Contains(string(plain), "timestamp") {
				t.Errorf("CycloneDX without WithTimestamp has a timestamp")
			}
			plainSPDX, err := s.SPDX()
			if err != nil {
				t.Fatal(err)
			}
			validateSPDX(t, plainSPDX)
			if !strings.Contains(string(plainSPDX), `"created": "1970-01-01T00:00:00Z"`) {
				t.Errorf("SPDX without WithTimestamp does not say the epoch")
			}
		}
	}
	// Different content, different identifiers.
	a := resolveFor(t, c, dir, cargo.Flags{Triple: "x86_64-unknown-linux-musl", Package: "app"})
	b := resolveFor(t, c, dir, cargo.Flags{Triple: "aarch64-unknown-linux-musl", Package: "app"})
	ad, _ := a.CycloneDX()
	bd, _ := b.CycloneDX()
	if serial(t, ad) == serial(t, bd) {
		t.Error("amd64 and arm64 CycloneDX documents share a serial number")
	}
}

func serial(t *testing.T, doc []byte) string {
	t.Helper()
	var d struct {
		SerialNumber string `json:"serialNumber"`
	}
	if err := json.Unmarshal(doc, &d); err != nil || d.SerialNumber == "" {
		t.Fatalf("no serialNumber: %v", err)
	}
	return d.SerialNumber
}

func TestReadBackAndTable(t *testing.T) {
	c := newCargoEnv(t)
	dir := workspace(t, c)
	s := resolveFor(t, c, dir, cargo.Flags{Triple: "aarch64-unknown-linux-musl", Package: "app", Features: []string{"fast"}}, WithBuildTools(true), WithSourceRevision("0123abc"))
	opts := []RenderOption{WithTimestamp(time.Unix(1700000000, 0)), WithToolVersion("v1.2.3")}
	doc, err := s.CycloneDX(opts...)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadCycloneDX(doc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.CycloneDX(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, again) {
		t.Errorf("read back and rendered again, the document changed:\n%s\n---\n%s", doc, again)
	}
	var table bytes.Buffer
	if err := back.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if lines[0] != "app-server 0.3.0 (cargo package app) for aarch64-unknown-linux-musl, features: --features fast, revision 0123abc: 4 linked crates, 1 build tools" {
		t.Errorf("table head = %q", lines[0])
	}
	var kinds []string
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		kinds = append(kinds, f[0]+" "+f[1])
	}
	want := "linked cfg-if,linked either,linked helper,linked memchr,build itoa"
	if strings.Join(kinds, ",") != want {
		t.Errorf("table rows = %v, want %s\n%s", kinds, want, table.String())
	}
	if !strings.Contains(table.String(), "path helper") || !strings.Contains(table.String(), "1aab8fc36758") {
		t.Errorf("table lacks the helper path or itoa's digest:\n%s", table.String())
	}
	if _, err := ReadCycloneDX([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1}`)); err == nil || !strings.Contains(err.Error(), "metadata component") {
		t.Errorf("document without metadata: err = %v", err)
	}
}
