package chef

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// doc is a parsed TOML document. Editing the generic tree and marshalling it
// again gives sorted keys (go-toml/v2 sorts map keys), so byte-identical
// output does not depend on how the user ordered their manifest.
type doc = map[string]any

// readTOML parses a file and turns decode errors into one line naming the
// file, line and column.
func readTOML(file, shown string) (doc, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist", shown)
		}
		return nil, fmt.Errorf("read %s: %w", shown, err)
	}
	return parseTOML(b, shown)
}

func parseTOML(b []byte, shown string) (doc, error) {
	var d doc
	if err := toml.Unmarshal(b, &d); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: invalid TOML: %s; fix the file and plan again", shown, row, col, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return nil, fmt.Errorf("%s: invalid TOML: %w", shown, err)
	}
	if d == nil {
		d = doc{}
	}
	return d, nil
}

func marshalTOML(d doc) (string, error) {
	b, err := toml.Marshal(d)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func table(d doc, key string) doc {
	t, _ := d[key].(map[string]any)
	return t
}

func str(d doc, key string) string {
	s, _ := d[key].(string)
	return s
}

// flag reads a boolean key, falling back to def when absent or not a bool.
func boolKey(d doc, key string, def bool) bool {
	if b, ok := d[key].(bool); ok {
		return b
	}
	return def
}

func strList(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func tableList(v any) []doc {
	arr, _ := v.([]any)
	out := make([]doc, 0, len(arr))
	for _, x := range arr {
		if t, ok := x.(map[string]any); ok {
			out = append(out, t)
		}
	}
	return out
}

// depTables yields every dependency table of a manifest, target-specific
// ones included, with a label for messages ("target.'cfg(unix)'.dependencies").
func depTables(d doc) []struct {
	label string
	deps  doc
} {
	var out []struct {
		label string
		deps  doc
	}
	add := func(label string, t doc) {
		if t != nil {
			out = append(out, struct {
				label string
				deps  doc
			}{label, t})
		}
	}
	kinds := []string{"dependencies", "dev-dependencies", "dev_dependencies", "build-dependencies", "build_dependencies"}
	for _, k := range kinds {
		add(k, table(d, k))
	}
	targets := table(d, "target")
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		tt, _ := targets[name].(map[string]any)
		for _, k := range kinds {
			add("target."+quoteKey(name)+"."+k, table(tt, k))
		}
	}
	return out
}

func quoteKey(k string) string {
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "'" + k + "'"
		}
	}
	return k
}
