// Package chef plans cached Rust builds the way cargo-chef does, in Go on the
// host: a recipe that captures exactly what decides which dependencies get
// compiled and a skeleton workspace with dummy sources, which the cook stage
// of images/app/Dockerfile builds.
package chef

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// Recipe is cargo-chef's recipe.json, plus one optional key that cargo-chef
// ignores (serde skips unknown fields) and that only appears when a path
// dependency lives outside the workspace root.
type Recipe struct {
	Skeleton Skeleton `json:"skeleton"`
	// WorkspaceDir is where the workspace root sits inside the skeleton when
	// manifests outside it (relative paths with "..") need room above it.
	WorkspaceDir string `json:"muslrust_chef_workspace_dir,omitempty"`
}

// Skeleton follows cargo-chef's schema field for field.
type Skeleton struct {
	Manifests         []Manifest     `json:"manifests"`
	ConfigFile        *string        `json:"config_file"`
	LockFile          *string        `json:"lock_file"`
	RustToolchainFile *ToolchainFile `json:"rust_toolchain_file"`
}

// Manifest is one Cargo.toml, masked, with the targets cargo would discover.
type Manifest struct {
	RelativePath string   `json:"relative_path"`
	Contents     string   `json:"contents"`
	Targets      []Target `json:"targets"`
}

// Target is a build target of a manifest, path relative to the manifest dir.
type Target struct {
	Path string     `json:"path"`
	Kind TargetKind `json:"kind"`
	Name string     `json:"name"`
}

// TargetKind serialises like cargo-chef's serde enum: "Bin", "Test", ... and
// {"Lib":{"is_proc_macro":bool}}.
type TargetKind struct {
	Name        string // Lib, Bin, Test, Bench, Example, BuildScript
	IsProcMacro bool
}

// MarshalJSON writes the serde externally tagged enum form.
func (k TargetKind) MarshalJSON() ([]byte, error) {
	if k.Name == "Lib" {
		return []byte(fmt.Sprintf(`{"Lib":{"is_proc_macro":%t}}`, k.IsProcMacro)), nil
	}
	return json.Marshal(k.Name)
}

// UnmarshalJSON reads both enum forms.
func (k *TargetKind) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*k = TargetKind{Name: s}
		return nil
	}
	var lib struct {
		Lib *struct {
			IsProcMacro bool `json:"is_proc_macro"`
		} `json:"Lib"`
	}
	if err := json.Unmarshal(b, &lib); err != nil || lib.Lib == nil {
		return fmt.Errorf("recipe: unknown target kind %s", b)
	}
	*k = TargetKind{Name: "Lib", IsProcMacro: lib.Lib.IsProcMacro}
	return nil
}

// ToolchainFile is cargo-chef's (RustToolchainFile, String) tuple: the kind
// tells the cook which file name to write back.
type ToolchainFile struct {
	Kind     string // "Bare" (rust-toolchain) or "Toml" (rust-toolchain.toml)
	Contents string
}

// MarshalJSON writes the serde tuple form ["Toml", "..."].
func (t ToolchainFile) MarshalJSON() ([]byte, error) {
	return json.Marshal([]string{t.Kind, t.Contents})
}

// UnmarshalJSON reads the tuple form.
func (t *ToolchainFile) UnmarshalJSON(b []byte) error {
	var pair []string
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("recipe: rust_toolchain_file must be [kind, contents], got %s", b)
	}
	t.Kind, t.Contents = pair[0], pair[1]
	return nil
}

// FileName is the name the toolchain file had in the workspace.
func (t ToolchainFile) FileName() string {
	if t.Kind == "Bare" {
		return "rust-toolchain"
	}
	return "rust-toolchain.toml"
}

// Encode returns the canonical bytes of the recipe. HTML escaping is off so
// manifests with <, > or & read naturally; the output is the same on every
// machine because every slice is sorted before this point.
func (r *Recipe) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Digest is the sha256 of the encoded recipe: equal digests mean an equal
// cook layer.
func (r *Recipe) Digest() (string, error) {
	b, err := r.Encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// LoadRecipe reads a recipe.json.
func LoadRecipe(file string) (*Recipe, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r Recipe
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a recipe: %w; delete it and plan again", file, err)
	}
	return &r, nil
}

// LocalPackages returns the names of the recipe's local crates, sorted.
func (r *Recipe) LocalPackages() ([]string, error) {
	var out []string
	for _, m := range r.Skeleton.Manifests {
		d, err := parseTOML([]byte(m.Contents), m.RelativePath)
		if err != nil {
			return nil, err
		}
		if name := str(table(d, "package"), "name"); name != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// manifestDir is the directory of a manifest relative to the workspace root.
func (m Manifest) dir() string { return path.Dir(m.RelativePath) }

// skeletonRelative maps a workspace-relative path ("../x/Cargo.toml") into the
// skeleton tree, where the workspace sits at WorkspaceDir.
func (r *Recipe) skeletonRelative(p string) string {
	return path.Join(r.WorkspaceDir, p)
}

// outsideDepth counts how many levels above the workspace root the recipe
// reaches, which is how deep WorkspaceDir has to be.
func outsideDepth(rel string) int {
	n := 0
	for _, part := range strings.Split(path.Clean(rel), "/") {
		if part != ".." {
			break
		}
		n++
	}
	return n
}
