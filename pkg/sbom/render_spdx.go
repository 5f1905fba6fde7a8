package sbom

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// spdxIDChars is what SPDX allows after "SPDXRef-".
var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]`)

func spdxID(ref string) common.ElementID {
	return common.ElementID("Package-" + spdxIDChars.ReplaceAllString(strings.TrimPrefix(ref, "pkg:cargo/"), "-"))
}

// SPDX renders the SBOM as SPDX 2.3 JSON: the binary's package is
// DESCRIBED by the document and DEPENDS_ON its linked crates; build tools
// are BUILD_DEPENDENCY_OF the package that uses them.
func (s *SBOM) SPDX(opts ...RenderOption) ([]byte, error) {
	o := renderOpts(opts)
	created := "1970-01-01T00:00:00Z"
	if o.created != nil {
		created = o.created.Format(time.RFC3339)
	}
	doc := &spdx.Document{
		SPDXVersion:    spdx.Version,
		DataLicense:    spdx.DataLicense,
		SPDXIdentifier: "DOCUMENT",
		DocumentName:   s.docName(),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "muslrust-chef-" + o.toolVersion}},
			Created:  created,
		},
	}
	ids := map[string]common.ElementID{}
	used := map[common.ElementID]bool{}
	idOf := func(ref string) common.ElementID {
		if id, ok := ids[ref]; ok {
			return id
		}
		id := spdxID(ref)
		for n := 2; used[id]; n++ {
			id = common.ElementID(fmt.Sprintf("%s-%d", spdxID(ref), n))
		}
		used[id] = true
		ids[ref] = id
		return id
	}
	rootPkg := s.spdxPackage(s.Root, idOf(s.Root.ref))
	rootPkg.PackageName = s.Binary
	rootPkg.PrimaryPackagePurpose = "APPLICATION"
	var comment []string
	comment = append(comment, "cargo package "+s.Root.Name)
	if s.Triple != "" {
		comment = append(comment, "target "+s.Triple)
	}
	if s.Features != "" {
		comment = append(comment, "features "+s.Features)
	}
	rootPkg.PackageComment = strings.Join(comment, "; ")
	doc.Packages = []*spdx.Package{rootPkg}
	rel := func(a, kind, b string) *spdx.Relationship {
		return &spdx.Relationship{RefA: common.MakeDocElementID("", string(idOf(a))), RefB: common.MakeDocElementID("", string(idOf(b))), Relationship: kind}
	}
	doc.Relationships = []*spdx.Relationship{{
		RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", string(idOf(s.Root.ref))), Relationship: "DESCRIBES",
	}}
	for _, r := range s.RootDependsOn {
		doc.Relationships = append(doc.Relationships, rel(s.Root.ref, "DEPENDS_ON", r))
	}
	for _, r := range s.RootBuildTools {
		doc.Relationships = append(doc.Relationships, rel(r, "BUILD_DEPENDENCY_OF", s.Root.ref))
	}
	var pkgs []*spdx.Package
	for _, c := range s.Crates {
		pkgs = append(pkgs, s.spdxPackage(c, idOf(c.ref)))
		for _, d := range c.DependsOn {
			doc.Relationships = append(doc.Relationships, rel(c.ref, "DEPENDS_ON", d))
		}
	}
	for _, c := range s.BuildTools {
		p := s.spdxPackage(c, idOf(c.ref))
		p.PackageComment = "build tool: used by a build script or proc-macro, not linked into the binary"
		pkgs = append(pkgs, p)
		for _, d := range c.DependsOn {
			doc.Relationships = append(doc.Relationships, rel(d, "BUILD_DEPENDENCY_OF", c.ref))
		}
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return pkgs[i].PackageSPDXIdentifier < pkgs[j].PackageSPDXIdentifier })
	doc.Packages = append(doc.Packages, pkgs...)
	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
			return nil, fmt.Errorf("sbom: encoding SPDX: %w", err)
		}
		return buf.Bytes(), nil
	}
	// The namespace must be unique per document: a digest of the
	// document without it keeps it stable for equal inputs.
	body, err := encode()
	if err != nil {
		return nil, err
	}
	doc.DocumentNamespace = strings.TrimSuffix(o.namespace, "/") + "/" + doc.DocumentName + "-" + contentUUID(body)
	return encode()
}

func (s *SBOM) spdxPackage(c Crate, id common.ElementID) *spdx.Package {
	p := &spdx.Package{
		PackageName:             c.Name,
		PackageSPDXIdentifier:   id,
		PackageVersion:          c.Version,
		PackageDownloadLocation: "NOASSERTION",
		FilesAnalyzed:           false,
		// Concluded needs an analysis this kit does not do; declared is the
		// manifest's word.
		PackageLicenseConcluded: "NOASSERTION",
		PackageLicenseDeclared:  "NOASSERTION",
		PackageCopyrightText:    "NOASSERTION",
		PackageSourceInfo:       "cargo source " + sourceString(c),
		PrimaryPackagePurpose:   "LIBRARY",
		PackageExternalReferences: []*spdx.PackageExternalReference{{
			Category: "PACKAGE-MANAGER", RefType: "purl", Locator: c.PURL,
		}},
	}
	p.IsFilesAnalyzedTagPresent = true
	if c.License != "" {
		p.PackageLicenseDeclared = c.License
	}
	if c.SHA256 != "" {
		p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: c.SHA256}}
	}
	switch c.Source.Kind {
	case SourceGit:
		p.PackageDownloadLocation = "git+" + c.Source.URL + "@" + c.Source.Commit
	case SourcePath:
		if c.Source.Commit != "" {
			p.PackageSourceInfo += " at revision " + c.Source.Commit
		}
	}
	return p
}
