package rust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/fail"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

// Sbom prints, per platform of a published image, the crates linked into its binary, from the SBOM attached to the image.
//
// The SBOM is read from the OCI referrers of each platform manifest (the
// referrers API, or the sha256-<digest> fallback tag on registries without
// it): the CycloneDX document, else the SPDX one. One table per platform:
// crate, version, licence, source, checksum; build tools (build scripts'
// and proc-macros' crates) last. Registry credentials come from the Docker
// config file (docker login) and its credential helpers.
func (Rust) Sbom(ctx context.Context,
	image *string, // MUSLRUST_CHEF_IMAGE: the image to read, repo[:tag] or repo@sha256:...
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	return fail.Fatal(ctx, "rust:sbom", sbomOf(ctx, config.Image.Value(image), os.Stdout))
}

func sbomOf(ctx context.Context, ref string, w io.Writer) error {
	if ref == "" {
		return option.Usagef("no image given: pass %s=<repo[:tag]> or set %s", option.Flag(option.Image), option.Env(option.Image))
	}
	if _, err := name.ParseReference(ref); err != nil {
		return option.Usagef("%q is not an image reference: give repo[:tag] or repo@sha256:...", ref)
	}
	regOpts, err := config.RegistryOptions()
	if err != nil {
		return err
	}
	return printSBOMs(ctx, ref, regOpts, w)
}

// sbomTypes are the SBOM artifact types looked for, preferred first.
var sbomTypes = []string{sbom.MediaTypeCycloneDX, sbom.MediaTypeSPDX}

// printSBOMs writes one table per platform of ref that has an SBOM, then
// fails naming the platforms that have none.
func printSBOMs(ctx context.Context, ref string, regOpts []publish.RegistryOption, w io.Writer) error {
	recs, err := publish.ReadRecords(ctx, ref, sbomTypes, regOpts...)
	if err != nil {
		return err
	}
	var missing []string
	for i, rec := range recs {
		plat := rec.Platform.String()
		if rec.ArtifactType == "" {
			missing = append(missing, plat)
			continue
		}
		read, format := sbom.ReadCycloneDX, "CycloneDX"
		if rec.ArtifactType == sbom.MediaTypeSPDX {
			read, format = sbom.ReadSPDX, "SPDX"
		}
		s, err := read(rec.Data)
		if err != nil {
			return fmt.Errorf("the %s SBOM attached to %s (%s) as %s cannot be read: %w", format, ref, plat, rec.Referrer, err)
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s %s: %s SBOM %s\n", plat, rec.Digest.DigestStr(), format, rec.Referrer)
		if rec.Others > 0 {
			fmt.Fprintf(w, "(%d more %s SBOMs are attached to this manifest; this is the one with the lowest digest)\n", rec.Others, format)
		}
		if err := s.WriteTable(w); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		return errors.New("no SBOM is attached to " + ref + " (" + strings.Join(missing, ", ") + "): build it with a kit version that records SBOMs (rust:build), or attach a CycloneDX (" + sbom.MediaTypeCycloneDX + ") or SPDX (" + sbom.MediaTypeSPDX + ") document as an OCI referrer of each platform manifest")
	}
	return nil
}
