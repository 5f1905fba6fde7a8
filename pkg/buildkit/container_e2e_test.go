package buildkit

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	gcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// cookLike is a build shaped like the kit's cook stage: a named context (the
// skeleton) is the only input of a slow RUN step whose output a later stage
// copies out. Only a BuildKit that can do named contexts runs it.
const cookLike = `FROM scratch AS tools
COPY busybox /bin/busybox
FROM tools AS cook
COPY --from=skeleton / /skeleton
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sleep 2; /bin/busybox cat /skeleton/recipe > /cooked"]
FROM scratch
COPY --from=cook /cooked /cooked
`

// cookVertex is the RUN step's name in BuildKit's progress.
const cookVertex = "/bin/busybox sleep 2"

// solveCookLike runs cookLike and reports whether the cook step was cached.
func solveCookLike(t *testing.T, b Builder, ctxDir, skeleton string) (cached bool) {
	t.Helper()
	var mu sync.Mutex
	seen, fromCache := false, false
	out := filepath.Join(t.TempDir(), "out")
	_, err := b.Solve(context.Background(), Request{
		ContextDir:        ctxDir,
		DockerfileContent: []byte(cookLike),
		NamedContexts:     map[string]string{"skeleton": skeleton},
		Local:             &LocalOutput{Dir: out},
		OnStatus: func(s *bkclient.SolveStatus) {
			mu.Lock()
			defer mu.Unlock()
			for _, v := range s.Vertexes {
				if strings.Contains(v.Name, cookVertex) && v.Completed != nil {
					seen = true
					fromCache = fromCache || v.Cached
				}
			}
		},
	})
	if err != nil {
		t.Fatalf("build on %s: %v", b.Endpoint().Describe(), err)
	}
	got, err := os.ReadFile(filepath.Join(out, "cooked"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(skeleton, "recipe"))
	if string(got) != string(want) {
		t.Errorf("cooked %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if !seen {
		t.Fatalf("no completed vertex named %q in the progress", cookVertex)
	}
	return fromCache
}

// copyImage copies ref (repo:tag@digest) to repo, keeping tag and digest.
func copyImage(t *testing.T, ref, repo string) string {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		t.Fatal(err)
	}
	src, err := gcrname.ParseReference(runnable(ref), gcrname.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	tag := named.(reference.Tagged).Tag()
	dst, err := gcrname.NewTag(repo+":"+tag, gcrname.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
	return dst.String() + "@" + named.(reference.Canonical).Digest().String()
}

// removeContainer deletes a test's BuildKit container and its volume.
func removeContainer(t *testing.T, cli *dockerclient.Client, name string) {
	ctx := context.Background()
	if _, err := cli.ContainerRemove(ctx, name, dockerclient.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("removing %s: %v", name, err)
	}
	if _, err := cli.VolumeRemove(ctx, name+StateSuffix, dockerclient.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("removing volume %s: %v", name+StateSuffix, err)
	}
}

// With nothing configured (no BUILDKIT_HOST, no buildx builder) on this
// machine's Docker 20.10, whose built-in BuildKit cannot do named contexts,
// Connect starts a BuildKit container from the (stand-in) moby/buildkit
// image; a second Connect reuses it and finds the cook layer cached in its
// volume; a new image replaces the container but keeps the volume.
func TestStartedBuildkitContainer(t *testing.T) {
	dockerHost := testinfra.DockerSocket(t)
	image := standin.BuildkitImage(t)
	busybox, err := testimages.BusyboxBinary("amd64")
	if err != nil {
		testinfra.Missing(t, "busybox-static: "+err.Error(), "run as root on Debian with access to its archive")
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	name := "muslrust-chef-test-buildkit-" + uniq()
	removeContainer(t, cli, name)
	t.Cleanup(func() { removeContainer(t, cli, name) })

	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	skeleton := writeFiles(t, map[string]string{"recipe": "deps of " + uniq() + "\n"})

	connect := func(img string) (Builder, string) {
		t.Helper()
		var log testinfra.SyncBuffer
		start := time.Now()
		b, err := Connect(context.Background(),
			WithDockerConfigDir(t.TempDir()), // no buildx builder selected
			WithDockerHost(dockerHost),
			WithBuildkitImage(img),
			WithContainerName(name),
			WithLog(&log),
			WithProgress(testinfra.ProgressLog(t), "plain"))
		if err != nil {
			t.Fatalf("Connect: %v\nlog:\n%s", err, log.String())
		}
		t.Logf("Connect took %s:\n%s", time.Since(start).Round(time.Millisecond), log.String())
		return b, log.String()
	}

	// First run: the image is pulled, the container created, a build works.
	// The stand-in is copied to a repository of this test's own, so the
	// daemon must pull it without other tests' containers being disturbed.
	image = copyImage(t, image, testinfra.Registry(t)+"/muslrust-chef-test/moby-buildkit-pull-"+uniq())
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), runnable(image), dockerclient.ImageRemoveOptions{Force: true})
	})
	b, log := connect(image)
	e := b.Endpoint()
	if e.Container == nil || !e.Container.Created || e.Container.Name != name || e.Container.Volume != name+StateSuffix {
		t.Fatalf("first run: endpoint %+v, container %+v", e, e.Container)
	}
	if e.Kind != KindBuildkitd || !e.Caps.NamedContexts || !e.Caps.MultiPlatform || !e.Caps.CacheExport {
		t.Errorf("started BuildKit: %+v", e)
	}
	for _, want := range []string{
		"buildkit: " + HostEnv + " is unset",
		"buildkit: no buildx builder is selected",
		"buildkit: not using the Docker daemon's built-in BuildKit",
		"named build contexts",
		"buildkit: pulling " + image + " (first run only)",
		"buildkit: starting container " + name + " from " + image,
		"buildkit: using BuildKit at docker-container://" + name,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("resolution log lacks %q", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !strings.HasPrefix(line, "buildkit: ") {
			t.Errorf("log line without the step prefix: %q", line)
		}
	}
	if solveCookLike(t, b, ctxDir, skeleton) {
		t.Error("first run: the cook step came from a cache the new container cannot have")
	}
	b.Close()

	// `docker ps` shows whose it is; it runs privileged with its state in
	// the named volume.
	ins, err := cli.ContainerInspect(context.Background(), name, dockerclient.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ins.Container.State.Running || !ins.Container.HostConfig.Privileged {
		t.Errorf("container state %+v, privileged %v", ins.Container.State, ins.Container.HostConfig.Privileged)
	}
	vol := false
	for _, m := range ins.Container.Mounts {
		vol = vol || (m.Name == name+StateSuffix && m.Destination == "/var/lib/buildkit")
	}
	if !vol {
		t.Errorf("no volume %s at /var/lib/buildkit: %+v", name+StateSuffix, ins.Container.Mounts)
	}
	if ins.Container.Config.Labels[labelImage] != image {
		t.Errorf("image label %q", ins.Container.Config.Labels[labelImage])
	}

	// Second run: reused, and the cook layer is in its volume.
	b, log = connect(image)
	if c := b.Endpoint().Container; c == nil || c.Created {
		t.Errorf("second run did not reuse the container: %+v", c)
	}
	if !strings.Contains(log, "buildkit: reusing the running container "+name) || strings.Contains(log, "pulling") {
		t.Errorf("second run log: %s", log)
	}
	if !solveCookLike(t, b, ctxDir, skeleton) {
		t.Error("second run: the cook step was not cached in the container's volume")
	}
	b.Close()

	// A stopped container is started again, cache intact.
	if _, err := cli.ContainerStop(context.Background(), name, dockerclient.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	b, log = connect(image)
	if !strings.Contains(log, "buildkit: starting the stopped container "+name) {
		t.Errorf("stopped container: %s", log)
	}
	if !solveCookLike(t, b, ctxDir, skeleton) {
		t.Error("restarted container lost the cook layer")
	}
	b.Close()

	// Another image (here the same one named by digest only, as a new pin
	// would be) replaces the container and keeps the volume, so the cache.
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		t.Fatal(err)
	}
	byDigest := reference.TrimNamed(named).String() + "@" + named.(reference.Canonical).Digest().String()
	b, log = connect(byDigest)
	if c := b.Endpoint().Container; c == nil || !c.Created || !strings.Contains(log, "buildkit: replacing container "+name) {
		t.Errorf("new image did not replace the container: %+v\n%s", c, log)
	}
	if !solveCookLike(t, b, ctxDir, skeleton) {
		t.Error("the replaced container lost the cache in the volume")
	}
	b.Close()
}

// A container of that name that the kit did not start is left alone.
func TestStartRefusesForeignContainer(t *testing.T) {
	dockerHost := testinfra.DockerSocket(t)
	image := standin.BuildkitImage(t)
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	name := "muslrust-chef-test-foreign-" + uniq()
	cfg := config{log: os.Stderr}
	if err := ensureImage(context.Background(), cfg, cli, image); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerCreate(context.Background(), dockerclient.ContainerCreateOptions{
		Name: name, Config: &container.Config{Image: runnable(image)},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeContainer(t, cli, name) })
	_, err = Connect(context.Background(), WithDockerConfigDir(t.TempDir()), WithDockerHost(dockerHost),
		WithBuildkitImage(image), WithContainerName(name), WithLog(testinfra.ProgressLog(t)))
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), "was not started by muslrust-chef") || !strings.Contains(err.Error(), "docker rm -f "+name) {
		t.Errorf("unexpected: %v", err)
	}
	t.Log(err)
}

