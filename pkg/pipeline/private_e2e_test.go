package pipeline

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// privateRegistry is a cargo registry served by the test: a git index
// (smart HTTP through git http-backend) that demands the token as HTTP
// Basic auth, and .crate downloads.
type privateRegistry struct {
	URL             string // the index URL, as in .cargo/config.toml
	Checksum        string // of the one crate
	denied, granted atomic.Int64
	downloads       atomic.Int64
}

const privateCrate, privateVersion = "corp-cfg-if", "1.0.0"

// newPrivateRegistry serves one crate, corp-cfg-if 1.0.0, made of Debian's
// cfg-if sources. The stand-in's cargo (Debian's 1.65) predates
// authenticated registry downloads (auth-required, cargo 1.74), so the
// token guards the index, which cargo fetches with libgit2 and HTTP
// credentials; the .crate download is not guarded.
func newPrivateRegistry(t *testing.T, token string) *privateRegistry {
	t.Helper()
	git := testinfra.Tool(t, "git")
	srcs, _ := filepath.Glob("/usr/share/cargo/registry/cfg-if-1.*")
	if len(srcs) == 0 {
		testinfra.Missing(t, "Debian's cfg-if crate sources in /usr/share/cargo/registry", "run: sudo scripts/provision.d/rust-crates.sh (librust-cfg-if-dev)")
	}
	lib, err := os.ReadFile(filepath.Join(srcs[0], "src", "lib.rs"))
	if err != nil {
		t.Fatal(err)
	}
	crate := crateArchive(t, map[string]string{
		"Cargo.toml": fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2018\"\n\n[lib]\npath = \"src/lib.rs\"\n", privateCrate, privateVersion),
		"src/lib.rs": string(lib),
	})
	sum := sha256.Sum256(crate)
	reg := &privateRegistry{Checksum: hex.EncodeToString(sum[:])}

	root := t.TempDir()
	backend := &cgi.Handler{Path: git, Args: []string{"http-backend"}, Root: "/git", Dir: root,
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/git/", func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != token {
			reg.denied.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="corp"`)
			http.Error(w, "this registry needs a token", http.StatusUnauthorized)
			return
		}
		reg.granted.Add(1)
		backend.ServeHTTP(w, r)
	})
	mux.HandleFunc(fmt.Sprintf("/dl/%s/%s/download", privateCrate, privateVersion), func(w http.ResponseWriter, r *http.Request) {
		reg.downloads.Add(1)
		w.Write(crate)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	reg.URL = srv.URL + "/git/index.git"

	work := filepath.Join(root, "work")
	fixtures.WriteFile(t, work, "config.json", fmt.Sprintf(`{"dl": %q}`+"\n", srv.URL+"/dl/{crate}/{version}/download"))
	fixtures.WriteFile(t, work, "co/rp/"+privateCrate,
		fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"cksum":%q,"features":{},"yanked":false}`+"\n", privateCrate, privateVersion, reg.Checksum))
	for _, args := range [][]string{
		{"init", "-q", "-b", "master", work},
		{"-C", work, "add", "."},
		{"-C", work, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-q", "-m", "index"},
		{"clone", "-q", "--bare", work, filepath.Join(root, "index.git")},
	} {
		if out, err := exec.Command(git, args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return reg
}

func crateArchive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	prefix := privateCrate + "-" + privateVersion + "/"
	for _, n := range []string{"Cargo.toml", "src/lib.rs"} {
		if err := tw.WriteHeader(&tar.Header{Name: prefix + n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gitCredentialHelper is how cargo 1.65 can use a registry token from its
// environment for a git index over HTTP: libgit2 asks git's credential
// helpers, and this one answers with $CARGO_REGISTRIES_CORP_TOKEN (empty
// when unset). Newer cargo sends CARGO_REGISTRIES_<NAME>_TOKEN itself.
const gitCredentialHelper = `[credential]
	helper = "!f() { test \"$1\" = get || exit 0; echo username=cargo; echo password=${CARGO_REGISTRIES_CORP_TOKEN:-}; }; f"
`

// credentialBuilder is the stand-in builder's linux/amd64 image plus
// /etc/gitconfig with gitCredentialHelper, pushed beside it.
func credentialBuilder(t *testing.T, standin string) string {
	t.Helper()
	ref, err := name.ParseReference(standin)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var base v1.Image
	var plat *v1.Platform
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Architecture == "amd64" {
			if base, err = idx.Image(m.Digest); err != nil {
				t.Fatal(err)
			}
			plat = m.Platform
		}
	}
	if base == nil {
		t.Fatalf("%s has no linux/amd64 image", standin)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "etc/gitconfig", Mode: 0o644, Size: int64(len(gitCredentialHelper)), ModTime: time.Unix(0, 0)})
	io.WriteString(tw, gitCredentialHelper)
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
	if err != nil {
		t.Fatal(err)
	}
	out := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	d, err := out.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag := ref.Context().Tag("gitcred-" + d.Hex[:16])
	if err := remote.WriteIndex(tag, out); err != nil {
		t.Fatal(err)
	}
	return tag.String()
}

// A dependency from a private registry: the token from the caller's
// environment reaches cargo only as a BuildKit secret. Without it the
// build fails with cargo's authentication error; with it the build works;
// the token is in no layer, no cache blob and no log line.
func TestPrivateRegistryTokenOnlyAsSecret(t *testing.T) {
	e := newMuslEnv(t) // credentialBuilder adds to a builder image
	token := randomToken(t)
	reg := newPrivateRegistry(t, token)
	builder := credentialBuilder(t, e.builder)

	ws := t.TempDir()
	fixtures.WriteFile(t, ws, "Cargo.toml", fmt.Sprintf(`[package]
name = "private-app"
version = "0.1.0"
edition = "2021"

[dependencies]
%s = { version = "1", registry = "corp" }
`, privateCrate))
	fixtures.WriteFile(t, ws, "src/main.rs", `corp_cfg_if::cfg_if! {
    if #[cfg(target_os = "linux")] {
        const OS: &str = "linux";
    } else {
        const OS: &str = "elsewhere";
    }
}

fn main() {
    println!("private dependency built for {}", OS);
}
`)
	fixtures.WriteFile(t, ws, ".cargo/config.toml", fmt.Sprintf("[registries.corp]\nindex = %q\n\n[net]\noffline = false\n", reg.URL))
	fixtures.WriteFile(t, ws, "Cargo.lock", fmt.Sprintf(`version = 3

[[package]]
name = %q
version = %q
source = "registry+%s"
checksum = %q

[[package]]
name = "private-app"
version = "0.1.0"
dependencies = [
 %q,
]
`, privateCrate, privateVersion, reg.URL, reg.Checksum, privateCrate))

	ctx := context.Background()
	s := e.settings(ws, "linux/amd64", e.image("private"))
	s.Builder = str(builder)
	cacheRef := fmt.Sprintf("%s/muslrust-chef-test/private-cache:run-%d", e.registry, time.Now().UnixNano())
	s.Cache = str(cacheRef)

	// Without the token: cargo's own authentication error, nothing built.
	r0, err := build(ctx, s, e.runtime(""))
	cookLog := r0.stageLogs("cook", "")
	if err == nil || !strings.Contains(err.Error(), "cargo failed in [cook") || !strings.Contains(cookLog, "failed to authenticate") {
		t.Fatalf("build without the token: %v, want cargo's authentication error; cook printed:\n%s", err, cookLog)
	}
	for _, l := range strings.Split(cookLog, "\n") {
		if strings.Contains(l, "authenticate") {
			t.Logf("without the token: %v; cargo: %s", err, strings.TrimSpace(l))
			break
		}
	}
	if reg.denied.Load() == 0 || reg.granted.Load() != 0 {
		t.Fatalf("registry saw %d refused and %d accepted requests without the token", reg.denied.Load(), reg.granted.Load())
	}

	rt := e.runtime("")
	rt = append(rt, WithCredentials(Credentials{CargoTokens: map[string]string{"CARGO_REGISTRIES_CORP_TOKEN": token}}))
	r, err := build(ctx, s, rt)
	if err != nil {
		t.Fatal(err)
	}
	verifyMusl(t, e, filepath.Join(ws, "dist", "linux_amd64", "private-app"), amd64())
	if out := runBinary(t, filepath.Join(ws, "dist", "linux_amd64", "private-app")); !strings.Contains(out, "private dependency built for linux") {
		t.Fatalf("binary printed %q", out)
	}
	if reg.granted.Load() == 0 || reg.downloads.Load() == 0 {
		t.Fatalf("registry granted %d index requests and served %d downloads", reg.granted.Load(), reg.downloads.Load())
	}
	if !strings.Contains(e.log.String(), "cargo registry tokens CARGO_REGISTRIES_CORP_TOKEN reach cargo as a BuildKit secret") {
		t.Fatalf("log does not say how the token is passed:\n%s", e.log.String())
	}

	for what, text := range map[string]string{"log": e.log.String(), "BuildKit progress": e.progress.String(), "error": fmt.Sprint(err)} {
		if strings.Contains(text, token) {
			t.Errorf("the token is in the %s", what)
		}
	}
	for _, ref := range []string{cacheRef, r.Published.Reference} {
		found, walked := blobsHolding(t, ref, []byte(token))
		t.Logf("%s: %d blobs read", ref, walked)
		if len(found) > 0 {
			t.Errorf("the token is in blobs of %s: %s", ref, strings.Join(found, ", "))
		}
	}
}
