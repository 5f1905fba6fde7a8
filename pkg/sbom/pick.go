package sbom

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// sortCrates orders crates (and their ids alongside) by name, version and
// source, so the documents do not depend on map order.
func sortCrates(cs []Crate, ids []string) {
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	key := func(c Crate) string {
		return c.Name + "\x00" + c.Version + "\x00" + string(c.Source.Kind) + "\x00" + c.Source.URL + "\x00" + c.Source.Commit + "\x00" + c.Source.Path
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(cs[idx[a]]) < key(cs[idx[b]]) })
	cc := append([]Crate(nil), cs...)
	ii := append([]string(nil), ids...)
	for i, j := range idx {
		cs[i], ids[i] = cc[j], ii[j]
	}
}

// pickPackage finds the workspace member named name; without a name, the
// only member, or the only member with a binary named bin (as cargo build
// --bin finds it).
func pickPackage(md *metadata, byID map[string]int, name, bin string) (string, error) {
	var names, withBin []string
	var binIDs []string
	for _, id := range md.WorkspaceMembers {
		i, ok := byID[id]
		if !ok {
			return "", fmt.Errorf("sbom: workspace member %s is not in cargo metadata's packages: the output is inconsistent, re-run cargo metadata", id)
		}
		p := md.Packages[i]
		if name != "" && p.Name == name {
			return id, nil
		}
		names = append(names, p.Name)
		for _, t := range p.Targets {
			if t.Name == bin && slices.Contains(t.Kind, "bin") {
				withBin = append(withBin, p.Name)
				binIDs = append(binIDs, id)
			}
		}
	}
	sort.Strings(names)
	switch {
	case name != "":
		return "", fmt.Errorf("sbom: package %q is not a workspace member (members: %s): name one of them", name, strings.Join(names, ", "))
	case len(md.WorkspaceMembers) == 1:
		return md.WorkspaceMembers[0], nil
	case bin != "" && len(binIDs) == 1:
		return binIDs[0], nil
	case bin != "" && len(binIDs) > 1:
		sort.Strings(withBin)
		return "", fmt.Errorf("sbom: packages %s all have a binary %q: name the package (WithPackage)", strings.Join(withBin, ", "), bin)
	case bin != "":
		return "", fmt.Errorf("sbom: no workspace package has a binary %q (members: %s): name an existing binary", bin, strings.Join(names, ", "))
	}
	return "", fmt.Errorf("sbom: the workspace has %d packages (%s): name the binary's package (WithPackage)", len(names), strings.Join(names, ", "))
}

func pickBinary(pkg string, targets []struct {
	Name string   `json:"name"`
	Kind []string `json:"kind"`
}, name string) (string, error) {
	var bins []string
	for _, t := range targets {
		for _, k := range t.Kind {
			if k == "bin" {
				bins = append(bins, t.Name)
			}
		}
	}
	sort.Strings(bins)
	for _, b := range bins {
		if b == name {
			return b, nil
		}
	}
	switch {
	case name == "" && len(bins) == 1:
		return bins[0], nil
	case name == "" && len(bins) == 0:
		return "", fmt.Errorf("sbom: package %s has no binary target: name a package with a [[bin]] or src/main.rs", pkg)
	case name == "":
		return "", fmt.Errorf("sbom: package %s has %d binaries (%s): name one (WithBinary)", pkg, len(bins), strings.Join(bins, ", "))
	}
	return "", fmt.Errorf("sbom: package %s has no binary %q (binaries: %s): name one of them", pkg, name, strings.Join(bins, ", "))
}

// normalizeLicense turns Cargo's deprecated "MIT/Apache-2.0" into the SPDX
// expression "MIT OR Apache-2.0".
func normalizeLicense(l string) string {
	l = strings.TrimSpace(l)
	if !strings.Contains(l, "/") {
		return l
	}
	parts := strings.Split(l, "/")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, " OR ")
}
