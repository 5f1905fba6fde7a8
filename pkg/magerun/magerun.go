// Package magerun is a zero-install, concurrency-safe entry point for Mage:
// a repository's mage.go calls Main, and `go run mage.go <target>` works
// without mage installed, also several at once in one checkout.
//
// Plain mage writes mage_output_file.go into the magefiles directory on
// every run, compiles it and deletes it, so two runs at once in one checkout
// fail with "open ./mage_output_file.go: no such file or directory". Main
// compiles the magefiles once per content into a cache (under a lock held
// per magefiles directory, so only one run generates at a time) and then
// replaces itself with the compiled binary, which receives SIGINT and
// SIGTERM sent to the process group directly. The cache key covers the magefiles, every non-module-
// cache package they import (this repository's own pkg/, embedded files
// included), module versions, the Go version and the build environment.
package magerun

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/magefile/mage/mage"
	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

// Main runs mage with os.Args and returns the exit code.
func Main() int {
	args := os.Args[1:]
	if !runsTarget(args) {
		// -l, -h, -init, -clean, -compile, -version...: mage itself, under
		// the lock, since some of them generate files.
		return withLock(magefilesDir(), func() int { return mage.Main() })
	}
	bin, code := Compile(magefilesDir(), os.Stderr)
	if code != 0 {
		return code
	}
	return run(bin, args)
}

// Locked runs f holding the lock of the magefiles directory dir, for
// anything else that reads or writes that directory through mage's library.
// Its one caller is a test in another package, internal/magehelp's golden
// test: it calls mage.Invoke on magefiles/, which compiles there, and must
// not race a concurrent `go run mage.go`; hence exported.
func Locked(dir string, f func() int) int { return withLock(dir, f) }

// runsTarget reports whether args are only what the compiled binary
// understands: -v, -t <duration> and targets with their arguments.
func runsTarget(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return true
		}
		switch {
		case a == "-v":
		case a == "-t":
			i++
		case strings.HasPrefix(a, "-t="):
		default:
			return false
		}
	}
	return false
}

// magefilesDir is where mage looks: magefiles/ when it exists, else ".".
func magefilesDir() string {
	if st, err := os.Stat(mage.MagefilesDirName); err == nil && st.IsDir() {
		return mage.MagefilesDirName
	}
	return "."
}

// Compile returns the compiled binary for the magefiles in dir, building it
// first when its content key is not in the cache. Build output goes to
// stderr; code is non-zero on failure.
func Compile(dir string, stderr io.Writer) (string, int) {
	cache := filepath.Join(mg.CacheDir(), "magerun")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		fmt.Fprintf(stderr, "magerun: cannot create the cache %s: %v; set MAGEFILE_CACHE to a writable directory\n", cache, err)
		return "", 1
	}
	key, err := contentKey(dir)
	if err != nil {
		// Not listable as one package (magefiles beside other Go files in
		// the module root): compile a binary of this run's own, still
		// under the lock.
		key = fmt.Sprintf("run-%d", os.Getpid())
		defer scheduleRemove(filepath.Join(cache, key))
	}
	bin := filepath.Join(cache, key)
	if _, err := os.Stat(bin); err == nil {
		return bin, 0
	}
	code := withLock(dir, func() int {
		if _, err := os.Stat(bin); err == nil {
			return 0 // another run compiled it while we waited
		}
		// Compiled beside it and renamed in (internal/atomicdir): a run
		// killed mid-compile leaves no half binary, and its leftover is
		// removed by the next compile.
		out, err := atomicdir.BeginFile(bin, atomicdir.FileOptions{Fix: errors.New("remove " + cache)})
		if err != nil {
			fmt.Fprintf(stderr, "magerun: %v\n", err)
			return 1
		}
		defer out.Abort()
		code := mage.ParseAndRun(os.Stdout, stderr, os.Stdin, []string{"-d", dir, "-compile", out.Path()})
		if code != 0 {
			return code
		}
		if err := out.Commit(); err != nil {
			fmt.Fprintf(stderr, "magerun: %v\n", err)
			return 1
		}
		return 0
	})
	return bin, code
}

// contentKey hashes what the compiled binary is made of. Packages in the
// module cache are immutable per version, so their path@version stands for
// them; every other package (the main module, replace directories) is
// hashed file by file.
func contentKey(dir string) (string, error) {
	format := `{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{with .Module}}{{.Path}}@{{.Version}}{{end}}|{{join .GoFiles ","}},{{join .CgoFiles ","}},{{join .EmbedFiles ","}}{{end}}`
	cmd := exec.Command(goCmd(), "list", "-deps", "-tags", "mage", "-f", format, ".")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list of the magefiles in %s failed: %s", dir, strings.TrimSpace(stderr.String()))
	}
	h := sha256.New()
	fmt.Fprintln(h, "magerun-1", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, env := range []string{"GOFLAGS", "GOOS", "GOARCH", "CGO_ENABLED", "GOEXPERIMENT", "GOTOOLCHAIN"} {
		fmt.Fprintf(h, "%s=%s\n", env, os.Getenv(env))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(lines)
	for _, line := range lines {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "|", 4)
		if len(f) != 4 {
			return "", fmt.Errorf("unexpected go list line %q", line)
		}
		pkgDir, mod, files := f[1], f[2], f[3]
		fmt.Fprintln(h, f[0], mod)
		if !strings.HasSuffix(mod, "@") && mod != "" {
			continue // a module cache version
		}
		for _, name := range strings.Split(files, ",") {
			if name == "" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(pkgDir, name))
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %x\n", name, sha256.Sum256(data))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

func goCmd() string {
	if g := mg.GoCmd(); g != "" {
		return g
	}
	return "go"
}

// lockPath is the lock of one magefiles directory, kept in the cache so
// nothing is written into the repository.
func lockPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(mg.CacheDir(), "magerun", "lock-"+hex.EncodeToString(sum[:8]))
}

// scheduleRemove is for run-<pid> binaries: they are removed by the next
// Compile, once their process has exited.
func scheduleRemove(string) {
	old, _ := filepath.Glob(filepath.Join(mg.CacheDir(), "magerun", "run-*"))
	for _, p := range old {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(p), "run-%d", &pid); err == nil && !alive(pid) {
			os.Remove(p)
		}
	}
}
