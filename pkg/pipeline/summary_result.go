package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

// StepSummary is the run's block for the job summary page (GitHub
// Actions' GITHUB_STEP_SUMMARY, one ghoutput.AppendSummary): a cook's
// timings table; a build's page with what shipped per platform, why cook
// ran, where the records are and the timings, up to where a failed build
// stopped.
func (r *Result) StepSummary() string {
	if r.Timings.What != "build" {
		return r.Timings.Markdown()
	}
	page := summaryPage{What: "build", Failed: r.Timings.Failed, Image: r.Published.Reference,
		Strategy: r.Strategy, Why: r.Why, Timings: r.Timings}
	if r.Config == nil {
		return page.markdown()
	}
	for _, p := range r.Config.Platforms {
		bin, ok := r.Binaries[p]
		if !ok {
			continue
		}
		row := summaryRow{Platform: p, Binary: filepath.Base(bin), Cook: r.cookText(p)}
		if fi, err := os.Stat(bin); err == nil {
			row.Size = fi.Size()
		}
		if ch, ok := r.Checks[p]; ok {
			row.Allocator = ch.Alloc.Allocator.Describe()
			if ch.Alloc.MultiThreaded {
				row.Allocator += ", multi-threaded"
			}
		}
		if m, ok := r.Manifests[p]; ok {
			row.Digest = m.String()
			row.CycloneDX, row.SPDX, row.Provenance = r.referrerRefs(m)
		}
		r.recordFiles(p, &row, row.Provenance != "")
		page.Rows = append(page.Rows, row)
	}
	return page.markdown()
}

// cookText says how p's cook went: "reused", "ran 41.2s", or "not
// reported" when BuildKit named no cook step.
func (r *Result) cookText(p platform.Platform) string {
	v, ok := r.StageRun(app.StageCook, stageKey(r.Config, p))
	switch {
	case !ok:
		return "not reported"
	case v.Cached:
		return "reused"
	case v.Started != nil && v.Completed != nil:
		return "ran " + v.Completed.Sub(*v.Started).Round(100*time.Millisecond).String()
	}
	return "ran"
}

// referrerRefs are the records attached to manifest m, as repo@digest
// (DIR@digest for an OCI layout): what a registry client fetches.
func (r *Result) referrerRefs(m v1.Hash) (cdx, spdx, prov string) {
	repo, _, ok := strings.Cut(r.Published.Reference, "@")
	if !ok {
		return "", "", ""
	}
	for _, d := range r.Published.Referrers[m] {
		ref := repo + "@" + d.Digest.String()
		switch d.ArtifactType {
		case sbom.MediaTypeCycloneDX:
			cdx = ref
		case sbom.MediaTypeSPDX:
			spdx = ref
		case provenance.MediaType:
			prov = ref
		}
	}
	return cdx, spdx, prov
}

// recordFiles fills the records that were not attached with the files
// written for them (tar and docker outputs, MUSLRUST_CHEF_REFERRERS=false):
// the last of each kind, so a tar output names the copies beside its
// archive rather than those in dist.
func (r *Result) recordFiles(p platform.Platform, row *summaryRow, attached bool) {
	cdx, spdx := sbom.FileNames("")
	prov := provenance.FileName("")
	for _, f := range r.Records[p] {
		switch {
		case attached:
		case strings.HasSuffix(f, cdx):
			row.CycloneDX = f
		case strings.HasSuffix(f, spdx):
			row.SPDX = f
		case strings.HasSuffix(f, prov):
			row.Provenance = f
		}
	}
}
