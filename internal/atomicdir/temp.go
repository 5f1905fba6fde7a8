package atomicdir

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// tempTag is in the name of every sibling the kit creates
// (".<name>.muslrust-chef-new-<pid>-<n>", ".<name>.muslrust-chef-old-<pid>-<n>"),
// so a later run can recognise and remove what a killed run left behind;
// the pid keeps it from removing the temporary directory of a run still
// going.
const tempTag = ".muslrust-chef-"

func tempPrefix(dst, kind string) string {
	return "." + filepath.Base(dst) + tempTag + kind + "-" + strconv.Itoa(os.Getpid()) + "-"
}

var tempName = regexp.MustCompile(regexp.QuoteMeta(tempTag) + `(new|old)-([0-9]+)-[0-9]+$`)

// IsTemp reports whether a file name is one of the temporary siblings the
// kit writes outputs through, so tests can check that none is left.
func IsTemp(name string) bool { return tempName.MatchString(name) }

// live holds the temporary paths this process is using, each with the
// flock(2) it holds on the directory for as long as it exists. The lock is
// what tells a run still writing from a killed one's leftover, in this
// process or another, in any PID namespace (two CI containers on one
// checkout), and it dies with its process. Where the file system has no
// flock, the pid in the name and this map tell them apart instead.
var live = struct {
	sync.Mutex
	paths map[string]*os.File
}{paths: map[string]*os.File{}}

func mkTemp(parent, prefix string) (string, error) {
	live.Lock()
	defer live.Unlock()
	// Made under a name no sweep matches, locked, then renamed to its real
	// name: another run sweeping the same parent never finds it unlocked
	// and takes it for a dead run's leftover.
	unnamed, err := os.MkdirTemp(parent, prefix+"*~")
	if err != nil {
		return "", err
	}
	f, lerr := lockDir(unnamed)
	if lerr != nil {
		f = nil // no flock here: the pid and this map still protect it
	}
	p := strings.TrimSuffix(unnamed, "~")
	if err := os.Rename(unnamed, p); err != nil {
		if f != nil {
			f.Close()
		}
		os.Remove(unnamed)
		return "", err
	}
	live.paths[p] = f
	return p, nil
}

func removeTemp(p string) error {
	err := os.RemoveAll(p)
	forgetTemp(p)
	return err
}

func forgetTemp(p string) {
	live.Lock()
	if f := live.paths[p]; f != nil {
		f.Close()
	}
	delete(live.paths, p)
	live.Unlock()
}

func isLive(p string) bool {
	live.Lock()
	defer live.Unlock()
	_, ok := live.paths[p]
	return ok
}
