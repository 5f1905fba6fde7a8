package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// recordsIn is what the records of a build are made of: the build's own
// records in dist/<os>_<arch>/.muslrust-chef/ (written by the build step),
// what the solve did, and the slim index the records describe.
type recordsIn struct {
	Config  *Config
	Planned planOut
	Solved  *Solved
	Index   v1.ImageIndex
	Base    publish.Base
	// Subject is the image's name as the user wrote it (repository, no
	// tag), or the binary's name for outputs that are not a registry.
	Subject    string
	Labels     slim.Labels
	Created    time.Time
	KitVersion string
	Registry   []publish.RegistryOption
	Log        io.Writer
}

// platformRecords are one platform's records: the documents as written
// beside its binary and as handed to publish.
type platformRecords struct {
	Platform platform.Platform
	// Manifest is the platform image's manifest digest (the subject).
	Manifest v1.Hash
	Key      *cookkey.Key
	// CookKnown says whether BuildKit reported the cook step; CookRan
	// whether it ran (not reused from the cache).
	CookKnown, CookRan bool
	// CycloneDX and SPDX are nil when the SBOM is turned off.
	CycloneDX, SPDX, Provenance []byte
	// Files are the documents' paths in dist, CycloneDX, SPDX and
	// provenance in that order (the SBOM's absent when turned off).
	Files     []string
	Artifacts []publish.Artifact
}

// recordsOut are every platform's records, and the artifacts by platform
// manifest digest for publish.WithReferrers.
type recordsOut struct {
	ByPlatform []platformRecords
	Referrers  map[v1.Hash][]publish.Artifact
}

// records writes, per platform, the CycloneDX and SPDX SBOMs and the
// in-toto SLSA provenance beside the binary in dist (dist/<os>_<arch>/
// <bin>.cdx.json, .spdx.json, .provenance.json) and returns them as
// referrers of the platform manifests. It runs after slim (the manifest
// digests are the subjects) and before publish, so that publish attaches
// them before any tag moves.
func records(ctx context.Context, in recordsIn) (recordsOut, error) {
	c, s := in.Config, in.Solved
	out := recordsOut{Referrers: map[v1.Hash][]publish.Artifact{}}
	manifests, err := manifestsByPlatform(in.Index)
	if err != nil {
		return out, err
	}
	created := in.Created
	if created.IsZero() {
		created = time.Unix(0, 0) // what slim stamps
	}
	builderOpt, builderKey, err := builderRecord(ctx, c, s, in.Registry)
	if err != nil {
		return out, err
	}
	var triples []string
	for _, t := range s.Targets {
		triples = append(triples, t.Flags.Triple)
	}
	recipeDigest, err := in.Planned.Plan.Recipe.Digest()
	if err != nil {
		return out, fmt.Errorf("records: recipe digest: %w", err)
	}
	var made []platformRecords
	for _, p := range in.Planned.Platforms {
		slot := filepath.Join(c.Dist, p.DistDir())
		dir := filepath.Join(slot, app.RecordsDir)
		f, program, toolchainEnv := recordFlags(c, s, p)
		rustc, err := readRecord(dir, app.RecordRustc)
		if err != nil {
			return out, err
		}
		pr := platformRecords{Platform: p}
		ok := false
		if pr.Manifest, ok = manifests[p.String()]; !ok {
			return out, fmt.Errorf("records: the slim index has no %s image: this is a bug in muslrust-chef", p)
		}
		if pr.Key, err = cookkey.FromRecipe(in.Planned.Plan.Recipe, cookkey.WithFlags(f), cookkey.WithTriples(triples...),
			cookkey.WithToolchain(string(rustc)), cookkey.WithBuilder(builderKey), cookkey.WithTemplate(templateOf(s, p))); err != nil {
			return out, err
		}
		v, found := s.StageRun(app.StageCook, stageKey(c, p))
		pr.CookKnown, pr.CookRan = found, found && !v.Cached
		if !found {
			fmt.Fprintf(in.Log, "records: %s: cook step not reported by BuildKit (recorded as not reused)\n", p)
		}
		cdxName, spdxName := sbom.FileNames(c.Bin)
		if !c.NoSBOM {
			if pr.CycloneDX, pr.SPDX, err = sbomDocs(dir, f, in, created); err != nil {
				return out, err
			}
			pr.Files = append(pr.Files, filepath.Join(slot, cdxName), filepath.Join(slot, spdxName))
			pr.Artifacts = append(pr.Artifacts,
				publish.Artifact{ArtifactType: sbom.MediaTypeCycloneDX, Data: pr.CycloneDX, Title: cdxName},
				publish.Artifact{ArtifactType: sbom.MediaTypeSPDX, Data: pr.SPDX, Title: spdxName})
		}
		binDigest, err := provenance.DigestFile(filepath.Join(slot, c.Bin))
		if err != nil {
			return out, fmt.Errorf("records: %w", err)
		}
		opts := []provenance.Option{provenance.WithBinary(c.Bin, binDigest), provenance.WithCargo(program, f, toolchainEnv...), builderOpt,
			provenance.WithRecipeDigest(recipeDigest), provenance.WithSourceDateEpoch(max(created.Unix(), 0)),
			provenance.WithCook(pr.CookKnown && !pr.CookRan, pr.Key)}
		if in.KitVersion != "" {
			opts = append(opts, provenance.WithKitVersion(in.KitVersion))
		}
		if in.Labels.Source != "" {
			opts = append(opts, provenance.WithSource(in.Labels.Source, in.Labels.Revision))
		}
		if ref, digest, err := runtimeBase(in.Base, p); err != nil {
			return out, err
		} else if ref != "" {
			opts = append(opts, provenance.WithRuntimeBase(ref, digest))
		}
		rec, err := provenance.New(provenance.Subject{Name: in.Subject, Digest: pr.Manifest.String(), Platform: p}, opts...)
		if err != nil {
			return out, fmt.Errorf("records: %s: %w", p, err)
		}
		if pr.Provenance, err = rec.Statement(); err != nil {
			return out, fmt.Errorf("records: %s: %w", p, err)
		}
		provName := provenance.FileName(c.Bin)
		pr.Files = append(pr.Files, filepath.Join(slot, provName))
		pr.Artifacts = append(pr.Artifacts, publish.Artifact{ArtifactType: provenance.MediaType, Data: pr.Provenance, Title: provName,
			Annotations: map[string]string{provenance.AnnotationPredicateType: provenance.PredicateType}})
		made = append(made, pr)
	}
	// Written once every platform's documents exist: a platform that cannot
	// be recorded leaves no other platform's documents in dist either, and
	// out lists only what was written.
	for _, pr := range made {
		docs := [][]byte{pr.CycloneDX, pr.SPDX, pr.Provenance}
		if c.NoSBOM {
			docs = docs[2:]
		}
		for i, path := range pr.Files {
			if err := sbom.WriteFile(path, docs[i]); err != nil {
				return out, err
			}
		}
		fmt.Fprintf(in.Log, "records: %s: %s\n", pr.Platform, joinBase(pr.Files))
		out.ByPlatform = append(out.ByPlatform, pr)
		out.Referrers[pr.Manifest] = pr.Artifacts
	}
	return out, nil
}

