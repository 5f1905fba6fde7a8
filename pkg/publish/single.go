package publish

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// SinglePlatform picks the one image that tar and docker outputs can hold:
// the only platform in the index, else the host's.
func SinglePlatform(idx v1.ImageIndex, host platform.Platform) (v1.Image, platform.Platform, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, platform.Platform{}, err
	}
	var have []string
	var pick *v1.Descriptor
	for i, m := range im.Manifests {
		if m.Platform == nil {
			continue
		}
		have = append(have, m.Platform.OS+"/"+m.Platform.Architecture)
		if len(im.Manifests) == 1 || (m.Platform.OS == host.OS && m.Platform.Architecture == host.Arch) {
			pick = &im.Manifests[i]
		}
	}
	if pick == nil {
		return nil, platform.Platform{}, option.Usagef("this output holds one platform, but %s were built and none is the host's %s: set %s to one of them, or use oci:DIR or registry for several", strings.Join(have, ", "), host, option.Env(option.Platforms))
	}
	p, err := platform.Parse(pick.Platform.OS + "/" + pick.Platform.Architecture)
	if err != nil {
		return nil, platform.Platform{}, err
	}
	img, err := idx.Image(pick.Digest)
	return img, p, err
}