// With host networking and a buildkitd.toml (as buildx's network=host and
// --buildkitd-config), the started BuildKit reaches a plain-HTTP registry on
// this machine's loopback: it pulls a base image, builds two platforms and
// pushes one index with a registry cache.
func TestStartedBuildkitLocalRegistry(t *testing.T) {
	dockerHost := testinfra.DockerSocket(t)
	registry := testinfra.Registry(t)
	base := testimages.Busybox(t)
	image := standin.BuildkitImage(t)
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	name := "muslrust-chef-test-buildkit-net-" + uniq()
	t.Cleanup(func() { removeContainer(t, cli, name) })
	toml := []byte("[registry.\"" + registry + "\"]\n  http = true\n  insecure = true\n")
	var log testinfra.SyncBuffer
	b, err := Connect(context.Background(), WithDockerConfigDir(t.TempDir()), WithDockerHost(dockerHost),
		WithBuildkitImage(image), WithContainerName(name), WithContainerNetwork("host"), WithBuildkitdConfig(toml),
		WithLog(&log), WithProgress(testinfra.ProgressLog(t), "plain"))
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	defer b.Close()
	t.Log(log.String())
	if !strings.Contains(log.String(), "network host, buildkitd.toml ") {
		t.Errorf("the start line does not say how the container differs: %s", log.String())
	}
	ins, err := cli.ContainerInspect(context.Background(), name, dockerclient.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(ins.Container.HostConfig.NetworkMode) != "host" || strings.Join(ins.Container.Config.Cmd, " ") != "--config "+configPath {
		t.Errorf("network %q, cmd %q", ins.Container.HostConfig.NetworkMode, ins.Container.Config.Cmd)
	}
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "ARG BASE\nFROM ${BASE}\nARG RUN_ID\nRUN echo \"$RUN_ID\" > /id && uname -m > /arch\n"})
	ref := registry + "/muslrust-chef-test/started-buildkit:" + uniq()
	res, err := b.Solve(context.Background(), Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		BuildArgs:  map[string]string{"BASE": base, "RUN_ID": uniq()},
		Image:      &ImageOutput{Names: []string{ref}, Push: true},
		CacheTo:    registry + "/muslrust-chef-test/started-buildkit:cache",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := gcrname.ParseReference(ref, gcrname.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("%s is not an index in the registry: %v", ref, err)
	}
	if d, _ := idx.Digest(); d.String() != res.Digest {
		t.Errorf("pushed %s, registry has %s", res.Digest, d)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 2 {
		t.Errorf("index manifests: %v, %v", im, err)
	}
}

// What the container is created with decides whether it is reused.
func TestStartSpecHash(t *testing.T) {
	a := startSpec{image: DefaultImage, name: DefaultContainer}
	for _, other := range []startSpec{
		{image: DefaultImage + "x", name: DefaultContainer},
		{image: DefaultImage, name: DefaultContainer, network: "host"},
		{image: DefaultImage, name: DefaultContainer, config: []byte("debug = true\n")},
	} {
		if other.hash() == a.hash() {
			t.Errorf("%+v hashes like %+v", other, a)
		}
	}
	if (startSpec{image: DefaultImage, name: "other"}).hash() != a.hash() {
		t.Error("the name is not a setting of the container")
	}
}

// A buildx docker-container builder, laid out as buildx leaves it (its
// instance file, and a privileged container buildx_buildkit_<node> with a
// state volume, stopped): Connect starts the container and reaches
// buildkitd inside through the Docker API's exec, no docker CLI involved.
func TestBuildxDockerContainerThroughAPI(t *testing.T) {
	dockerHost := testinfra.DockerSocket(t)
	image := standin.BuildkitImage(t)
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	builder := "ci" + uniq()
	node := builder + "0"
	cname := buildxContainerPrefix + node
	t.Cleanup(func() { removeContainer(t, cli, cname) })
	if err := ensureImage(context.Background(), config{log: io.Discard}, cli, image); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerCreate(context.Background(), dockerclient.ContainerCreateOptions{
		Name:   cname,
		Config: &container.Config{Image: runnable(image)},
		HostConfig: &container.HostConfig{Privileged: true,
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: cname + StateSuffix, Target: "/var/lib/buildkit"}}},
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeBuildx(t, dir, buildxCurrent{Key: dockerHost, Name: builder}, nodeGroup(builder, "docker-container", node, dockerHost))
	var log testinfra.SyncBuffer
	b, err := Connect(context.Background(), WithDockerConfigDir(dir), WithDockerHost(dockerHost), WithLog(&log),
		WithProgress(testinfra.ProgressLog(t), "plain"))
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	defer b.Close()
	t.Log(log.String())
	e := b.Endpoint()
	if e.Source != `buildx builder "`+builder+`"` || e.Address != "docker-container://"+cname || e.Container != nil {
		t.Errorf("endpoint %+v", e)
	}
	if !strings.Contains(log.String(), "buildkit: starting buildx builder \""+builder+"\"'s stopped container "+cname) {
		t.Errorf("the stopped buildx container was not started: %s", log.String())
	}
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})
	out := filepath.Join(t.TempDir(), "out")
	if _, err := b.Solve(context.Background(), Request{ContextDir: ctxDir, Local: &LocalOutput{Dir: out}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "id")); err != nil {
		t.Error(err)
	}

	// The same container named in BUILDKIT_HOST, as buildctl accepts it,
	// is reached the same way.
	bh, err := Connect(context.Background(), WithDockerConfigDir(t.TempDir()), WithDockerHost(dockerHost), WithLog(io.Discard),
		WithHostFrom("docker-container://"+cname, HostEnv))
	if err != nil {
		t.Fatal(err)
	}
	if e := bh.Endpoint(); e.Source != HostEnv || len(e.Platforms) == 0 {
		t.Errorf("BUILDKIT_HOST endpoint %+v", e)
	}
	bh.Close()
	_, err = Connect(context.Background(), WithDockerConfigDir(t.TempDir()), WithDockerHost(dockerHost), WithLog(io.Discard),
		WithHostFrom("docker-container://"+cname+"-gone", HostEnv))
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "docker-container://"+cname+"-gone") {
		t.Errorf("missing container: %v", err)
	}
}

func TestParseDockerContainer(t *testing.T) {
	cases := []struct{ in, name, ctx string }{
		{"docker-container://buildx_buildkit_ci0", "buildx_buildkit_ci0", ""},
		{"docker-container://bk?context=arm-box", "bk", "arm-box"},
	}
	for _, c := range cases {
		n, d, ok := parseDockerContainer(c.in)
		if !ok || n != c.name || d != c.ctx {
			t.Errorf("%s: %q %q %v", c.in, n, d, ok)
		}
	}
	for _, in := range []string{"unix:///run/buildkit/buildkitd.sock", "docker-container://", "podman-container://x"} {
		if _, _, ok := parseDockerContainer(in); ok {
			t.Errorf("%s parsed as a Docker container", in)
		}
	}
}
