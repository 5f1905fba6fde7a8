package standin

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

type pkgVersion struct{ Name, Version, Arch string }

func (p pkgVersion) debFile() string {
	return p.Name + "_" + strings.ReplaceAll(p.Version, ":", "%3a") + "_" + p.Arch + ".deb"
}

// resolve asks apt for the full closure of pkgs on an empty system of the
// given architecture.
func resolve(ctx context.Context, arch string, foreign, pkgs []string) ([]pkgVersion, error) {
	status, err := os.CreateTemp("", "standin-dpkg-status-")
	if err != nil {
		return nil, err
	}
	status.Close()
	defer os.Remove(status.Name())
	args := []string{"-s", "install", "--no-install-recommends",
		"-o", "Dir::State::status=" + status.Name(),
		"-o", "APT::Architecture=" + arch,
		"-o", "APT::Architectures::=" + arch,
	}
	for _, f := range foreign {
		args = append(args, "-o", "APT::Architectures::="+f)
	}
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("apt cannot resolve the stand-in packages for %s: %w: %s (run scripts/provision.d/standin.sh, which adds the arm64 architecture and updates apt's lists)",
			arch, err, lastLines(out, 3))
	}
	var list []pkgVersion
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []
		line := sc.Text()
		if !strings.HasPrefix(line, "Inst ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[2], "(") {
			return nil, fmt.Errorf("unexpected apt-get output line %q", line)
		}
		a := ""
		for _, x := range f[3:] {
			if strings.HasPrefix(x, "[") && strings.HasSuffix(strings.TrimSuffix(x, ")"), "]") {
				a = strings.Trim(strings.TrimSuffix(x, ")"), "[]")
				break
			}
		}
		if a == "" {
			return nil, fmt.Errorf("no architecture in apt-get output line %q", line)
		}
		// A foreign-architecture package is printed as "libc6:arm64".
		n, _, _ := strings.Cut(f[1], ":")
		list = append(list, pkgVersion{Name: n, Version: strings.TrimPrefix(f[2], "("), Arch: a})
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("apt resolved no packages for %s: %s", arch, lastLines(out, 3))
	}
	// By name, then architecture: a multiarch closure has libc6 twice, and
	// the order feeds the image tag.
	sort.Slice(list, func(i, j int) bool {
		if list[i].Name != list[j].Name {
			return list[i].Name < list[j].Name
		}
		return list[i].Arch < list[j].Arch
	})
	return list, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func download(ctx context.Context, dir string, pkgs []pkgVersion) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var missing []string
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, p.debFile())); err != nil {
			missing = append(missing, p.Name+":"+p.Arch+"="+p.Version)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	args := append([]string{"download", "-q", "-o", "APT::Sandbox::User=root"}, missing...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get download of %d stand-in packages failed: %w: %s", len(missing), err, lastLines(out, 3))
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, p.debFile())); err != nil {
			return fmt.Errorf("apt-get download did not produce %s", p.debFile())
		}
	}
	return nil
}

// skipped trees: documentation and translations are a third of the bytes
// and no build reads them.
var skipped = []string{"usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/"}

// usrMerged maps the top-level directories bookworm still ships outside /usr
// onto /usr, as debootstrap's merged-/usr layout does.
var usrMerged = map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}

func mergeUsr(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	first, rest, _ := strings.Cut(p, "/")
	if to, ok := usrMerged[first]; ok {
		if rest == "" {
			return to
		}
		return to + "/" + rest
	}
	return p
}

func addDeb(ctx context.Context, deb string, tw *tar.Writer, seen map[string]bool) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(out)
	var copyErr error
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			copyErr = err
			break
		}
		n := mergeUsr(hdr.Name)
		if n == "" || n == "." || skip(n) {
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			if seen[n] {
				continue
			}
			hdr.Name = n + "/"
		} else {
			if seen[n] {
				continue // a file shipped twice (dpkg would divert): first wins
			}
			hdr.Name = n
		}
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = mergeUsr(hdr.Linkname)
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Uid, hdr.Gid = 0, 0
		seen[n] = true
		if err := tw.WriteHeader(hdr); err != nil {
			copyErr = err
			break
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				copyErr = err
				break
			}
		}
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return copyErr
}

func skip(n string) bool {
	for _, s := range skipped {
		if strings.HasPrefix(n+"/", s) {
			return true
		}
	}
	return false
}
