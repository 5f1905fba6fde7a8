// Package cookkey records what keys the cook layer (the dependency build
// of a recipe) and explains, when cook ran instead of being reused, which
// of those inputs changed since the previous image: the "why did cook
// run?" block of issue 16 §4.
//
// A Key is a small typed record: the recipe digest (chef.Recipe.Digest),
// the locked crates of the recipe's Cargo.lock as (name, version, source),
// the toolchain, the builder digest, the cargo profile, features, triples,
// RUSTFLAGS and the digest of .cargo/config.toml. Encode gives compact,
// deterministic JSON that fits an OCI annotation (AnnotationKey) or the
// provenance predicate's internalParameters (pkg/provenance does the
// latter); Decode reads it back. Changes compares two keys and returns one
// line per changed input; WhyCookRan adds the "no input changed: the cache
// was not available" line, naming the cache refs that were tried.
//
// Nothing here reads the environment, the clock or the network.
// pkg/pipeline's records stage (records.go) builds one key per platform
// after the build, from:
//
//   - Recipe and crates: FromRecipe(plan.Recipe). The masked lock is the
//     one the cook builds, so local crates appear as 0.0.1 and a version
//     bump of a workspace member is (correctly) not a change.
//   - Builder: the digest of Builder.Pinned for a published builder; for
//     the embedded builder the sha256 of its Dockerfile plus its base
//     image reference pinned by digest.
//   - Toolchain: `rustc -V` as the build step writes it
//     (dist/<os>_<arch>/.muslrust-chef/rustc.txt). It is not echoed by the
//     cook step, whose RUN text is part of its cache key.
//   - Profile, features, triples, RUSTFLAGS: the cargo.Flags of each
//     platform (Config.Flags, or Target.Flags for cross, plus every cross
//     triple: one cook step builds them all) via WithFlags and
//     WithTriples, so the record cannot disagree with what cook ran.
//   - Template: TemplateDigest of the cook stage's instructions and the
//     cargo snippets it evaluates (pipeline.cookTemplate).
//   - Cargo config: the recipe's Skeleton.ConfigFile (FromRecipe does it).
//
// The key is stored only in the provenance's internalParameters.cook.key,
// never as an annotation (AnnotationKey stays for other orchestrators): an
// annotation on the image would change its digest whenever, say, the
// toolchain string does. When the cook step ran, the previous record is
// read back from the image being replaced (or -compare=<ref>) and
// WhyCookRan(old, cur, the cache refs tried) says why, in one block. With
// the old recipe at hand (a previous plan directory), chef.Changes names
// the manifest-level changes behind a "recipe:" line.
package cookkey

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/muslrust-chef/muslrust-chef/internal/redact"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

// AnnotationKey is the OCI annotation that carries Encode's JSON on an
// image manifest or index.
const AnnotationKey = "io.muslrust-chef.cook-key"

// Version is the schema version written in every record; Decode refuses
// another, so a newer kit's record is not misread as "everything changed".
const Version = 1

// Crate is one [[package]] of the recipe's Cargo.lock.
type Crate struct {
	Name, Version string
	// Source is cargo's source string ("registry+<index>", "sparse+<index>",
	// "git+<url>#<commit>"); empty for workspace members and path crates.
	Source string
}

// Key is what decides whether the cook layer can be reused.
type Key struct {
	// Recipe is chef.Recipe.Digest(): "sha256:<hex>".
	Recipe string
	// Crates are sorted by name, version, source.
	Crates []Crate
	// Toolchain is the rustc version string (`rustc -V`), when known.
	Toolchain string
	// Builder is the builder image's digest, or for the embedded builder
	// the digest of its Dockerfile and its base reference.
	Builder string
	// Profile, Features, AllFeatures and NoDefaultFeatures as in cargo.Flags.
	Profile           string
	Features          []string
	AllFeatures       bool
	NoDefaultFeatures bool
	// Triples are the target triples cooked, sorted.
	Triples []string
	// RustFlags is RUSTFLAGS as cook and build export it.
	RustFlags string
	// CargoConfig is "sha256:<hex>" of .cargo/config.toml, empty when the
	// workspace has none.
	CargoConfig string
	// Template is "sha256:<hex>" of the kit's build template as the cook
	// step runs it: the composed Dockerfile (images/app/Dockerfile) and
	// the cargo snippet it evaluates. Its text is part of the cook step's
	// cache key, so a kit upgrade that changes it re-runs the cook once.
	Template string
}

