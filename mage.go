//go:build ignore

// Zero-install entry point: `go run mage.go <target>` works without mage
// installed, using the mage version pinned in go.mod.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
