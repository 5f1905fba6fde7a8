package sbom

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileNames are the conventional names of the two documents beside a
// binary in dist/<os>_<arch>/ or an OCI layout.
func FileNames(binary string) (cycloneDX, spdx string) {
	return binary + ".cdx.json", binary + ".spdx.json"
}

// WriteFile writes a document through a temporary file in the same
// directory and a rename, so a failure leaves no half-written file.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sbom: creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("sbom: writing %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sbom: writing %s: %w", path, werr)
	}
	return nil
}
