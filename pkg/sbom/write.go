package sbom

import (
	"errors"
	"fmt"
	"io"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

// FileNames are the conventional names of the two documents beside a
// binary in dist/<os>_<arch>/ or an OCI layout.
func FileNames(binary string) (cycloneDX, spdx string) {
	return binary + ".cdx.json", binary + ".spdx.json"
}

// WriteFile writes a document all or nothing (internal/atomicdir): a
// failure or a kill leaves the previous file whole and no half-written one.
func WriteFile(path string, data []byte) error {
	err := atomicdir.WriteFile(path, 0o644, atomicdir.FileOptions{Fix: errors.New("choose another path for the SBOM")}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("sbom: writing %s: %w", path, err)
	}
	return nil
}
