package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

func randomToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "muslrust-chef-secret-" + hex.EncodeToString(b)
}

// blobsHolding walks every blob a registry reference leads to (an index's
// manifests, each manifest's config and layers, a BuildKit cache index's
// layer and cache config blobs), decompressed, and returns the digests of
// those containing needle, and how many blobs it read.
func blobsHolding(t *testing.T, ref string, needle []byte) (found []string, walked int) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	repo := r.Context()
	seen := map[string]bool{}
	var walk func(d v1.Descriptor)
	check := func(what string, rd io.Reader) {
		walked++
		br := &peekReader{r: rd}
		var in io.Reader = br
		head := br.peek(4)
		switch {
		case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
			zr, err := gzip.NewReader(br)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			in = zr
		case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			zr, err := zstd.NewReader(br)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			defer zr.Close()
			in = zr
		}
		if containsStream(t, what, in, needle) {
			found = append(found, what)
		}
	}
	walk = func(d v1.Descriptor) {
		if seen[d.Digest.String()] {
			return
		}
		seen[d.Digest.String()] = true
		if d.MediaType.IsIndex() || d.MediaType.IsImage() || strings.Contains(string(d.MediaType), "manifest") {
			desc, err := remote.Get(repo.Digest(d.Digest.String()))
			if err != nil {
				t.Fatalf("%s@%s: %v", ref, d.Digest, err)
			}
			check(d.Digest.String()+" (manifest)", bytes.NewReader(desc.Manifest))
			var m struct {
				Config    *v1.Descriptor  `json:"config"`
				Layers    []v1.Descriptor `json:"layers"`
				Manifests []v1.Descriptor `json:"manifests"`
			}
			if err := json.Unmarshal(desc.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			children := append(m.Manifests, m.Layers...)
			if m.Config != nil {
				children = append(children, *m.Config)
			}
			for _, x := range children {
				walk(x)
			}
			return
		}
		l, err := remote.Layer(repo.Digest(d.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("blob %s: %v", d.Digest, err)
		}
		defer rc.Close()
		check(d.Digest.String()+" ("+string(d.MediaType)+")", rc)
	}
	top, err := remote.Get(r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	walk(top.Descriptor)
	return found, walked
}

type peekReader struct {
	r   io.Reader
	buf []byte
}

func (p *peekReader) peek(n int) []byte {
	b := make([]byte, n)
	k, _ := io.ReadFull(p.r, b)
	p.buf = b[:k]
	return p.buf
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// containsStream searches a stream for needle without holding it whole.
func containsStream(t *testing.T, what string, r io.Reader, needle []byte) bool {
	buf := make([]byte, 1<<20+len(needle))
	keep := 0
	for {
		n, err := r.Read(buf[keep:])
		if bytes.Contains(buf[:keep+n], needle) {
			return true
		}
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("reading %s: %v", what, err)
		}
		if keep+n >= len(needle) {
			copy(buf, buf[keep+n-len(needle)+1:keep+n])
			keep = len(needle) - 1
		} else {
			keep += n
		}
	}
}

// A workspace two levels below a directory that also holds a secret and
// 100 MB of unrelated data, with a path dependency on a crate beside it:
// the build succeeds and the secret reaches no layer, no cache blob (a
// mode=max registry cache) and no file of the build stage; the context
// holds the workspace and the crate only.
func TestContextSendsOnlyWorkspaceAndPathCrate(t *testing.T) {
	e := newDefaultEnv(t)
	token := randomToken(t)
	top := fixtures.CopyTree(t, testdataOutside)
	ws := filepath.Join(top, "repo", "app")
	fixtures.WriteFile(t, top, "secret.txt", token+"\n")
	fixtures.WriteFile(t, top, "repo/NOTES", "next to the workspace: "+token+"\n")
	fixtures.WriteFile(t, top, "unrelated/token.txt", token+"\n")
	big, err := os.Create(filepath.Join(top, "unrelated", "data.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := big.Write(bytes.Repeat([]byte{0x5a}, 100<<20)); err != nil {
		t.Fatal(err)
	}
	big.Close()

	ctx := context.Background()
	cacheRef := fmt.Sprintf("%s/muslrust-chef-test/outside-cache:run-%d", e.registry, time.Now().UnixNano())
	s := e.settings(ws, "linux/amd64", e.image("outside"))
	s.Cache = str(cacheRef)
	start := time.Now()
	rt := e.runtime("")
	r, err := build(ctx, s, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("build took %s", time.Since(start).Round(time.Second))
	verifyMusl(t, e, filepath.Join(ws, "dist", "linux_amd64", "app"), amd64())
	if out := runBinary(t, filepath.Join(ws, "dist", "linux_amd64", "app")); !strings.Contains(out, "HELLO FROM OUTSIDE (18 bytes)") {
		t.Fatalf("binary printed %q", out)
	}

	var line string
	for _, l := range strings.Split(e.log.String(), "\n") {
		if strings.HasPrefix(l, "build: context: ") {
			line = l
		}
	}
	t.Logf("context line: %s", line)
	wantRoots := ws + " -> /src/repo/app, " + filepath.Join(top, "textkit") + " -> /src/textkit"
	if !strings.HasSuffix(line, ": "+wantRoots) || strings.Contains(e.log.String(), "warning") {
		t.Fatalf("context log line %q, want it to end with %q", line, wantRoots)
	}
	if r.Context.Bytes > 64<<10 || r.Context.Files != 5 {
		t.Fatalf("context holds %d files, %d bytes; want the 5 files of the workspace and the crate", r.Context.Files, r.Context.Bytes)
	}

	for _, ref := range []string{cacheRef, cacheRef + "-cook", r.Published.Reference} {
		found, walked := blobsHolding(t, ref, []byte(token))
		t.Logf("%s: %d blobs read", ref, walked)
		if len(found) > 0 {
			t.Errorf("the secret is in blobs of %s: %s", ref, strings.Join(found, ", "))
		}
		if walked < 3 {
			t.Errorf("%s: only %d blobs walked", ref, walked)
		}
	}

	// The build stage's /src, exported by a stage appended to the very
	// request the build sent (same context, same layout).
	c, ws2, err := resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	o := newOptions(append(rt, WithWorkspace(ws2)))
	planned, err := plan(ctx, planIn{Config: &c, What: "build", Workspace: o.workspace, Host: o.host, Log: o.log})
	if err != nil {
		t.Fatal(err)
	}
	s2, bk, req, done, err := setup(ctx, solveIn{Config: &c, Planned: planned, What: "build", Opts: o})
	defer done()
	if err != nil {
		t.Fatal(err)
	}
	req.DockerfileContent = append(append([]byte{}, req.DockerfileContent...), []byte("\nFROM scratch AS muslrust-chef-test-src\nCOPY --from=build /src/ /\n")...)
	req.Target = "muslrust-chef-test-src"
	out := filepath.Join(t.TempDir(), "src")
	req.Local = &buildkit.LocalOutput{Dir: out}
	req.CacheFrom, req.CacheTo = nil, ""
	s2.Cache = buildcache.Spec{}
	if err := run(ctx, bk, o, req, &s2); err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		// The marker is the kit's, written beside the export on the host.
		if !strings.HasPrefix(rel, "repo/app/target/") && rel != atomicdir.Marker {
			files = append(files, rel)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(token)) {
			t.Errorf("the build stage's /src/%s holds the secret", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	want := "repo/app/Cargo.lock repo/app/Cargo.toml repo/app/src/main.rs textkit/Cargo.toml textkit/src/lib.rs"
	if got := strings.Join(files, " "); got != want {
		t.Fatalf("the build stage's /src holds (besides target/)\n%s\nwant\n%s", got, want)
	}
}
