package pipeline

import (
	"fmt"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

// recordsFailed is what the records snippet prints (after "muslrust-chef: ")
// when cargo metadata or cargo tree fails; run turns it into an error that
// names the SBOM knob.
const recordsFailed = "cargo metadata or cargo tree for the SBOM failed"

// recordsSnippet renders the records of one platform's build as the POSIX
// shell the build stage evaluates after cargo build: a function
// muslrust_chef_records that writes, into dir, what the SBOM and the
// provenance are made of (app.RecordMetadata and app.RecordTree unless
// noSBOM, app.RecordRustc, app.RecordLock). It runs inside the build step,
// never on the host, so cargo sees exactly the build's triple, features,
// RUSTFLAGS, source replacement, tokens and SSH agent. The snippet is a
// build argument of the build stage only: it is no part of the cook
// step's cache key.
func recordsSnippet(f cargo.Flags, noSBOM bool, dir string) (string, error) {
	body, err := recordsCommands(f, nil, noSBOM, dir)
	if err != nil {
		return "", err
	}
	return "muslrust_chef_records() { " + body + "}", nil
}

// crossRecordsSnippet is recordsSnippet for a cross build: one subshell per
// target with that triple's own environment (its RUSTFLAGS change the cfg
// cargo metadata's --filter-platform evaluates), writing into
// outDir/<os>_<arch>/RecordsDir. It runs plain cargo even when the build
// uses cargo-zigbuild: metadata and tree compile nothing.
func crossRecordsSnippet(targets []Target, noSBOM bool, outDir string) (string, error) {
	if len(targets) == 0 {
		return "", fmt.Errorf("cross build without a target platform")
	}
	var b strings.Builder
	for _, t := range targets {
		body, err := recordsCommands(t.Flags, t.Toolchain.Env(t.Flags.Triple), noSBOM, outDir+"/"+t.Platform.DistDir()+"/"+app.RecordsDir)
		if err != nil {
			return "", err
		}
		b.WriteString(body)
	}
	return "muslrust_chef_records() { " + b.String() + "}", nil
}

// recordsCommands is one platform's records in a subshell, so that its
// exports stay in it. Every command carries its own "|| exit": set -e is
// off in the operand of ||.
func recordsCommands(f cargo.Flags, toolchainEnv []string, noSBOM bool, dir string) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	if err := cargo.CheckText("records directory", dir); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("( ")
	if err := writeExports(&b, append(f.Env(), toolchainEnv...)); err != nil {
		return "", err
	}
	d := func(file string) string { return shellQuote(dir + "/" + file) }
	fmt.Fprintf(&b, "unset CARGO_ENCODED_RUSTFLAGS; mkdir -p %s || exit 1; ", shellQuote(dir))
	if !noSBOM {
		meta, err := sbom.MetadataArgs(f)
		if err != nil {
			return "", err
		}
		fail := fmt.Sprintf("{ echo %s >&2; exit 1; }", shellQuote("muslrust-chef: "+recordsFailed))
		fmt.Fprintf(&b, "cargo %s > %s || %s; ", shellWords(meta), d(app.RecordMetadata), fail)
		// cargo tree needs the binary's package (config.Rust always sets
		// it); without one the SBOM rests on metadata alone, which may
		// over-list optional crates but never misses one.
		if f.Package != "" {
			tree, err := sbom.TreeArgs(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "cargo %s > %s || %s; ", shellWords(tree), d(app.RecordTree), fail)
		}
	}
	fmt.Fprintf(&b, "rustc -V > %s || exit 1; cp Cargo.lock %s || exit 1 ) || exit 1; ", d(app.RecordRustc), d(app.RecordLock))
	return b.String(), nil
}
