package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// CookWhy is the "why did cook run" block of platforms whose cook ran
// instead of being reused: what changed in the inputs that key the cook
// layer since the previous record, or why there is nothing to compare with.
type CookWhy struct {
	// Platforms are the platforms the block is about: one, or every
	// platform of a cross build (one cook step compiles all triples).
	Platforms []platform.Platform
	// From names the record compared with: an image reference, or the
	// previous build's provenance file; empty when none was found.
	From string
	// Lines say what changed (cookkey.WhyCookRan), one input a line.
	Lines []string
}

// whyPlatform is one platform's cook as the records stage saw it.
type whyPlatform struct {
	Platform platform.Platform
	// Key is this build's cook key; CookRan says the cook step ran.
	Key     *cookkey.Key
	CookRan bool
	// Tried are the cache refs (or the local cache directory) the cook
	// could have been reused from.
	Tried []string
}

// whyIn is what whyCook needs.
type whyIn struct {
	// Compare is -compare: the image to compare with, read only when a
	// cook ran; an image that cannot be read is a usage error.
	Compare string
	// Replaced is the tag this build is about to move (registry output),
	// empty for the other outputs: its records are the previous build's.
	Replaced string
	// Platforms in build order; Cross prints one block for all of them.
	Platforms []whyPlatform
	Cross     bool
	// PrevDist are the previous build's provenance statements in Dist,
	// read before this build's export replaced them (readPrevDist).
	PrevDist  map[platform.Platform][]byte
	Dist, Bin string
	Registry  []publish.RegistryOption
	Log       io.Writer
}

// whyInputs is what whyCook needs from a build: the records stage's keys and
// cook outcomes, and the tag being replaced when the image goes to a
// registry (a split platform pushed by digest compares with the index
// its tag names).
func whyInputs(c *Config, s *Solved, rec recordsOut, tags []name.Tag, out publish.Output, o *options) whyIn {
	in := whyIn{Compare: c.Compare, Cross: s.Strategy == StrategyCross, PrevDist: s.PrevDist, Dist: c.Dist, Bin: c.Bin,
		Registry: o.registry, Log: o.log}
	if out.Kind == "registry" && len(tags) > 0 {
		in.Replaced = tags[0].String()
	}
	for _, pr := range rec.ByPlatform {
		in.Platforms = append(in.Platforms, whyPlatform{Platform: pr.Platform, Key: pr.Key,
			CookRan: pr.CookKnown && pr.CookRan, Tried: cacheTried(s, pr.Platform)})
	}
	return in
}

// previous is the record a platform's key is compared with.
type previous struct {
	from string
	key  *cookkey.Key
	// missing says why there is no key to compare with (first push, no
	// record); it is the block's only line.
	missing string
	// note qualifies the comparison (which of several records was
	// taken); it goes before the changes.
	note string
}

// whyCook explains each cook that ran: it finds the previous record
// (-compare, else the tag being replaced, else the previous dist's
// provenance), compares the cook keys and prints one block per platform
// (one for a cross build) to the log. It contacts no registry when no
// cook ran, nor for outputs other than a registry without -compare. Only
// an unreadable -compare fails (a usage error); any other record that
// cannot be read is a warning and a line of the block.
func whyCook(ctx context.Context, in whyIn) ([]CookWhy, error) {
	var ran []whyPlatform
	for _, p := range in.Platforms {
		if p.CookRan {
			ran = append(ran, p)
		}
	}
	if len(ran) == 0 {
		return nil, nil
	}
	prev, err := previousRecords(ctx, in, ran)
	if err != nil {
		return nil, err
	}
	var out []CookWhy
	for _, p := range ran {
		pr := prev[p.Platform]
		lines := []string{pr.missing}
		if pr.missing == "" {
			lines = cookkey.WhyCookRan(pr.key, p.Key, p.Tried)
		}
		if pr.note != "" {
			lines = append([]string{pr.note}, lines...)
		}
		out = append(out, CookWhy{Platforms: []platform.Platform{p.Platform}, From: pr.from, Lines: lines})
	}
	if in.Cross {
		out = []CookWhy{crossWhy(out, ran, prev)}
	}
	for _, w := range out {
		w.write(in.Log)
	}
	return out, nil
}

