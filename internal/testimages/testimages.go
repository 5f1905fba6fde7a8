// Package testimages builds the container images integration tests need,
// because these machines cannot pull from Docker Hub: a tiny multi-arch
// busybox-static base (linux/amd64 + linux/arm64) pushed to the local test
// registry. It is made with go-containerregistry, daemonless, from Debian's
// busybox-static packages, so it is ready in about a second and its digest
// is the same on every run.
package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Arches are the architectures of the busybox base, in index order.
var Arches = []string{"amd64", "arm64"}

// Repository is where Busybox pushes, inside the test registry.
const Repository = "muslrust-chef-test/busybox"

var (
	busyboxOnce sync.Once
	busyboxRef  string
	busyboxErr  error
	busyboxFix  string
)

const fixDownload = "run as root on Debian with access to its archive (the helper runs dpkg --add-architecture arm64, apt-get update, apt-get download busybox-static)"

// Busybox returns a digest reference (registry/repo@sha256:...) to a
// linux/amd64 + linux/arm64 busybox image in the shared test registry, with
// every applet linked into /bin (so /bin/sh exists). It is built once per
// test process; missing infrastructure skips the test loudly (or fails it
// under MUSLRUST_CHEF_INTEGRATION=1).
func Busybox(t testing.TB) string {
	t.Helper()
	registry := testinfra.Registry(t)
	// The image is only useful if its arm64 half can run (BuildKit RUN
	// steps, and listing the applets below).
	testinfra.RequireArm64(t)
	busyboxOnce.Do(func() { busyboxRef, busyboxErr = buildBusybox(registry) })
	if busyboxErr != nil {
		testinfra.Missing(t, "busybox-static base image: "+busyboxErr.Error(), busyboxFix)
	}
	return busyboxRef
}

// BusyboxBinary returns the path of the cached busybox-static binary for
// arch, downloading the .debs first if needed.
func BusyboxBinary(arch string) (string, error) {
	cache := filepath.Join(testinfra.Root(), "cache", "busybox-static")
	bin := filepath.Join(cache, arch, "busybox")
	if _, err := os.Stat(bin); err != nil {
		if err := downloadBusybox(cache); err != nil {
			return "", err
		}
	}
	return bin, nil
}

func buildBusybox(registry string) (string, error) {
	busyboxFix = fixDownload
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range Arches {
		bin, err := BusyboxBinary(arch)
		if err != nil {
			return "", err
		}
		img, err := busyboxImage(bin, arch)
		if err != nil {
			return "", err
		}
		p := v1.Platform{OS: "linux", Architecture: arch}
		if arch == "arm64" {
			p.Variant = "v8"
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	busyboxFix = "the test registry from scripts/services.sh must accept pushes"
	ref, err := name.NewTag(registry+"/"+Repository+":static", name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		return "", fmt.Errorf("pushing %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

// epoch is the fixed mtime and created time: same inputs, same digest.
var epoch = time.Unix(1700000000, 0).UTC()

func busyboxImage(bin, arch string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	// Each binary lists its own applets (the arm64 one through QEMU), so
	// the links match what `busybox --install -s /bin` would create.
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %v", bin, err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch})
	}
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"root/", 0o700}, {"tmp/", 0o1777}} {
		if err := dir(d.name, d.mode); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len(passwd)), ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, passwd); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	return SingleLayer(layer, arch, epoch, func(c *v1.Config) {
		c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		c.Cmd = []string{"sh"}
	})
}

func downloadBusybox(cache string) error {
	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	foreign, _ := exec.Command("dpkg", "--print-foreign-architectures").Output()
	if !strings.Contains(string(foreign), "arm64") {
		if err := run("dpkg", "--add-architecture", "arm64"); err != nil {
			return err
		}
		if err := run("apt-get", "update", "-q"); err != nil {
			return err
		}
	}
	dl, err := os.MkdirTemp("", "busybox-debs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dl)
	cmd := exec.Command("apt-get", "download", "busybox-static:amd64", "busybox-static:arm64")
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		// A stale package list (arm64 added without an update) is the
		// usual cause; update once and retry.
		if err := run("apt-get", "update", "-q"); err != nil {
			return err
		}
		cmd = exec.Command("apt-get", "download", "busybox-static:amd64", "busybox-static:arm64")
		cmd.Dir = dl
		if out2, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get download busybox-static: %v: %s %s", err, out, out2)
		}
	}
	for _, arch := range Arches {
		debs, _ := filepath.Glob(filepath.Join(dl, "busybox-static_*_"+arch+".deb"))
		if len(debs) != 1 {
			return fmt.Errorf("expected one busybox-static %s .deb in %s, found %d", arch, dl, len(debs))
		}
		x := filepath.Join(dl, arch)
		if err := run("dpkg", "-x", debs[0], x); err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(x, "bin", "busybox"))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(cache, arch), 0o755); err != nil {
			return err
		}
		// Write then rename so a concurrent or interrupted run never sees
		// a truncated binary.
		tmp := filepath.Join(cache, arch, ".busybox.tmp")
		if err := os.WriteFile(tmp, data, 0o755); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(cache, arch, "busybox")); err != nil {
			return err
		}
	}
	return nil
}

// SingleLayer makes a one-layer OCI image for linux/<arch> created at
// created; configure fills in the rest of the config (env, cmd, labels).
func SingleLayer(layer v1.Layer, arch string, created time.Time, configure func(*v1.Config)) (v1.Image, error) {
	p, err := platform.Parse(arch)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Arch, p.Variant
	cf.Created = v1.Time{Time: created}
	configure(&cf.Config)
	return mutate.ConfigFile(img, cf)
}
