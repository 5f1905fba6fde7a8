package cookkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// wire is the JSON form. Crates are grouped by source (one source string
// per group instead of one per crate, which keeps a 700-crate lock small
// enough for an annotation), each crate as "name version"; workspace and
// path crates are under "local".
type wire struct {
	V                 int                 `json:"v"`
	Recipe            string              `json:"recipe"`
	Crates            map[string][]string `json:"crates,omitempty"`
	Toolchain         string              `json:"toolchain,omitempty"`
	Builder           string              `json:"builder,omitempty"`
	Profile           string              `json:"profile,omitempty"`
	Features          []string            `json:"features,omitempty"`
	AllFeatures       bool                `json:"allFeatures,omitempty"`
	NoDefaultFeatures bool                `json:"noDefaultFeatures,omitempty"`
	Triples           []string            `json:"triples,omitempty"`
	RustFlags         string              `json:"rustflags,omitempty"`
	CargoConfig       string              `json:"cargoConfig,omitempty"`
	Template          string              `json:"template,omitempty"`
}

const localSource = "local"

// MarshalJSON writes the compact wire form (sorted, so deterministic).
func (k Key) MarshalJSON() ([]byte, error) {
	k.Crates = append([]Crate(nil), k.Crates...)
	k.Triples = append([]string(nil), k.Triples...)
	k.normalize()
	w := wire{V: Version, Recipe: k.Recipe, Toolchain: k.Toolchain, Builder: k.Builder, Profile: k.Profile,
		Features: k.Features, AllFeatures: k.AllFeatures, NoDefaultFeatures: k.NoDefaultFeatures,
		Triples: k.Triples, RustFlags: k.RustFlags, CargoConfig: k.CargoConfig, Template: k.Template}
	for _, c := range k.Crates {
		if strings.ContainsRune(c.Name, ' ') || strings.ContainsRune(c.Version, ' ') {
			return nil, fmt.Errorf("cookkey: crate %q %q has a space in its name or version, which Cargo.lock never has", c.Name, c.Version)
		}
		src := c.Source
		if src == "" {
			src = localSource
		}
		if w.Crates == nil {
			w.Crates = map[string][]string{}
		}
		w.Crates[src] = append(w.Crates[src], c.Name+" "+c.Version)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads the wire form.
func (k *Key) UnmarshalJSON(b []byte) error {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("cookkey: not a cook key record: %w", err)
	}
	if w.V != Version {
		return fmt.Errorf("cookkey: record version %d, this kit reads version %d: compare with an image built by the same kit version", w.V, Version)
	}
	if w.Recipe == "" {
		return errors.New("cookkey: the record has no recipe digest: read a record muslrust-chef wrote")
	}
	*k = Key{Recipe: w.Recipe, Toolchain: w.Toolchain, Builder: w.Builder, Profile: w.Profile,
		Features: w.Features, AllFeatures: w.AllFeatures, NoDefaultFeatures: w.NoDefaultFeatures,
		Triples: w.Triples, RustFlags: w.RustFlags, CargoConfig: w.CargoConfig, Template: w.Template}
	for src, list := range w.Crates {
		if src == localSource {
			src = ""
		}
		for _, nv := range list {
			n, v, ok := strings.Cut(nv, " ")
			if !ok || n == "" || v == "" {
				return fmt.Errorf("cookkey: crate entry %q is not \"name version\": read a record muslrust-chef wrote", nv)
			}
			k.Crates = append(k.Crates, Crate{Name: n, Version: v, Source: src})
		}
	}
	k.normalize()
	return nil
}

// Encode is the record's compact JSON, the value of AnnotationKey.
func (k *Key) Encode() (string, error) {
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("cookkey: encoding the record: %w", err)
	}
	return string(b), nil
}

// Decode reads a record written by Encode (an annotation's value).
func Decode(s string) (*Key, error) {
	var k Key
	if err := k.UnmarshalJSON([]byte(s)); err != nil {
		return nil, err
	}
	return &k, nil
}