// joinPlatforms lists platforms for people: "linux/amd64, linux/arm64".
func joinPlatforms(ps []platform.Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

// crossWhy is the one block of a cross build, whose one cook step built
// every triple: each platform's causes once, and "no input changed" only
// when no platform's input did.
func crossWhy(per []CookWhy, ran []whyPlatform, prev map[platform.Platform]previous) CookWhy {
	w := CookWhy{From: per[0].From}
	for i, p := range ran {
		w.Platforms = append(w.Platforms, p.Platform)
		lines := per[i].Lines
		if pr := prev[p.Platform]; pr.missing == "" {
			lines = cookkey.Changes(pr.key, p.Key)
			if pr.note != "" {
				lines = append([]string{pr.note}, lines...)
			}
		}
		for _, l := range lines {
			if !slices.Contains(w.Lines, l) {
				w.Lines = append(w.Lines, l)
			}
		}
	}
	if len(w.Lines) == 0 {
		w.Lines = per[0].Lines
	}
	return w
}

// write prints the block: a heading naming the platforms and the record
// compared with, each line indented under it.
func (w CookWhy) write(log io.Writer) {
	head := "build: " + joinPlatforms(w.Platforms) + ": why did cook run"
	if w.From != "" {
		head += " (compared with " + w.From + ")"
	}
	var b strings.Builder
	b.WriteString(head + ":\n")
	for _, l := range w.Lines {
		b.WriteString("  " + l + "\n")
	}
	io.WriteString(log, b.String())
}

// previousRecords finds each platform's previous record, first found:
// -compare, the tag being replaced, the previous dist.
func previousRecords(ctx context.Context, in whyIn, ran []whyPlatform) (map[platform.Platform]previous, error) {
	out := map[platform.Platform]previous{}
	if in.Compare != "" {
		recs, err := publish.ReadRecords(ctx, in.Compare, []string{provenance.MediaType}, in.Registry...)
		if err != nil {
			return nil, option.Usagef("cannot compare the cook with %s: %s: set %s / %s to an image this kit pushed (repo:tag or repo@sha256:...), or leave it unset", in.Compare, oneline.Err(err), option.Flag(buildspec.OptionCompare), option.Env(buildspec.OptionCompare))
		}
		for _, p := range ran {
			out[p.Platform] = fromImage(in, in.Compare, recs, p.Platform)
		}
		return out, nil
	}
	var recs []publish.Record
	var unreadable string
	if in.Replaced != "" {
		var err error
		recs, err = publish.ReadRecords(ctx, in.Replaced, []string{provenance.MediaType}, in.Registry...)
		switch {
		case err != nil && publish.Classify(err).Kind == publish.NotFound:
			recs = nil
		case err != nil:
			unreadable = oneline.Err(err)
			fmt.Fprintf(in.Log, "build: warning: why did cook run: cannot read the records of %s: %s\n", in.Replaced, unreadable)
		}
	}
	for _, p := range ran {
		switch {
		case recs != nil:
			out[p.Platform] = fromImage(in, in.Replaced, recs, p.Platform)
		case in.PrevDist[p.Platform] != nil:
			out[p.Platform] = fromStatement(in, prevDistFile(in.Dist, in.Bin, p.Platform), in.PrevDist[p.Platform])
		case unreadable != "":
			out[p.Platform] = previous{from: in.Replaced, missing: "previous record unreadable: " + unreadable}
		case in.Replaced != "":
			out[p.Platform] = previous{missing: "no previous image: " + in.Replaced + " is not in the registry yet (first push), and " + in.Dist + " holds no earlier build's provenance"}
		default:
			out[p.Platform] = previous{missing: "no previous build to compare with: " + in.Dist + " holds no earlier build's provenance for " + p.Platform.String() + " (first build, or one by a kit that wrote none)"}
		}
	}
	return out, nil
}

// fromImage picks p's provenance among an image's records.
func fromImage(in whyIn, ref string, recs []publish.Record, p platform.Platform) previous {
	for _, r := range recs {
		if r.Platform.OS != p.OS || r.Platform.Architecture != p.Arch {
			continue
		}
		if r.ArtifactType == "" {
			return previous{from: ref, missing: ref + " has no provenance record for " + p.String() + " (pushed without the kit's records): nothing to compare with"}
		}
		if r.Others == 0 {
			return fromStatement(in, ref, r.Data)
		}
		// A reproducible image rebuilt with other cook inputs (the same
		// binary) carries one provenance per build, in no order the
		// registry keeps. This machine's previous build, when dist has it,
		// is the previous one; else say which was taken.
		if b := in.PrevDist[p]; b != nil {
			return fromStatement(in, prevDistFile(in.Dist, in.Bin, p), b)
		}
		pr := fromStatement(in, ref, r.Data)
		pr.note = fmt.Sprintf("%s carries %d provenance records for %s (the same image built with other cook inputs); compared with %s, the lowest digest: set -compare to the image to compare with",
			ref, r.Others+1, p, r.Referrer)
		return pr
	}
	return previous{from: ref, missing: ref + " has no " + p.String() + " image: nothing to compare with"}
}

// fromStatement reads the cook key out of a provenance statement; one
// that cannot be read is a warning, not a failed build.
func fromStatement(in whyIn, from string, doc []byte) previous {
	rec, err := provenance.Parse(doc)
	if err != nil {
		msg := oneline.Err(err)
		fmt.Fprintf(in.Log, "build: warning: why did cook run: cannot read the provenance of %s: %s\n", from, msg)
		return previous{from: from, missing: "previous record unreadable: " + msg}
	}
	if rec.Cook.Key == nil {
		return previous{from: from, missing: "the previous record has no cook key: nothing to compare with"}
	}
	return previous{from: from, key: rec.Cook.Key}
}
