package rust

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

const debianCrates = "/usr/share/cargo/registry"

// sbomWorkspace is a small workspace whose two platforms link different
// crates: either only on aarch64.
var sbomWorkspace = map[string]string{
	"Cargo.toml": `[package]
name = "app"
version = "0.3.0"
edition = "2021"
license = "MIT OR Apache-2.0"

[[bin]]
name = "app-server"
path = "src/main.rs"

[dependencies]
cfg-if = "1"

[target.'cfg(target_arch = "aarch64")'.dependencies]
either = "1"
`,
	"src/main.rs": "fn main() {}\n",
}

// platformSBOMs resolves the workspace with the real cargo (offline, over
// Debian's crates) per platform, as the build records them.
func platformSBOMs(t *testing.T) map[string]*sbom.SBOM {
	t.Helper()
	cargoBin := testinfra.Tool(t, "cargo")
	testinfra.Tool(t, "rustc")
	for _, crate := range []string{"cfg-if", "either"} {
		if m, _ := filepath.Glob(filepath.Join(debianCrates, crate+"-*")); len(m) == 0 {
			testinfra.Missing(t, "Debian crate "+crate+" in "+debianCrates, "run: sudo scripts/provision.d/rust-crates.sh")
		}
	}
	home := t.TempDir()
	dir := t.TempDir()
	files := map[string]string{filepath.Join(home, "config.toml"): "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\ndirectory = \"" + debianCrates + "\"\n\n[net]\noffline = true\n"}
	for n, body := range sbomWorkspace {
		files[filepath.Join(dir, n)] = body
	}
	for path, body := range files {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "CARGO_HOME="+home, "CARGO_TERM_COLOR=never")
	if os.Getenv("RUSTUP_HOME") == "" {
		if h, err := os.UserHomeDir(); err == nil {
			env = append(env, "RUSTUP_HOME="+filepath.Join(h, ".rustup"))
		}
	}
	cmd := exec.Command(cargoBin, "generate-lockfile", "--offline")
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cargo generate-lockfile: %v\n%s", err, out)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*sbom.SBOM{}
	for arch, triple := range map[string]string{"amd64": "x86_64-unknown-linux-musl", "arm64": "aarch64-unknown-linux-musl"} {
		f := cargo.Flags{Triple: triple, Package: "app", Locked: true}
		md, err := sbom.Metadata(context.Background(), cargoBin, dir, env, f)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := sbom.Tree(context.Background(), cargoBin, dir, env, f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sbom.Resolve(md, lock, append(sbom.FromFlags(f), sbom.WithCargoTree(tree), sbom.WithSourceRevision("0123abc"))...)
		if err != nil {
			t.Fatal(err)
		}
		out[arch] = s
	}
	return out
}

// pushSubject pushes a random amd64+arm64 index (or, single, one amd64
// image) standing in for rust:build's output.
func pushSubject(t *testing.T, ref string, single bool) map[string]name.Digest {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	out := map[string]name.Digest{}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, _ = mutate.ConfigFile(img, cf)
		d, _ := img.Digest()
		out[arch] = r.Context().Digest(d.String())
		if single {
			if err := remote.Write(r, img); err != nil {
				t.Fatal(err)
			}
			return out
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return out
}

func sbomFlag(s string) *string { return &s }

var quick = publish.WithRetryBackoff(remote.Backoff{Steps: 1})

func TestSbomPrintsTablePerPlatform(t *testing.T) {
	sboms := platformSBOMs(t)
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	regs := map[string]string{
		"docker-registry": testinfra.Registry(t),
		"referrers-api":   "localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:],
	}
	for kind, addr := range regs {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			ref := fmt.Sprintf("%s/sbom/%s-%d:v1", addr, kind, time.Now().UnixNano())
			subjects := pushSubject(t, ref, false)
			var want bytes.Buffer
			for i, arch := range []string{"amd64", "arm64"} {
				cdx, err := sboms[arch].CycloneDX()
				if err != nil {
					t.Fatal(err)
				}
				spdx, err := sboms[arch].SPDX()
				if err != nil {
					t.Fatal(err)
				}
				arts := []publish.Artifact{
					{ArtifactType: sbom.MediaTypeCycloneDX, Data: cdx, Title: "app-server.cdx.json"},
					{ArtifactType: sbom.MediaTypeSPDX, Data: spdx, Title: "app-server.spdx.json"},
				}
				descs, err := publish.Attach(ctx, subjects[arch], arts, quick)
				if err != nil {
					t.Fatal(err)
				}
				// Twice: a re-run of the build attaches the same records.
				if _, err := publish.Attach(ctx, subjects[arch], arts, quick); err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					want.WriteString("\n")
				}
				fmt.Fprintf(&want, "linux/%s %s: CycloneDX SBOM %s\n", arch, subjects[arch].DigestStr(), descs[0].Digest)
				sboms[arch].WriteTable(&want)
			}
			var got bytes.Buffer
			if err := printSBOMs(ctx, ref, []publish.RegistryOption{quick}, &got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("rust:sbom printed\n%s\nwant\n%s", got.String(), want.String())
			}
			t.Logf("rust:sbom -image=%s\n%s", ref, got.String())
			// The table is cargo's resolve per platform: either only on
			// arm64, and each row carries version, licence and source.
			row := regexp.MustCompile(`(?m)^linked\s+either\s+1\.\d+\.\d+\s+MIT OR Apache-2\.0\s+registry\s`)
			amd, arm, _ := strings.Cut(got.String(), "linux/arm64")
			if row.MatchString(amd) || !row.MatchString(arm) {
				t.Errorf("either should be linked on arm64 only:\n%s", got.String())
			}
			if !regexp.MustCompile(`(?m)^linked\s+cfg-if\s+1\.\d+\.\d+\s+MIT OR Apache-2\.0\s+registry\s`).MatchString(amd) {
				t.Errorf("amd64 table lacks cfg-if:\n%s", amd)
			}
			if strings.Count(got.String(), "(2 more") > 0 || strings.Contains(got.String(), "more CycloneDX") {
				t.Errorf("re-attaching left duplicate SBOMs:\n%s", got.String())
			}
		})
	}
}

