// Package testimages builds the container images integration tests need,
// because these machines cannot pull from Docker Hub: a tiny multi-arch
// busybox-static base (linux/amd64 + linux/arm64) pushed to the local test
// registry. It is made with go-containerregistry, daemonless, from Debian's
// busybox-static packages, so it is ready in about a second and its digest
// is the same on every run.
package testimages

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Arches are the architectures of the busybox base, in index order.
var Arches = []string{"amd64", "arm64"}

// epoch is the fixed mtime and created time: same inputs, same digest.
var epoch = time.Unix(1700000000, 0).UTC()

// SingleLayer makes a one-layer OCI image for linux/<arch> created at
// created; configure fills in the rest of the config (env, cmd, labels).
func SingleLayer(layer v1.Layer, arch string, created time.Time, configure func(*v1.Config)) (v1.Image, error) {
	p, err := platform.Parse(arch)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Arch, p.Variant
	cf.Created = v1.Time{Time: created}
	configure(&cf.Config)
	return mutate.ConfigFile(img, cf)
}
