package testimages

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func downloadBusybox(cache string) error {
	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
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
			return fmt.Errorf("apt-get download busybox-static: %w: %s %s", err, out, out2)
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
