package provenance

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func checkDigest(what, d string) error {
	if !sha256Digest.MatchString(d) {
		return fmt.Errorf("provenance: %s digest %q is not sha256:<64 lowercase hex>: pass the digest the registry or sha256 gave", what, d)
	}
	return nil
}

func (r *Record) check() error {
	if r.Subject.Name == "" {
		return errors.New("provenance: the subject has no image name: pass the image's repository")
	}
	if err := checkDigest("subject", r.Subject.Digest); err != nil {
		return err
	}
	if _, err := platform.Parse(r.Subject.Platform.String()); err != nil {
		return fmt.Errorf("provenance: subject platform: %w", err)
	}
	if r.Binary != nil {
		if r.Binary.Name == "" {
			return errors.New("provenance: the binary has no name: pass its file name")
		}
		if err := checkDigest("binary", r.Binary.Digest); err != nil {
			return err
		}
	}
	if err := r.Cargo.Flags.Validate(); err != nil {
		return fmt.Errorf("provenance: cargo invocation: %w", err)
	}
	b := r.Builder
	switch {
	case b.Image != nil && (b.DockerfileDigest != "" || b.Base != nil):
		return errors.New("provenance: both a builder image and the embedded builder were given: pass one")
	case b.Image == nil && b.Base == nil:
		return errors.New("provenance: no builder: pass WithBuilderImage or WithEmbeddedBuilder")
	case b.Image != nil:
		if err := checkImage("builder image", b.Image); err != nil {
			return err
		}
	default:
		if err := checkDigest("builder Dockerfile", b.DockerfileDigest); err != nil {
			return err
		}
		if err := checkImage("builder base image", b.Base); err != nil {
			return err
		}
	}
	if r.RuntimeBase != nil && r.RuntimeBase.Ref != "scratch" {
		if err := checkImage("runtime base image", r.RuntimeBase); err != nil {
			return err
		}
	}
	if r.Source != nil && r.Source.URI == "" {
		return errors.New("provenance: the source has no repository URI: pass it with the revision")
	}
	if r.RecipeDigest != "" {
		if err := checkDigest("recipe", r.RecipeDigest); err != nil {
			return err
		}
	}
	if r.SourceDateEpoch < 0 {
		return fmt.Errorf("provenance: SOURCE_DATE_EPOCH %d is negative: pass seconds since 1970", r.SourceDateEpoch)
	}
	if r.BuilderID == "" || r.KitVersion == "" {
		return errors.New("provenance: the builder id and kit version must not be empty")
	}
	return nil
}

func checkImage(what string, im *Image) error {
	if im.Ref == "" {
		return fmt.Errorf("provenance: the %s has no reference: pass the reference as configured", what)
	}
	return checkDigest(what, im.Digest)
}
