// Package rust holds the importable rust:* Mage targets. A downstream repo
// gets them with
//
//	//mage:import
//	_ "github.com/muslrust-chef/muslrust-chef/pkg/targets/rust"
//
// The targets only parse flags and environment; the work is in pkg/.
package rust

import (
	"github.com/magefile/mage/mg"
)

// Rust groups the targets that turn a Cargo workspace into static images.
type Rust mg.Namespace
