package zigcc

import (
	"bufio"
	_ "embed"
	"fmt"
	"os"
	"strings"
)

// ExpandResponseFiles replaces every @file argument by the arguments the
// file holds (rustc writes one when a link line is too long), so that the
// flags inside are translated too. expanded says whether any was found.
func ExpandResponseFiles(args []string) (out []string, expanded bool, err error) {
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "@")
		if !ok || name == "" {
			out = append(out, a)
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			if os.IsNotExist(err) {
				// Not a response file (clang also passes unknown @args on).
				out = append(out, a)
				continue
			}
			return nil, false, fmt.Errorf("zig wrapper: response file %s: %w", name, err)
		}
		out = append(out, splitResponse(string(b))...)
		expanded = true
	}
	return out, expanded, nil
}

// splitResponse splits a GNU-style response file: whitespace separates
// arguments, backslash escapes the next character, quotes group.
func splitResponse(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\' && i+1 < len(rs) && quote != '\'':
			i++
			cur.WriteRune(rs[i])
			in = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '"' || c == '\'':
			quote = c
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// WriteResponseFile writes args to a new response file in dir (quoted
// for splitResponse and clang alike) and returns its path; the caller
// removes it.
func WriteResponseFile(dir string, args []string) (string, error) {
	f, err := os.CreateTemp(dir, "muslrust-chef-zig-*.rsp")
	if err != nil {
		return "", fmt.Errorf("zig wrapper: cannot write a response file: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, a := range args {
		w.WriteString(quoteResponse(a))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func quoteResponse(a string) string {
	var b strings.Builder
	for _, c := range a {
		if c == '\\' || c == '"' || c == '\'' || c == ' ' || c == '\t' || c == '\n' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	if a == "" {
		return `""`
	}
	return b.String()
}
