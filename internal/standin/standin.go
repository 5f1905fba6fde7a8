// Package standin builds the tests' stand-in for the muslrust-chef builder
// image: Debian bookworm's rustc, cargo, gcc and libc6-dev plus the
// librust-*-dev crates the testdata needs, with crates-io replaced by Debian's
// directory source, for linux/amd64 and linux/arm64, pushed to the local test
// registry as one index.
//
// Nothing is emulated: apt resolves each architecture's package closure
// against an empty dpkg status, `apt-get download` fetches the .debs (kept in
// a cache directory between runs) and their data trees are streamed straight
// into one gzip layer per architecture with go-containerregistry. The tag is
// a hash of the resolved package list and of this package's recipe version,
// so a second run finds the image in the registry and builds nothing.
//
// Debian has no musl Rust standard library, so the stand-in declares, through
// the labels the kit reads, libc "gnu" and RUSTFLAGS "-C
// target-feature=+crt-static": its binaries are static glibc executables.
package standin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Result says what Ensure produced.
type Result struct {
	Ref   string // registry/repo:tag of the index
	Built bool   // false when the registry already had it
	Took  time.Duration
}

// contentTag is a stand-in's registry tag, a hash of everything that goes
// into the image (h), and its reference in repo on registry: a second run
// finds the image there and builds nothing.
func contentTag(registry, repo string, h hash.Hash) (string, name.Tag, error) {
	tag := hex.EncodeToString(h.Sum(nil))[:20]
	ref, err := name.NewTag(registry+"/"+repo+":"+tag, name.Insecure)
	return tag, ref, err
}

// findOrLock returns the image find finds in the registry (an Ensure
// started at start); when it finds nothing, it takes the lock file lockName
// in cacheDir and looks again (the image may have been built by another
// process while this one waited). A non-nil unlock means: not there, build
// it, then unlock.
func findOrLock(start time.Time, cacheDir, lockName string, find func() (string, bool)) (found Result, unlock func(), err error) {
	if ref, ok := find(); ok {
		return Result{Ref: ref, Took: time.Since(start)}, nil, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return Result{}, nil, err
	}
	unlock, err = lock(filepath.Join(cacheDir, lockName))
	if err != nil {
		return Result{}, nil, err
	}
	if ref, ok := find(); ok {
		unlock()
		return Result{Ref: ref, Took: time.Since(start)}, nil, nil
	}
	return Result{}, unlock, nil
}

// orDiscard is the log writer w, or one that discards when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func exists(ctx context.Context, ref name.Reference) bool {
	_, err := remote.Head(ref, remote.WithContext(ctx))
	return err == nil
}

// lock takes an exclusive flock so that parallel test processes build the
// image once.
func lock(file string) (func(), error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func fileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
