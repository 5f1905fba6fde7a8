package builderimage_test

import (
	"context"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

var triples = map[string]string{"amd64": "x86_64-unknown-linux-musl", "arm64": "aarch64-unknown-linux-musl"}

// The whole image:push path: a release git tag gives the tags and version,
// the real Dockerfile is built for both platforms on the stand-in base, one
// index is pushed, and each platform's helper runs and names its triple.
func TestPushIndexBothPlatforms(t *testing.T) {
	registry, bk := requireInfra(t)
	base := testimages.Busybox(t)
	cleanEnv(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("GITHUB_REF", "refs/tags/muslrust-chef-v1.4.2")
	repo := registry + "/muslrust-chef-test/builder-" + uniq()

	req, err := planPush(context.Background(), config.ImageSettings{
		Image:          repo,
		Platforms:      "linux/amd64,linux/arm64",
		Cache:          "off",
		MuslrustImage:  base,
		ChefVersion:    "none",
		CrossToolchain: "none", // nothing here reaches GitHub releases
		Revision:       "0123456789abcdef",
		Source:         "https://example.test/muslrust-chef",
	})
	if err != nil {
		t.Fatal(err)
	}
	var gotTags []string
	for _, tg := range req.Tags {
		gotTags = append(gotTags, tg.TagStr())
	}
	if strings.Join(gotTags, ",") != "1.4.2,1.4,1" {
		t.Fatalf("tags from git tag muslrust-chef-v1.4.2 = %v, want 1.4.2,1.4,1", gotTags)
	}
	res, err := builderimage.Push(context.Background(), connect(t, bk), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != repo+"@"+res.Digest {
		t.Errorf("Ref %s, want %s@%s", res.Ref, repo, res.Digest)
	}
	for _, tag := range gotTags {
		r, _ := name.ParseReference(repo+":"+tag, name.Insecure)
		d, err := remote.Head(r)
		if err != nil || d.Digest.String() != res.Digest {
			t.Errorf("%s: %v, digest %v, want %s", r, err, d, res.Digest)
		}
	}

	r, _ := name.ParseReference(res.Ref, name.Insecure)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("pushed ref is not an index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue
		}
		arch := m.Platform.Architecture
		seen[arch] = true
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		env := strings.Join(cf.Config.Env, "\n")
		for _, want := range []string{"CARGO_NET_GIT_FETCH_WITH_CLI=true", "CARGO_REGISTRIES_CRATES_IO_PROTOCOL=sparse"} {
			if !strings.Contains(env, want) {
				t.Errorf("%s: env lacks %s: %v", arch, want, cf.Config.Env)
			}
		}
		if cf.Config.WorkingDir != "/app" {
			t.Errorf("%s: WORKDIR %q, want /app", arch, cf.Config.WorkingDir)
		}
		labels := map[string]string{
			"org.opencontainers.image.version":   "1.4.2",
			"org.opencontainers.image.revision":  "0123456789abcdef",
			"org.opencontainers.image.source":    "https://example.test/muslrust-chef",
			"org.opencontainers.image.base.name": base,
			"org.opencontainers.image.title":     "muslrust-chef",
			"io.muslrust-chef.libc":              "musl",
			// CrossToolchain none: no zig, so no cross declaration.
			"io.muslrust-chef.cross": "",
		}
		for k, v := range labels {
			if got := cf.Config.Labels[k]; got != v {
				t.Errorf("%s: label %s = %q, want %q", arch, k, got, v)
			}
		}
		if got := runHelperFrom(t, img, "triple"); got != triples[arch] {
			t.Errorf("%s: helper prints triple %q, want %q", arch, got, triples[arch])
		}
		if got := runHelperFrom(t, img, "version"); got != "muslrust-chef 1.4.2" {
			t.Errorf("%s: helper version %q", arch, got)
		}
	}
	if !seen["amd64"] || !seen["arm64"] || len(seen) != 2 {
		t.Errorf("index platforms %v, want amd64 and arm64", seen)
	}
}

// Split builds: each platform pushed by digest (as on two native runners),
// then merged into one index whose children are exactly those digests.
func TestSplitPushByDigestThenMerge(t *testing.T) {
	registry, bk := requireInfra(t)
	base := testimages.Busybox(t)
	cleanEnv(t)
	repo := registry + "/muslrust-chef-test/builder-split-" + uniq()
	b := connect(t, bk)
	var refs []string
	byArch := map[string]string{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		req, err := planPush(context.Background(), config.ImageSettings{
			Image: repo, Platforms: p, PushByDigest: true, MuslrustImage: base, ChefVersion: "none",
			CrossToolchain: "none",
			Cache:          "off",
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := builderimage.Push(context.Background(), b, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tags) != 0 {
			t.Errorf("push by digest pushed tags %v", res.Tags)
		}
		refs = append(refs, res.Ref)
		byArch[strings.TrimPrefix(p, "linux/")] = res.Digest
	}
	plan, err := builderimage.PlanMerge(context.Background(), refs, config.MergeOptions("2.0.0,latest")...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := publish.Merge(context.Background(), plan.Digests, plan.Tags)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(repo+":2.0.0", name.Insecure)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		if want := byArch[d.Platform.Architecture]; want != d.Digest.String() {
			t.Errorf("merged index: %s -> %s, pushed %s", d.Platform.Architecture, d.Digest, want)
		}
	}
	if len(im.Manifests) != 2 || strings.Join(m.Platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("merged %v (%d manifests)", m.Platforms, len(im.Manifests))
	}
	d, _ := idx.Digest()
	if d.String() != m.Digest {
		t.Errorf("tag 2.0.0 points at %s, merge reported %s", d, m.Digest)
	}
}

// The cache test: a push exports the registry cache to the branch ref; a
// buildkitd with an empty state dir then rebuilds importing it and executes
// no build step, giving the same digest.
func TestRegistryCacheOnFreshBuilder(t *testing.T) {
	registry, bk := requireInfra(t)
	base := testimages.Busybox(t)
	fresh := testinfra.FreshBuildkitd(t)
	cleanEnv(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("GITHUB_REF", "refs/heads/feature/cache-test")
	repo := registry + "/muslrust-chef-test/builder-cache-" + uniq()
	settings := config.ImageSettings{Image: repo, Tags: "edge", MuslrustImage: base, ChefVersion: "none",
		CrossToolchain: "none", Revision: "r1"}
	req, err := planPush(context.Background(), settings)
	if err != nil {
		t.Fatal(err)
	}
	wantCache := buildcache.Refs{To: repo + ":buildcache-feature-cache-test", From: []string{repo + ":buildcache-feature-cache-test", repo + ":buildcache-main"}}
	if req.Cache.To != wantCache.To || strings.Join(req.Cache.From, ",") != strings.Join(wantCache.From, ",") {
		t.Fatalf("derived cache %+v, want %+v", req.Cache, wantCache)
	}
	first, err := builderimage.Push(context.Background(), connect(t, bk), req)
	if err != nil {
		t.Fatal(err)
	}
	absent(t, repo+":buildcache-main") // a branch never writes main's cache
	r, _ := name.ParseReference(wantCache.To, name.Insecure)
	if _, err := remote.Head(r); err != nil {
		t.Fatalf("no cache exported to %s: %v", wantCache.To, err)
	}

	second, err := builderimage.Push(context.Background(), connect(t, fresh), req)
	if err != nil {
		t.Fatal(err)
	}
	executed, cached := steps(second.Result)
	if len(executed) > 0 {
		t.Errorf("steps executed again on a fresh builder importing the cache: %q", executed)
	}
	if len(cached) < 6 { // per platform: RUN cargo-chef, WORKDIR, COPY, RUN verify
		t.Errorf("only %d cached steps reported: %q", len(cached), cached)
	}
	if second.Digest != first.Digest {
		t.Errorf("rebuild from cache gave %s, first build %s", second.Digest, first.Digest)
	}
	t.Logf("fresh builder: %d steps from the registry cache, 0 executed", len(cached))
}

// image:build with an OCI layout output: one platform (this machine's),
// replaced only by a successful build, never over a foreign directory.
func TestBuildOCILayout(t *testing.T) {
	_, bk := requireInfra(t)
	base := testimages.Busybox(t)
	cleanEnv(t)
	host := hostPlatform(t)
	dir := t.TempDir() + "/layout"
	req, err := builderimage.PlanBuild(context.Background(), host, config.ImageSettings{Output: "oci:" + dir, MuslrustImage: base, ChefVersion: "none", CrossToolchain: "none"}.Options(context.Background())...)
	if err != nil {
		t.Fatal(err)
	}
	b := connect(t, bk)
	for i := 0; i < 2; i++ { // the second run replaces the first layout
		if _, err := builderimage.Build(context.Background(), b, req); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(dir + "/index.json")
	if err != nil || !strings.Contains(string(data), "muslrust-chef:dev") {
		t.Errorf("layout index.json: %v %s", err, data)
	}
	foreign := t.TempDir()
	os.WriteFile(foreign+"/precious.txt", []byte("x"), 0o644)
	req.Output.Dir = foreign
	_, err = builderimage.Build(context.Background(), b, req)
	assertOneLine(t, err, "muslrust-chef did not write", "refusing to replace")
	if _, err := os.Stat(foreign + "/precious.txt"); err != nil {
		t.Error("foreign directory was touched")
	}
}

func TestPlanRefusals(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	cases := []struct {
		name string
		s    config.ImageSettings
		env  map[string]string
		want []string
	}{
		{"unknown platform", config.ImageSettings{Image: "r.example/x", Tags: "t", Platforms: "linux/amd64,linux/s390x"}, nil,
			[]string{"MUSLRUST_CHEF_PLATFORMS", `unsupported platform "linux/s390x"`}},
		{"malformed git tag", config.ImageSettings{Image: "r.example/x", Platforms: "linux/amd64"}, map[string]string{"GITHUB_REF": "refs/tags/muslrust-chef-v1.x"},
			[]string{`git tag "muslrust-chef-v1.x"`, "is not muslrust-chef-vX.Y.Z", "MUSLRUST_CHEF_TAGS"}},
		{"no tag", config.ImageSettings{Image: "r.example/x", Platforms: "linux/amd64"}, map[string]string{"GITHUB_REF": "refs/heads/main"},
			[]string{"no tag for r.example/x", "MUSLRUST_CHEF_TAGS"}},
		{"no image", config.ImageSettings{Platforms: "linux/amd64", Tags: "1"}, nil, []string{"bare tag", "image repository"}},
		{"digest image", config.ImageSettings{Image: "r.example/x@sha256:" + strings.Repeat("a", 64), Tags: "1", Platforms: "linux/amd64"}, nil, []string{"names a digest"}},
		{"by digest, two platforms", config.ImageSettings{Image: "r.example/x", PushByDigest: true, Platforms: "linux/amd64,linux/arm64"}, nil,
			[]string{"one platform per run", "image:merge"}},
		{"other cargo-chef without checksum", config.ImageSettings{Image: "r.example/x", Tags: "t", Platforms: "linux/arm64", ChefVersion: "0.1.99"}, nil,
			[]string{"cargo-chef 0.1.99 needs the sha256 of its linux/arm64 release asset", "MUSLRUST_CHEF_CARGO_CHEF_SHA256"}},
		{"bad checksum", config.ImageSettings{Image: "r.example/x", Tags: "t", Platforms: "linux/amd64", ChefVersion: "0.1.99", ChefSHA256: "amd64=xyz"}, nil,
			[]string{"not arch=<64 hex digits>"}},
		{"unknown cross toolchain", config.ImageSettings{Image: "r.example/x", Tags: "t", Platforms: "linux/amd64", CrossToolchain: "zig"}, nil,
			[]string{`MUSLRUST_CHEF_CROSS_TOOLCHAIN="zig"`, "use none"}},
		{"bad cache", config.ImageSettings{Image: "r.example/x", Tags: "t", Platforms: "linux/amd64", Cache: "r.example/cache"}, nil,
			[]string{"MUSLRUST_CHEF_CACHE", "with a tag"}},
		{"bad metadata json", config.ImageSettings{Image: "r.example/x", Platforms: "linux/amd64"}, map[string]string{"DOCKER_METADATA_OUTPUT_JSON": "{tags"},
			[]string{"DOCKER_METADATA_OUTPUT_JSON is not docker/metadata-action's JSON"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := planPush(ctx, c.s)
			assertOneLine(t, err, c.want...)
			if !option.Usage(err) {
				t.Errorf("not a usage error: %T %v", err, err)
			}
			t.Log(err)
		})
	}
}

func TestPlanTagsAndCache(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	// metadata-action's JSON names the repository and the tags.
	t.Setenv("DOCKER_METADATA_OUTPUT_JSON", `{"tags":["ghcr.io/org/muslrust-chef:1.2.3","ghcr.io/org/muslrust-chef:1.2"],"labels":{"org.opencontainers.image.version":"1.2.3","org.opencontainers.image.revision":"feed","org.opencontainers.image.source":"https://github.com/org/repo"}}`)
	t.Setenv("GITHUB_HEAD_REF", "dependabot/cargo/serde-1.0")
	req, err := planPush(ctx, config.ImageSettings{Platforms: "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Repo.Name() != "ghcr.io/org/muslrust-chef" || len(req.Tags) != 2 || req.Tags[1].Name() != "ghcr.io/org/muslrust-chef:1.2" {
		t.Errorf("repo %s tags %v", req.Repo, req.Tags)
	}
	if req.Labels != (builderimage.Labels{Version: "1.2.3", Revision: "feed", Source: "https://github.com/org/repo"}) {
		t.Errorf("labels %+v", req.Labels)
	}
	// One platform: a per-platform cache, so split runners do not overwrite
	// each other's; the branch name is made a valid tag.
	if req.Cache.To != "ghcr.io/org/muslrust-chef:buildcache-dependabot-cargo-serde-1.0-arm64" ||
		req.Cache.From[1] != "ghcr.io/org/muslrust-chef:buildcache-main-arm64" {
		t.Errorf("cache %+v", req.Cache)
	}
	// Explicit tags win over metadata-action; a tag in the image name is kept.
	req, err = planPush(ctx, config.ImageSettings{Image: "r.example/team/b:edge", Tags: "nightly, r.example/team/b:extra", Platforms: "amd64,arm64",
		Cache: "r.example/c:pr-1,r.example/c:main"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range req.Tags {
		names = append(names, tg.Name())
	}
	if strings.Join(names, " ") != "r.example/team/b:edge r.example/team/b:nightly r.example/team/b:extra" {
		t.Errorf("tags %v", names)
	}
	if req.Cache.To != "r.example/c:pr-1" || strings.Join(req.Cache.From, ",") != "r.example/c:pr-1,r.example/c:main" {
		t.Errorf("explicit cache %+v", req.Cache)
	}
	t.Setenv("DOCKER_METADATA_OUTPUT_JSON", "")
	// A pre-release tag moves no X.Y / X tag.
	t.Setenv("GITHUB_REF", "refs/tags/muslrust-chef-v2.0.0-rc.1")
	req, err = planPush(ctx, config.ImageSettings{Image: "r.example/b", Platforms: "linux/amd64", Cache: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Tags) != 1 || req.Tags[0].TagStr() != "2.0.0-rc.1" || req.Cache.To != "" || req.Labels.Version != "2.0.0-rc.1" {
		t.Errorf("pre-release: tags %v cache %+v labels %+v", req.Tags, req.Cache, req.Labels)
	}
	// A release tag of another project is not ours: no tags from it.
	t.Setenv("GITHUB_REF", "refs/tags/v9.9.9")
	if _, err := planPush(ctx, config.ImageSettings{Image: "r.example/b", Platforms: "linux/amd64"}); err == nil || !strings.Contains(err.Error(), "no tag for") {
		t.Errorf("foreign tag: %v", err)
	}
}

func TestDockerfilePins(t *testing.T) {
	if v := builder.DockerfileArg("CARGO_CHEF_VERSION"); v != "0.1.78" {
		t.Errorf("cargo-chef pin read from the Dockerfile: %q", v)
	}
	m := builder.DefaultMuslrustImage()
	if !strings.HasPrefix(m, "clux/muslrust:") || strings.HasSuffix(m, ":latest") || !regexpDate.MatchString(m) {
		t.Errorf("muslrust pin %q is not a version-date tag", m)
	}
}

var regexpDate = regexp.MustCompile(`:[0-9]+\.[0-9]+\.[0-9]+-stable-[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func hostPlatform(t testing.TB) platform.Platform {
	t.Helper()
	p, err := platform.Host()
	if err != nil {
		testinfra.Missing(t, "this host ("+runtime.GOARCH+") is not a platform the builder image has: "+err.Error(), "run the integration tests on linux/amd64 or linux/arm64")
	}
	return p
}
