package slim

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
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
	// file, when set, is the content (size bytes), streamed from disk.
	file *os.File
	size int64
}

// binaryLayer builds the one layer slim adds: the binary under BinDir, its
// parent directories, and for a scratch base the files scratch lacks. All
// headers use mtime so the layer digest depends only on the inputs.
func binaryLayer(binPath, binName string, forScratch bool, mtime time.Time, mediaType types.MediaType) (v1.Layer, error) {
	f, err := os.Open(binPath)
	if err != nil {
		return nil, fmt.Errorf("reading binary: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
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
		tarEntry{name: path.Join("usr/local/bin", binName), mode: 0o755, uid: NonrootUID, file: f, size: st.Size()},
	)

	// One pass: the binary streams from disk through the tar writer into
	// the diffID hash and the compressor together. Compressing here, once,
	// matters: handed uncompressed bytes, go-containerregistry would gzip
	// them again for the digest and for every write. klauspost's gzip is
	// several times faster than compress/gzip at the same level and,
	// single-threaded, as deterministic. The buffer is sized for deflate's
	// worst case (stored blocks: 5 bytes per 64 KiB) up front: a binary
	// compresses to about 60%, and growing a buffer of megabytes on the way
	// costs more CPU than the compression's own allocations.
	var gz bytes.Buffer
	gz.Grow(int(st.Size()+st.Size()/8192) + 64<<10)
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	diffID := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(diffID, zw))
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
		switch {
		case e.dir:
			hdr.Typeflag = tar.TypeDir
		case e.file != nil:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		switch {
		case e.file != nil:
			// A binary that changes size while it is read fails here
			// (short or long write) instead of giving a corrupt layer.
			if n, err := io.Copy(tw, e.file); err != nil {
				return nil, fmt.Errorf("reading binary %s: %w", binPath, err)
			} else if n != e.size {
				return nil, fmt.Errorf("reading binary %s: it changed while being read (%d of %d bytes)", binPath, n, e.size)
			}
		case !e.dir:
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	digest := sha256.Sum256(gz.Bytes())
	return &memLayer{
		compressed: gz.Bytes(),
		digest:     v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digest[:])},
		diffID:     v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffID.Sum(nil))},
		mediaType:  mediaType,
	}, nil
}

// memLayer is a compressed layer held in memory with digests computed
// while it was written, so nothing re-reads or re-compresses it.
type memLayer struct {
	compressed     []byte
	digest, diffID v1.Hash
	mediaType      types.MediaType
}

func (l *memLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)                { return int64(len(l.compressed)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.compressed))
}
