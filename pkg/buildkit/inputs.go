package buildkit

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/tonistiigi/fsutil"
)

// frontendInputs gives the Dockerfile frontend its attributes (file name,
// platforms, target, build arguments, named contexts) and the directories
// the client sends (the context, the Dockerfile's directory, named
// contexts). cleanup removes a Dockerfile written for DockerfileContent.
func (b *builder) frontendInputs(req Request) (attrs map[string]string, mounts map[string]fsutil.FS, cleanup func(), err error) {
	cleanup = func() {}
	ctxDir, err := existingDir(req.ContextDir, "build context")
	if err != nil {
		return nil, nil, cleanup, err
	}

	dfDir, dfName := "", ""
	if req.DockerfileContent != nil {
		tmp, err := os.MkdirTemp("", "muslrust-chef-dockerfile-")
		if err != nil {
			return nil, nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if err := os.WriteFile(filepath.Join(tmp, "Dockerfile"), req.DockerfileContent, 0o644); err != nil {
			return nil, nil, cleanup, err
		}
		dfDir, dfName = tmp, "Dockerfile"
	} else {
		df := req.Dockerfile
		if df == "" {
			df = filepath.Join(ctxDir, "Dockerfile")
		}
		abs, err := filepath.Abs(df)
		if err != nil {
			return nil, nil, cleanup, err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return nil, nil, cleanup, fmt.Errorf("Dockerfile %s not found: give the path of a Dockerfile", df)
		}
		dfDir, dfName = filepath.Dir(abs), filepath.Base(abs)
	}

	mounts = map[string]fsutil.FS{}
	addMount := func(name, dir string, includes, excludes []string) error {
		fs, err := contextFS(dir, includes, excludes)
		if err != nil {
			return fmt.Errorf("cannot use %s as build context %q: %w", dir, name, err)
		}
		mounts[name] = fs
		return nil
	}
	if err := addMount("context", ctxDir, req.ContextIncludes, req.ContextExcludes); err != nil {
		return nil, nil, cleanup, err
	}
	if err := addMount("dockerfile", dfDir, nil, nil); err != nil {
		return nil, nil, cleanup, err
	}

	attrs = map[string]string{"filename": dfName}
	if len(req.Platforms) > 0 {
		norm := make([]string, 0, len(req.Platforms))
		for _, p := range req.Platforms {
			spec, err := platforms.Parse(p)
			if err != nil {
				return nil, nil, cleanup, fmt.Errorf("invalid platform %q: write it as os/arch[/variant], for example linux/arm64", p)
			}
			norm = append(norm, platforms.Format(platforms.Normalize(spec)))
		}
		attrs["platform"] = strings.Join(norm, ",")
	}
	if req.Target != "" {
		attrs["target"] = req.Target
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	if v := b.cfg.sourceDateEpoch; v != "" {
		if _, set := req.BuildArgs[SourceDateEpochEnv]; !set {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, nil, cleanup, fmt.Errorf("%s=%q is not a Unix time in seconds: set it to an integer such as $(git log -1 --format=%%ct), or unset it", SourceDateEpochEnv, v)
			}
			attrs["build-arg:"+SourceDateEpochEnv] = v
		}
	}
	names := make([]string, 0, len(req.NamedContexts))
	for n := range req.NamedContexts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		src := req.NamedContexts[name]
		if strings.Contains(src, "://") {
			attrs["context:"+name] = src
			continue
		}
		dir, err := existingDir(src, "named context "+strconv.Quote(name))
		if err != nil {
			return nil, nil, cleanup, err
		}
		// The local's name only has to be unique and stable; reusing the
		// context name keeps BuildKit's progress output readable.
		local := "named-" + name
		attrs["context:"+name] = "local:" + local
		if err := addMount(local, dir, nil, nil); err != nil {
			return nil, nil, cleanup, err
		}
	}
	return attrs, mounts, cleanup, nil
}

func existingDir(dir, what string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no %s directory given: set it to a directory", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s %s is not a directory: create it or fix the path", what, dir)
	}
	return abs, nil
}
