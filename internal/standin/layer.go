package standin

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// rootfsExtras is what an image needs besides its packages' data trees:
// files and links that maintainer scripts or an admin would have made.
type rootfsExtras struct {
	dirs     []string
	files    map[string]string
	symlinks map[string]string
}

// writeLayer streams every package's data tree into one gzip tar.
func writeLayer(ctx context.Context, file, debDir string, pkgs []pkgVersion, extra rootfsExtras) error {
	return writeGzipTar(file, func(tw *tar.Writer) error { return fillLayer(ctx, tw, debDir, pkgs, extra) })
}

// writeGzipTar writes file as a gzip'ed tar that fill writes, through a
// temporary sibling renamed into place only when complete.
func writeGzipTar(file string, fill func(*tar.Writer) error) error {
	tmp := file + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	if err := fill(tw); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func fillLayer(ctx context.Context, tw *tar.Writer, debDir string, pkgs []pkgVersion, extra rootfsExtras) error {
	seen := map[string]bool{}
	epoch := time.Unix(0, 0)
	add := func(hdr *tar.Header, body io.Reader) error {
		seen[strings.TrimSuffix(hdr.Name, "/")] = true
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				return err
			}
		}
		return nil
	}
	dir := func(name string, mode int64) error {
		return add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch}, nil)
	}
	for _, d := range append([]string{"usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "root", "var", "var/tmp"}, extra.dirs...) {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	for from, to := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"} {
		if err := add(&tar.Header{Typeflag: tar.TypeSymlink, Name: from, Linkname: to, Mode: 0o777, ModTime: epoch}, nil); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":  "root:x:0:\n",
	}
	for n, c := range extra.files {
		files[n] = c
	}
	// The extras first, then passwd and group: the order the builder's
	// layer always had, so its bytes (and digest) stay the same.
	for _, n := range append(sortedKeys(extra.files), "etc/passwd", "etc/group") {
		c := files[n]
		if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(c)), ModTime: epoch}, strings.NewReader(c)); err != nil {
			return err
		}
	}
	for _, n := range sortedKeys(extra.symlinks) {
		if err := add(&tar.Header{Typeflag: tar.TypeSymlink, Name: n, Linkname: extra.symlinks[n], Mode: 0o777, ModTime: epoch}, nil); err != nil {
			return err
		}
	}

	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := addDeb(ctx, filepath.Join(debDir, p.debFile()), tw, seen); err != nil {
			return fmt.Errorf("%s: %w", p.debFile(), err)
		}
	}
	return nil
}
