package buildkit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bkclient "github.com/moby/buildkit/client"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// exports fills opt's cache imports and exports and its exporters.
func (b *builder) exports(req Request, opt *bkclient.SolveOpt) {
	for _, ref := range req.CacheFrom {
		if ref == "" {
			continue
		}
		a := map[string]string{"ref": ref}
		if req.Insecure {
			a["registry.insecure"] = "true"
		}
		opt.CacheImports = append(opt.CacheImports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: a})
	}
	if req.CacheTo != "" {
		a := cacheExportAttrs(req)
		a["ref"] = req.CacheTo
		if req.Insecure {
			a["registry.insecure"] = "true"
		}
		opt.CacheExports = append(opt.CacheExports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: a})
	}

	for _, dir := range append([]string{req.CacheDir}, req.CacheDirsFrom...) {
		if _, err := os.Stat(filepath.Join(dir, "index.json")); dir != "" && err == nil {
			opt.CacheImports = append(opt.CacheImports, bkclient.CacheOptionsEntry{Type: "local", Attrs: map[string]string{"src": dir}})
		}
	}
	if req.CacheDir != "" {
		// dest is set by Solve to a temporary sibling of CacheDir.
		opt.CacheExports = append(opt.CacheExports, bkclient.CacheOptionsEntry{Type: "local", Attrs: cacheExportAttrs(req)})
	}

	if req.Image != nil {
		a := map[string]string{}
		for k, v := range req.Image.Attrs {
			a[k] = v
		}
		if len(req.Image.Names) > 0 {
			a[string(exptypes.OptKeyName)] = strings.Join(req.Image.Names, ",")
		}
		if req.Image.Push || req.Image.PushByDigest {
			a[string(exptypes.OptKeyPush)] = "true"
		}
		if req.Image.PushByDigest {
			a[string(exptypes.OptKeyPushByDigest)] = "true"
			a[string(exptypes.OptKeyNameCanonical)] = "true"
		}
		if req.Insecure {
			a[string(exptypes.OptKeyInsecure)] = "true"
		}
		typ := bkclient.ExporterImage
		if !b.endpoint.Caps.ImageExporter {
			// dockerd without the containerd store calls its image
			// exporter "moby" (it stores into the daemon); buildx makes
			// the same substitution for its docker driver.
			typ = "moby"
		}
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: typ, Attrs: a})
	}
	if req.Local != nil {
		a := map[string]string{}
		if req.Local.SplitPlatforms {
			a["platform-split"] = "true"
		}
		// OutputDir is filled in by Solve with a temporary directory.
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: bkclient.ExporterLocal, Attrs: a})
	}
	if req.Archive != nil {
		w := req.Archive.Writer
		a := map[string]string{}
		if len(req.Archive.Names) > 0 {
			a[string(exptypes.OptKeyName)] = strings.Join(req.Archive.Names, ",")
		}
		typ := bkclient.ExporterDocker
		if req.Archive.Format == "oci" {
			typ = bkclient.ExporterOCI
		}
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: typ, Attrs: a,
			Output: func(map[string]string) (io.WriteCloser, error) { return w, nil }})
	}
	if req.OCILayout != nil {
		a := map[string]string{"tar": "false"}
		if len(req.OCILayout.Names) > 0 {
			a[string(exptypes.OptKeyName)] = strings.Join(req.OCILayout.Names, ",")
		}
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: bkclient.ExporterOCI, Attrs: a, OutputDir: req.OCILayout.Dir})
	}
}

// cacheExportAttrs are the attributes every cache export of req shares:
// its extra attributes, then the mode (max unless told).
func cacheExportAttrs(req Request) map[string]string {
	a := map[string]string{}
	for k, v := range req.CacheAttrs {
		a[k] = v
	}
	a["mode"] = req.CacheMode
	if a["mode"] == "" {
		a["mode"] = "max"
	}
	return a
}

// CacheDirFix ends the refusal of a local cache directory the kit did not
// write.
var CacheDirFix = option.Errorf("give %s=local: a new or empty directory", option.Env(option.Cache))

var errNewOutputDir = errors.New("choose a new or empty output directory")

// beginLocal starts replacing the local output directory: the exporter
// writes into a sibling temporary directory, which replaces Dir in one swap
// after the solve (internal/atomicdir), so a cancelled, failed or killed
// build never leaves half-written files. Entries the build did not write
// stay: two split builds (one platform each) fill dist/linux_amd64 and
// dist/linux_arm64 one after the other. A non-empty Dir the kit did not
// write is refused before the solve starts.
func beginLocal(out *LocalOutput) (*atomicdir.Dir, error) {
	fix := out.Fix
	if fix == nil {
		fix = errNewOutputDir
	}
	d, err := atomicdir.Begin(out.Dir, atomicdir.Options{Writer: "BuildKit's local export of the build's files", Fix: fix, Merge: true})
	if err != nil {
		return nil, fmt.Errorf("local output: %w", err)
	}
	return d, nil
}
