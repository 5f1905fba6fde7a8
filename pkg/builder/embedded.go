package builder

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// NativeStageName is the embedded builder built for BuildKit's build
// platform, which the cross stages run on. It is a second copy of the
// builder's one stage, FROM --platform=$BUILDPLATFORM: BuildKit gives a stage
// that starts FROM another stage that stage's platform, so the cross stages
// cannot reuse the target-platform copy.
const NativeStageName = muslrustchef.StageName + "-native"

// embeddedPlatforms are the platforms the embedded builder can be built
// for, as platform.Parse gives them (arm64 with its v8 variant): the
// builder's per-platform maps are looked up with the configured platforms.
var embeddedPlatforms = func() []platform.Platform {
	ps := make([]platform.Platform, 0, 2)
	for _, s := range []string{"linux/amd64", "linux/arm64"} {
		p, err := platform.Parse(s)
		if err != nil {
			panic(err)
		}
		ps = append(ps, p)
	}
	return ps
}()

// BuildArgs parses the builder arguments (KEY=VALUE,...) and the
// base image into the embedded builder's build arguments. cargo-chef serves
// hand-written Dockerfiles in the seed's style, not the kit's own cook and
// build, so its download is skipped unless a CARGO_CHEF_VERSION is given.
func BuildArgs(list, muslrustImage string) (map[string]string, error) {
	args, err := ParseBuilderArgs(list)
	if err != nil {
		return nil, err
	}
	if _, set := args["CARGO_CHEF_VERSION"]; !set {
		args["CARGO_CHEF_VERSION"] = ""
	}
	if muslrustImage != "" {
		if _, err := name.ParseReference(muslrustImage); err != nil {
			return nil, option.Usagef("%s=%q is not an image reference: use clux/muslrust:<version>-stable-<date>[@sha256:...]", option.Env(option.MuslrustImage), muslrustImage)
		}
		args["MUSLRUST_IMAGE"] = muslrustImage
	}
	return args, nil
}

// Embedded is the kit's own builder, declared by the labels of the
// embedded Dockerfile: the same declaration for every platform it runs on.
func Embedded(args map[string]string) (*Builder, error) {
	labels, err := muslrustchef.Labels(args)
	if err != nil {
		return nil, err
	}
	base := args["MUSLRUST_IMAGE"]
	if base == "" {
		base = DefaultMuslrustImage()
	}
	b := &Builder{
		Ref:      fmt.Sprintf("the kit's builder (images/muslrust-chef/Dockerfile on %s)", base),
		Embedded: true,
		Libc:     map[platform.Platform]string{}, RustFlags: map[platform.Platform]string{}, Cross: map[platform.Platform]CrossDecl{},
		ZigCache:  map[platform.Platform]string{},
		Platforms: map[platform.Platform]bool{},
	}
	envs, err := muslrustchef.Env(args)
	if err != nil {
		return nil, err
	}
	zig := zigCache([]string{EnvZigCache + "=" + envs[EnvZigCache]})
	decl, err := parseCross(labels)
	if err != nil {
		return nil, fmt.Errorf("the embedded builder Dockerfile has a wrong cross-compilation declaration: %w", err)
	}
	for _, p := range embeddedPlatforms {
		b.Platforms[p] = true
		b.Have = append(b.Have, p.String())
		b.Libc[p] = labels[LabelLibc]
		b.RustFlags[p] = labels[LabelRustFlags]
		b.Cross[p] = decl
		b.ZigCache[p] = zig
	}
	return b, nil
}

// Args are the template's builder arguments: the stage names of the
// embedded builder, or the published image for both.
func Args(b *Builder) map[string]string {
	if b.Embedded {
		return map[string]string{app.ArgBuilderImage: muslrustchef.StageName, app.ArgCrossBuilderImage: NativeStageName}
	}
	return map[string]string{app.ArgBuilderImage: b.Pinned, app.ArgCrossBuilderImage: b.Pinned}
}
