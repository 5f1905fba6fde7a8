package slim

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonrootUID is the user the binary runs as and owns, chainguard's "nonroot".
const NonrootUID = 65532

// BinDir is where the binary lands inside the image.
const BinDir = "/usr/local/bin"

// scratchEtcPasswd and friends give a scratch image what a non-root service
// expects: a name for its uid and a writable /tmp.
const (
	scratchEtcPasswd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	scratchEtcGroup  = "root:x:0:\nnonroot:x:65532:\n"
)

type tarEntry struct {
	name string
	mode int64
	uid  int
	data []byte // nil for directories
	dir  bool
}

// binaryLayer builds the one layer slim adds: the binary under BinDir, its
// parent directories, and for a scratch base the files scratch lacks. All
// headers use mtime so the layer digest depends only on the inputs.
func binaryLayer(binPath, binName string, forScratch bool, mtime time.Time, mediaType types.MediaType) (v1.Layer, error) {
	data, err := os.ReadFile(binPath)
	if err != nil {
		return nil, fmt.Errorf("reading binary: %w", err)
	}
	var entries []tarEntry
	if forScratch {
		entries = append(entries,
			tarEntry{name: "etc/", mode: 0o755, dir: true},
			tarEntry{name: "etc/group", mode: 0o644, data: []byte(scratchEtcGroup)},
			tarEntry{name: "etc/passwd", mode: 0o644, data: []byte(scratchEtcPasswd)},
			tarEntry{name: "home/", mode: 0o755, dir: true},
			tarEntry{name: "home/nonroot/", mode: 0o700, uid: NonrootUID, dir: true},
			tarEntry{name: "tmp/", mode: 0o1777, dir: true},
		)
	}
	entries = append(entries,
		tarEntry{name: "usr/", mode: 0o755, dir: true},
		tarEntry{name: "usr/local/", mode: 0o755, dir: true},
		tarEntry{name: "usr/local/bin/", mode: 0o755, dir: true},
		tarEntry{name: path.Join("usr/local/bin", binName), mode: 0o755, uid: NonrootUID, data: data},
	)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.uid,
			ModTime: mtime,
		}
		if e.uid == NonrootUID {
			hdr.Uname, hdr.Gname = "nonroot", "nonroot"
		} else {
			hdr.Uname, hdr.Gname = "root", "root"
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if !e.dir {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(mediaType))
	if err != nil {
		return nil, err
	}
	return descriptorless{l}, nil
}

// descriptorless hides tarball's Descriptor method, whose empty (non-nil)
// annotations map makes the in-memory manifest differ from its own JSON
// round trip; the manifest bytes are the same either way.
type descriptorless struct{ v1.Layer }