// sbomDocs renders the two SBOMs of one platform from the build step's
// cargo metadata and cargo tree.
func sbomDocs(dir string, f cargo.Flags, in recordsIn, created time.Time) (cdx, spdx []byte, err error) {
	meta, err := readRecord(dir, app.RecordMetadata)
	if err != nil {
		return nil, nil, err
	}
	lock, err := readRecord(dir, app.RecordLock)
	if err != nil {
		return nil, nil, err
	}
	opts := append(sbom.FromFlags(f), sbom.WithSourceRevision(in.Labels.Revision), sbom.WithBuildTools(true))
	if tree, err := os.ReadFile(filepath.Join(dir, app.RecordTree)); err == nil {
		opts = append(opts, sbom.WithCargoTree(tree))
	} else if f.Package != "" {
		return nil, nil, recordMissing(dir, app.RecordTree, err)
	}
	doc, err := sbom.Resolve(meta, lock, opts...)
	if err != nil {
		return nil, nil, option.Errorf("%w: set %s to false to build without an SBOM", err, option.Env(buildspec.OptionSBOM))
	}
	ropts := []sbom.RenderOption{sbom.WithTimestamp(created), sbom.WithToolVersion(in.KitVersion)}
	if cdx, err = doc.CycloneDX(ropts...); err != nil {
		return nil, nil, err
	}
	if spdx, err = doc.SPDX(ropts...); err != nil {
		return nil, nil, err
	}
	return cdx, spdx, nil
}

// readRecord reads one of the build step's records.
func readRecord(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, recordMissing(dir, name, err)
	}
	return b, nil
}

func recordMissing(dir, name string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("records: the build step wrote no %s in %s: run the build again (a build step older than this kit was reused?)", name, dir)
	}
	return fmt.Errorf("records: %w", err)
}

// files are the record files of each platform.
func (r recordsOut) files() map[platform.Platform][]string {
	out := map[platform.Platform][]string{}
	for _, pr := range r.ByPlatform {
		out[pr.Platform] = append([]string(nil), pr.Files...)
	}
	return out
}

// manifests are the platform images' manifest digests.
func (r recordsOut) manifests() map[platform.Platform]v1.Hash {
	out := map[platform.Platform]v1.Hash{}
	for _, pr := range r.ByPlatform {
		out[pr.Platform] = pr.Manifest
	}
	return out
}

// besideArchive writes the records of a tar output's one platform beside
// the archive: FILE.cdx.json, FILE.spdx.json, FILE.provenance.json.
func (r recordsOut) besideArchive(archive string) ([]string, error) {
	if len(r.ByPlatform) != 1 {
		return nil, fmt.Errorf("records: a tar archive holds one platform, the build recorded %d: this is a bug in muslrust-chef", len(r.ByPlatform))
	}
	pr := r.ByPlatform[0]
	cdxName, spdxName := sbom.FileNames(archive)
	var files []string
	for _, d := range []struct {
		path string
		data []byte
	}{{cdxName, pr.CycloneDX}, {spdxName, pr.SPDX}, {provenance.FileName(archive), pr.Provenance}} {
		if d.data == nil {
			continue
		}
		if err := sbom.WriteFile(d.path, d.data); err != nil {
			return files, err
		}
		files = append(files, d.path)
	}
	return files, nil
}