// An image with only the SPDX document attached is read from it, and the
// table is the same as from CycloneDX.
func TestSbomFallsBackToSPDX(t *testing.T) {
	s := platformSBOMs(t)["amd64"]
	ref := fmt.Sprintf("%s/sbom/spdx-only-%d:v1", testinfra.Registry(t), time.Now().UnixNano())
	sub := pushSubject(t, ref, true)["amd64"]
	doc, err := s.SPDX()
	if err != nil {
		t.Fatal(err)
	}
	descs, err := publish.Attach(context.Background(), sub, []publish.Artifact{{ArtifactType: sbom.MediaTypeSPDX, Data: doc}}, quick)
	if err != nil {
		t.Fatal(err)
	}
	var want, got bytes.Buffer
	fmt.Fprintf(&want, "linux/amd64 %s: SPDX SBOM %s\n", sub.DigestStr(), descs[0].Digest)
	s.WriteTable(&want)
	if err := printSBOMs(context.Background(), ref, []publish.RegistryOption{quick}, &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("rust:sbom printed\n%s\nwant\n%s", got.String(), want.String())
	}
}

func TestSbomErrors(t *testing.T) {
	addr := testinfra.Registry(t)
	bare := fmt.Sprintf("%s/sbom/bare-%d:v1", addr, time.Now().UnixNano())
	pushSubject(t, bare, false)
	down := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	t.Setenv("MUSLRUST_CHEF_IMAGE", "")
	t.Setenv("MUSLRUST_CHEF_REGISTRY_TIMEOUT", "")
	t.Setenv("MUSLRUST_CHEF_PUSH_TIMEOUT", "")
	cases := map[string]struct {
		image *string
		code  int
		want  string
	}{
		"no image":      {nil, 2, "rust:sbom: no image given: pass -image=<repo[:tag]> or set MUSLRUST_CHEF_IMAGE"},
		"bad reference": {sbomFlag("Team/App"), 2, `rust:sbom: "Team/App" is not an image reference`},
		"no SBOM": {sbomFlag(bare), 1, "rust:sbom: no SBOM is attached to " + bare + " (linux/amd64, linux/arm64): build it with a kit version that records SBOMs (rust:build), or attach a CycloneDX (" +
			sbom.MediaTypeCycloneDX + ") or SPDX (" + sbom.MediaTypeSPDX + ") document as an OCI referrer of each platform manifest"},
		"not found":     {sbomFlag(addr + "/sbom/never-pushed:v1"), 1, "rust:sbom: " + addr + "/sbom/never-pushed:v1 not found in registry " + addr + ": check the repository and tag (HTTP 404)"},
		"registry down": {sbomFlag(down + "/team/app:v1"), 1, "rust:sbom: registry " + down + " is unreachable while reading " + down + "/team/app:v1 ("},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			err := Rust{}.Sbom(context.Background(), tc.image)
			if err == nil {
				t.Fatal("no error")
			}
			if mg.ExitStatus(err) != tc.code || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("exit %d %q, want exit %d and one line starting %q", mg.ExitStatus(err), err, tc.code, tc.want)
			}
		})
	}
}
