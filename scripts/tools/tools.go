//go:build tools

// Package tools pins the BuildKit daemon and CLI the integration tests run.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
