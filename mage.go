//go:build ignore

// Zero-install entry point: `go run mage.go <target>` works without mage
// installed, using the mage version pinned in go.mod, and several runs at
// once in one checkout work too (pkg/magerun compiles the magefiles once
// per content, under a lock, instead of in every run).
package main

import (
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/magerun"
)

func main() { os.Exit(magerun.Main()) }
