package publish

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// subjectRecords are the built artifacts of one platform manifest.
type subjectRecords struct {
	subject v1.Descriptor
	built   []builtArtifact
}

// planReferrers builds the artifacts in m for the manifests idx lists, in
// the index's order, before anything is written: an empty or untyped
// artifact, or records for a manifest the index does not list (records of
// another build), fail here, so no output ever holds half of them.
func planReferrers(idx v1.ImageIndex, m map[v1.Hash][]Artifact) ([]subjectRecords, error) {
	if len(m) == 0 {
		return nil, nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	listed := map[v1.Hash]bool{}
	var out []subjectRecords
	for _, d := range im.Manifests {
		listed[d.Digest] = true
		if len(m[d.Digest]) == 0 {
			continue
		}
		built, err := buildArtifacts(d, m[d.Digest])
		if err != nil {
			return nil, err
		}
		out = append(out, subjectRecords{subject: d, built: built})
	}
	var stray []string
	for h := range m {
		if !listed[h] {
			stray = append(stray, h.String())
		}
	}
	if len(stray) > 0 {
		sort.Strings(stray)
		d, _ := idx.Digest()
		return nil, fmt.Errorf("records for %s, which index %s does not list: the records belong to another build", stray[0], d)
	}
	return out, nil
}

// attachAll attaches every planned record in repo through p, and returns
// the artifact manifests written, by subject digest (nil when none).
func (r *Registry) attachAll(ctx context.Context, p *remote.Pusher, repo name.Repository, plan []subjectRecords) (map[v1.Hash][]v1.Descriptor, error) {
	if len(plan) == 0 {
		return nil, nil
	}
	out := map[v1.Hash][]v1.Descriptor{}
	for _, s := range plan {
		descs, err := r.attach(ctx, p, repo.Digest(s.subject.Digest.String()), s.built)
		if err != nil {
			return nil, err
		}
		out[s.subject.Digest] = descs
	}
	return out, nil
}
