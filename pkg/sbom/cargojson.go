package sbom

import (
	"regexp"
)

// metadata is the part of `cargo metadata --format-version 1` read here.
type metadata struct {
	Packages []struct {
		ID           string  `json:"id"`
		Name         string  `json:"name"`
		Version      string  `json:"version"`
		Source       *string `json:"source"`
		License      *string `json:"license"`
		ManifestPath string  `json:"manifest_path"`
		Targets      []struct {
			Name string   `json:"name"`
			Kind []string `json:"kind"`
		} `json:"targets"`
	} `json:"packages"`
	WorkspaceMembers []string `json:"workspace_members"`
	WorkspaceRoot    string   `json:"workspace_root"`
	Resolve          *struct {
		Nodes []struct {
			ID   string `json:"id"`
			Deps []struct {
				Pkg      string `json:"pkg"`
				DepKinds []struct {
					Kind *string `json:"kind"`
				} `json:"dep_kinds"`
			} `json:"deps"`
		} `json:"nodes"`
	} `json:"resolve"`
}

type lockfile struct {
	Package []struct {
		Name     string `toml:"name"`
		Version  string `toml:"version"`
		Source   string `toml:"source"`
		Checksum string `toml:"checksum"`
	} `toml:"package"`
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

type edgeKind int

const (
	edgeNormal edgeKind = 1 << iota
	edgeBuild
)

type node struct {
	procMac  bool
	deps     map[string]edgeKind // package id -> kinds, dev edges dropped
	linked   bool
	buildUse bool
}
