// Package muslrustchef embeds the builder base image's Dockerfile, so the
// image:* targets build the very file in this directory from any module that
// imports the kit (no checkout of this repository needed).
package muslrustchef

import _ "embed"

// Dockerfile is images/muslrust-chef/Dockerfile.
//
//go:embed Dockerfile
var Dockerfile []byte

// HelperName is the build-context file name of the helper CLI for arch
// (COPY muslrust-chef-${TARGETARCH} in the Dockerfile).
func HelperName(arch string) string { return "muslrust-chef-" + arch }