// Option sets inputs of a Key that do not come from the recipe.
type Option func(*Key)

// WithFlags takes profile, features and RUSTFLAGS from the flags cook ran
// with, and adds their triple.
func WithFlags(f cargo.Flags) Option {
	return func(k *Key) {
		k.Profile = f.ProfileName()
		k.Features = append([]string(nil), f.Features...)
		k.AllFeatures, k.NoDefaultFeatures = f.AllFeatures, f.NoDefaultFeatures
		k.RustFlags = f.RustFlags
		if f.Triple != "" {
			k.Triples = append(k.Triples, f.Triple)
		}
	}
}

// WithTriples adds triples cooked besides the flags' own (a cross build
// cooks every platform's triple in one step).
func WithTriples(triples ...string) Option {
	return func(k *Key) { k.Triples = append(k.Triples, triples...) }
}

// WithBuilder records the builder's digest (see Key.Builder).
func WithBuilder(digest string) Option { return func(k *Key) { k.Builder = digest } }

// WithTemplate records the digest of the kit's build template (see
// Key.Template); TemplateDigest computes one.
func WithTemplate(digest string) Option { return func(k *Key) { k.Template = digest } }

// TemplateDigest is the Key.Template of a composed Dockerfile and the
// cook step's cargo snippets (build arguments whose text the step runs),
// in the order given.
func TemplateDigest(dockerfile []byte, snippets ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", len(dockerfile))
	h.Write(dockerfile)
	for _, s := range snippets {
		fmt.Fprintf(h, "%d\n%s", len(s), s)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// WithToolchain records the rustc version string.
func WithToolchain(rustcVersion string) Option {
	return func(k *Key) { k.Toolchain = strings.TrimSpace(rustcVersion) }
}

// FromRecipe builds the key of a recipe: its digest, the locked crates and
// the .cargo/config.toml digest, plus what opts add.
func FromRecipe(r *chef.Recipe, opts ...Option) (*Key, error) {
	if r == nil {
		return nil, errors.New("cookkey: no recipe: plan the workspace first")
	}
	d, err := r.Digest()
	if err != nil {
		return nil, fmt.Errorf("cookkey: recipe digest: %w", err)
	}
	k := &Key{Recipe: d}
	if r.Skeleton.LockFile != nil {
		if k.Crates, err = LockedCrates([]byte(*r.Skeleton.LockFile)); err != nil {
			return nil, err
		}
	}
	if r.Skeleton.ConfigFile != nil {
		k.CargoConfig = digestOf([]byte(*r.Skeleton.ConfigFile))
	}
	for _, opt := range opts {
		opt(k)
	}
	k.normalize()
	return k, nil
}

// LockedCrates lists the [[package]] entries of a Cargo.lock, sorted.
func LockedCrates(cargoLock []byte) ([]Crate, error) {
	var lock struct {
		Package []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Source  string `toml:"source"`
		} `toml:"package"`
	}
	if err := toml.Unmarshal(cargoLock, &lock); err != nil {
		return nil, fmt.Errorf("cookkey: Cargo.lock of the recipe is not valid TOML: %w", err)
	}
	out := make([]Crate, 0, len(lock.Package))
	for _, p := range lock.Package {
		if p.Name == "" || p.Version == "" {
			return nil, fmt.Errorf("cookkey: Cargo.lock has a [[package]] without name or version (%q %q): regenerate it with cargo generate-lockfile", p.Name, p.Version)
		}
		// A token in a git source URL must not reach the provenance, nor
		// read as a change when it rotates.
		out = append(out, Crate{Name: p.Name, Version: p.Version, Source: redact.Userinfo(p.Source)})
	}
	sortCrates(out)
	return out, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sortCrates(cs []Crate) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Source < b.Source
	})
}

// normalize sorts and deduplicates the list fields so equal inputs give
// equal records whatever order the orchestrator added them in.
func (k *Key) normalize() {
	sortCrates(k.Crates)
	k.Crates = slices.Compact(k.Crates)
	sort.Strings(k.Triples)
	k.Triples = slices.Compact(k.Triples)
	if len(k.Triples) == 0 {
		k.Triples = nil
	}
	if len(k.Features) == 0 {
		k.Features = nil
	}
	if len(k.Crates) == 0 {
		k.Crates = nil
	}
}
