package pipeline

import (
	"fmt"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// summaryPage is the job summary of one build (GitHub Actions' step
// summary): what shipped per platform, why cook ran, where the records
// are, and the timings, rendered as one Markdown block.
type summaryPage struct {
	// What is "build" or "cook"; Failed the stage a failed run stopped in.
	What, Failed string
	// Image is the published reference (repo@sha256:..., DIR@sha256:...,
	// the tag of tar and docker); empty when nothing was published.
	Image    string
	Strategy string
	Rows     []summaryRow
	Why      []CookWhy
	Timings  Timings
}

// summaryRow is one platform's image.
type summaryRow struct {
	Platform platform.Platform
	// Binary is the file name; Size its size in bytes.
	Binary string
	Size   int64
	// Allocator is what verify found, e.g. "musl malloc (mallocng),
	// multi-threaded".
	Allocator string
	// Digest is the platform manifest's digest; empty before slim.
	Digest string
	// Cook is "reused", "ran 41.2s", or "not reported".
	Cook string
	// CycloneDX, SPDX and Provenance are where the records are: a
	// referrer (repo@sha256:...) or a file; empty when none was written.
	CycloneDX, SPDX, Provenance string
}

// markdown renders the page. A cook has only its timings; a build that
// failed has what it reached.
func (s summaryPage) markdown() string {
	var b strings.Builder
	title := "muslrust-chef " + s.What
	if s.Failed != "" {
		title += " (failed in " + s.Failed + ")"
	}
	if s.Image != "" {
		title += ": " + code(s.Image)
	}
	fmt.Fprintf(&b, "### %s\n\n", title)
	if s.Strategy != "" {
		fmt.Fprintf(&b, "Strategy %s.\n\n", s.Strategy)
	}
	if len(s.Rows) > 0 {
		b.WriteString("| platform | binary | size | allocator | image digest | cook |\n|---|---|---:|---|---|---|\n")
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Platform, code(r.Binary), sizeText(r.Size),
				cell(r.Allocator), code(r.Digest), cell(r.Cook))
		}
		b.WriteString("\n")
	}
	if len(s.Why) > 0 {
		b.WriteString("#### Why did cook run\n\n")
		for _, w := range s.Why {
			head := joinPlatforms(w.Platforms)
			if w.From != "" {
				head += " (compared with " + code(w.From) + ")"
			}
			fmt.Fprintf(&b, "%s:\n\n", head)
			for _, l := range w.Lines {
				fmt.Fprintf(&b, "- %s\n", escape(l))
			}
			b.WriteString("\n")
		}
	}
	if s.hasRecords() {
		b.WriteString("#### Records\n\n| platform | SBOM (CycloneDX) | SBOM (SPDX) | provenance |\n|---|---|---|---|\n")
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Platform, code(r.CycloneDX), code(r.SPDX), code(r.Provenance))
		}
		b.WriteString("\n")
	}
	b.WriteString("#### Timings\n\n")
	b.WriteString(s.Timings.markdownTable())
	return b.String()
}

func (s summaryPage) hasRecords() bool {
	for _, r := range s.Rows {
		if r.CycloneDX != "" || r.SPDX != "" || r.Provenance != "" {
			return true
		}
	}
	return false
}

// sizeText is a size for people and to the byte: "1.9 MB (1992312 B)".
func sizeText(n int64) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%s (%d B)", humanBytes(n), n)
}

// code is s as inline code ("—" when empty); the values it holds
// (references, digests, paths, binary names) hold no backtick.
func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

// cell is text in a table cell ("—" when empty).
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return escape(s)
}

// markdownEscaper keeps text literal in GitHub's Markdown: no emphasis,
// link, HTML or table cell boundary out of a crate name or a flag.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "|", `\|`, "#", `\#`)

func escape(s string) string { return markdownEscaper.Replace(s) }
