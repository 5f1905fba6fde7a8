package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// exportTo makes req export the build's files to dist, split per platform
// (dist/<os>_<arch>/), once this run's turn on dist has come: two runs on
// one workspace take turns from export to publish, so dist/ and the image
// never hold one run's binary for one platform and the other run's for
// another. release ends the turn.
func exportTo(ctx context.Context, req *buildkit.Request, dist string, log io.Writer) (release func(), err error) {
	release, err = atomicdir.LockParent(ctx, dist, func() {
		fmt.Fprintf(log, "build: another run is writing %s; waiting for it to finish\n", dist)
	})
	if err != nil {
		return func() {}, fmt.Errorf("waiting for the other run writing %s: %w", dist, err)
	}
	req.Local = &buildkit.LocalOutput{Dir: dist, SplitPlatforms: true, Fix: distFix()}
	return release, nil
}
