package sbom

import (
	"bytes"
	"fmt"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
)

// ReadSPDX reads back a document written by (*SBOM).SPDX, for a reader that
// finds only the SPDX referrer of an image. It recovers what WriteTable
// prints (crates, versions, licences, sources, checksums, the binary and its
// package, triple and features), not the dependency edges.
func ReadSPDX(doc []byte) (*SBOM, error) {
	d, err := spdxjson.Read(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("sbom: not an SPDX JSON document: %w", err)
	}
	var rootID string
	for _, r := range d.Relationships {
		if r.Relationship == "DESCRIBES" && string(r.RefA.ElementRefID) == "DOCUMENT" {
			rootID = string(r.RefB.ElementRefID)
		}
	}
	s := &SBOM{}
	found := false
	for _, p := range d.Packages {
		c, err := crateFromSPDX(p)
		if err != nil {
			return nil, err
		}
		switch {
		case string(p.PackageSPDXIdentifier) == rootID:
			found = true
			s.Binary = p.PackageName
			s.Root = c
			s.Root.Name = ""
			for _, part := range strings.Split(p.PackageComment, "; ") {
				if v, ok := strings.CutPrefix(part, "cargo package "); ok {
					s.Root.Name = v
				} else if v, ok := strings.CutPrefix(part, "target "); ok {
					s.Triple = v
				} else if v, ok := strings.CutPrefix(part, "features "); ok {
					s.Features = v
				}
			}
			if s.Root.Name == "" {
				return nil, fmt.Errorf("sbom: the described package %s does not name its cargo package: read a document muslrust-chef wrote", p.PackageName)
			}
		case strings.HasPrefix(p.PackageComment, "build tool:"):
			s.BuildTools = append(s.BuildTools, c)
		default:
			s.Crates = append(s.Crates, c)
		}
	}
	if !found {
		return nil, fmt.Errorf("sbom: the SPDX document describes no package: read a document muslrust-chef wrote")
	}
	sortCrates(s.Crates, make([]string, len(s.Crates)))
	sortCrates(s.BuildTools, make([]string, len(s.BuildTools)))
	return s, nil
}

func crateFromSPDX(p *spdx.Package) (Crate, error) {
	c := Crate{Name: p.PackageName, Version: p.PackageVersion, ref: string(p.PackageSPDXIdentifier)}
	if p.PackageLicenseDeclared != "NOASSERTION" {
		c.License = p.PackageLicenseDeclared
	}
	for _, sum := range p.PackageChecksums {
		if sum.Algorithm == "SHA256" {
			c.SHA256 = sum.Value
		}
	}
	for _, r := range p.PackageExternalReferences {
		if r.RefType == "purl" {
			c.PURL = r.Locator
		}
	}
	info, ok := strings.CutPrefix(p.PackageSourceInfo, "cargo source ")
	if !ok {
		return c, fmt.Errorf("sbom: package %s has no cargo source: read a document muslrust-chef wrote", p.PackageName)
	}
	src, rev, _ := strings.Cut(info, " at revision ")
	source, ok := parseSource(src, rev)
	if !ok {
		return c, fmt.Errorf("sbom: package %s has an unknown cargo source %q: read a document muslrust-chef wrote", p.PackageName, src)
	}
	c.Source = source
	return c, nil
}
