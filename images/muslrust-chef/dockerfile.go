// Package muslrustchef embeds the builder base image's Dockerfile, so the
// image:* targets build the very file in this directory from any module that
// imports the kit (no checkout of this repository needed).
package muslrustchef

import _ "embed"

// Dockerfile is images/muslrust-chef/Dockerfile.
//
//go:embed Dockerfile
var Dockerfile []byte

// FetchVerified is fetch-verified.sh, the download/checksum/unpack script
// the Dockerfile's install steps share; it goes into the build context
// under FetchVerifiedName.
//
//go:embed fetch-verified.sh
var FetchVerified []byte

// FetchVerifiedName is the build-context file name of FetchVerified.
const FetchVerifiedName = "fetch-verified.sh"

// HelperName is the build-context file name of the helper CLI for arch
// (COPY muslrust-chef-${TARGETARCH} in the Dockerfile).
func HelperName(arch string) string { return "muslrust-chef-" + arch }

// Build arguments through which the kit sets the image's own labels and
// cross declaration.
const (
	ArgVersion        = "MUSLRUST_CHEF_VERSION"
	ArgRevision       = "MUSLRUST_CHEF_REVISION"
	ArgSource         = "MUSLRUST_CHEF_SOURCE"
	ArgCrossPlatforms = "MUSLRUST_CHEF_CROSS_PLATFORMS"
)
