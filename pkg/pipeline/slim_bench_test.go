package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// BenchmarkSlimVersusDockerBuild publishes a two-platform image of a ~10 MB
// binary with slim (to an OCI layout and to the local registry) and, in the
// same run, builds the equivalent FROM scratch + COPY Dockerfile for both
// platforms with docker build on the local daemon. Target: slim at most 0.2
// of the docker build time.
func BenchmarkSlimVersusDockerBuild(b *testing.B) {
	registry := testinfra.Registry(b)
	testinfra.DockerSocket(b)
	docker := dockerWithBuildKit(b)
	dist := makeDist(b, "app", map[string]string{
		"amd64": fixtures.GoStaticLarge(b, "amd64"),
		"arm64": fixtures.GoStaticLarge(b, "arm64"),
	})
	if st, err := os.Stat(filepath.Join(dist, "linux_amd64", "app")); err == nil {
		b.Logf("binary size: %.1f MB", float64(st.Size())/(1<<20))
	}
	ctxDir := b.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		data, _ := os.ReadFile(filepath.Join(dist, "linux_"+arch, "app"))
		os.WriteFile(filepath.Join(ctxDir, "app-"+arch), data, 0o755)
	}
	dockerfile := "FROM scratch\nARG TARGETARCH\nCOPY --chown=65532:65532 app-${TARGETARCH} /usr/local/bin/app\nUSER 65532:65532\nENTRYPOINT [\"/usr/local/bin/app\"]\n"
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644)
	host := hostPlatform(b)
	ctx := context.Background()

	var slimOCI, slimReg, dockerBuild time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		_, err := ship(ctx, shipReq{Platforms: both(b), Dist: dist, Base: publish.Scratch, Output: publish.Output{Kind: "oci", Path: filepath.Join(b.TempDir(), "oci")},
			Image: "bench/app:1", Host: host, Stdout: &bytes.Buffer{}})
		if err != nil {
			b.Fatal(err)
		}
		slimOCI += time.Since(start)

		start = time.Now()
		_, err = ship(ctx, shipReq{Platforms: both(b), Dist: dist, Base: publish.Scratch, Output: publish.Output{Kind: "registry"},
			Image: fmt.Sprintf("%s/bench/slim-%d-%d:1", registry, time.Now().UnixNano(), i), Host: host, Stdout: &bytes.Buffer{}})
		if err != nil {
			b.Fatal(err)
		}
		slimReg += time.Since(start)

		start = time.Now()
		for _, p := range both(b) {
			tag := fmt.Sprintf("muslrust-chef-bench/docker-%s:%d", p.Arch, i)
			cmd := exec.Command(docker, "build", "--no-cache", "-q", "--platform", p.String(), "-t", tag, ctxDir)
			cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("docker build: %v\n%s", err, out)
			}
			defer exec.Command("docker", "rmi", "-f", tag).Run()
		}
		dockerBuild += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(slimOCI.Seconds()/n, "slim-oci-s/op")
	b.ReportMetric(slimReg.Seconds()/n, "slim-registry-s/op")
	b.ReportMetric(dockerBuild.Seconds()/n, "docker-build-s/op")
	b.ReportMetric(slimOCI.Seconds()/dockerBuild.Seconds(), "oci/docker")
	b.ReportMetric(slimReg.Seconds()/dockerBuild.Seconds(), "registry/docker")
	b.Logf("slim->oci %.3fs, slim->registry %.3fs, docker build %.3fs: ratios %.3f and %.3f (target <= 0.2)",
		slimOCI.Seconds()/n, slimReg.Seconds()/n, dockerBuild.Seconds()/n, slimOCI.Seconds()/dockerBuild.Seconds(), slimReg.Seconds()/dockerBuild.Seconds())
}

// dockerWithBuildKit finds a docker CLI whose docker build speaks BuildKit
// without the buildx plugin: Debian's docker.io client does, a newer static
// client earlier on PATH may not.
func dockerWithBuildKit(b *testing.B) string {
	for _, candidate := range []string{"/usr/bin/docker", "docker"} {
		path, err := exec.LookPath(candidate)
		if err != nil {
			continue
		}
		cmd := exec.Command(path, "build", "--help")
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
		if cmd.Run() == nil {
			return path
		}
	}
	testinfra.Missing(b, "no docker CLI that can run docker build with BuildKit", "install Debian's docker.io")
	return ""
}
