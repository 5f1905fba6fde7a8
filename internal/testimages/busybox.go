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

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

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
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

func busyboxImage(bin, arch string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	// Each binary lists its own applets (the arm64 one through QEMU), so
	// the links match what `busybox --install -s /bin` would create.
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", bin, err)
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
