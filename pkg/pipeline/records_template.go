package pipeline

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// stageInstructions returns a Dockerfile stage's instructions as written
// (its FROM line first), from the FROM that names it to the next FROM.
func stageInstructions(dockerfile []byte, stage string) ([]string, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	var out []string
	in := false
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			f := strings.Fields(n.Original)
			in = len(f) >= 3 && strings.EqualFold(f[len(f)-2], "as") && f[len(f)-1] == stage
		}
		if in {
			out = append(out, n.Original)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the Dockerfile has no stage %q", stage)
	}
	return out, nil
}

// cookTemplate is the cook key's Template (cookkey.WithTemplate): the
// digest of the cook stage's instructions as the strategy runs them and
// of the kit's shell code its RUN step evaluates (snippet, or
// crossSnippet with plain cargo and with cargo-zigbuild). Only the cook
// stage counts: a kit upgrade that changes the build stage alone (the
// records, say) leaves the cook layer's cache key, and this digest, as
// they were. The snippets are rendered from fixed flags, not the build's:
// the build's values (profile, features, RUSTFLAGS, triples, the builder's
// toolchain, the workspace's crates) are inputs of the key of their own,
// so a changed RUSTFLAGS reads as one line, not also as a new template.
func cookTemplate(dockerfile []byte, strategy string) (string, error) {
	stage := app.StageCook
	f := cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl", Package: "p", Bin: "b",
		Features: []string{"f"}, Locked: true, Strip: true, RustFlags: "r"}
	locals := []string{"p"}
	var snippets []string
	if strategy == StrategyCross {
		stage = app.StageCrossCook
		arm := f
		arm.Triple = "aarch64-unknown-linux-musl"
		tc := builder.Toolchain{Linker: "l", CC: "c", CXX: "x", AR: "a", CFlags: "f", RustFlags: "r"}
		for _, cargoProgram := range []string{builder.CargoBuild, builder.CargoZigbuild} {
			tc.Cargo = cargoProgram
			sn, err := crossSnippet([]Target{
				{Platform: platform.Platform{OS: "linux", Arch: "amd64"}, Flags: f, Toolchain: tc},
				{Platform: platform.Platform{OS: "linux", Arch: "arm64", Variant: "v8"}, Flags: arm, Toolchain: tc},
			}, locals, "/src", app.OutDir)
			if err != nil {
				return "", fmt.Errorf("the cross snippet's template: %w", err)
			}
			snippets = append(snippets, sn)
		}
	} else {
		sn, err := snippet(f, locals, "/src")
		if err != nil {
			return "", fmt.Errorf("the cargo snippet's template: %w", err)
		}
		snippets = append(snippets, sn)
	}
	ins, err := stageInstructions(dockerfile, stage)
	if err != nil {
		return "", fmt.Errorf("the app Dockerfile template: %w", err)
	}
	return cookkey.TemplateDigest([]byte(strings.Join(ins, "\n")), snippets...), nil
}
