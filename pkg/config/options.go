package config

import (
	"strings"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// byOption is the knob behind each option the libraries name in their
// errors (a test fails when an option.Name has no row).
var byOption = map[option.Name]Knob{
	option.Bin:             Bin,
	option.Platforms:       Platforms,
	option.Dist:            Dist,
	option.Base:            BaseImage,
	option.Output:          Output,
	option.Image:           Image,
	option.Tags:            Tags,
	option.Source:          Source,
	option.Revision:        Revision,
	option.Version:         Version,
	option.Workspace:       Workspace,
	option.PlanDir:         PlanDir,
	option.SourceDateEpoch: SourceDateEpoch,

	option.Builder:           RustBuilder,
	option.BuilderArgs:       BuilderArgs,
	option.Profile:           Profile,
	option.Features:          Features,
	option.NoDefaultFeatures: NoDefaultFeatures,
	option.Locked:            Locked,
	option.Strip:             Strip,
	option.Libc:              Libc,
	option.RequireAllocator:  RequireAllocator,
	option.RustFlags:         RustFlags,
	option.Strategy:          Strategy,
	option.Timings:           Timings,
	// Declared in pkg/buildspec, beside the Spec field they set.
	buildspec.OptionCompare:   Compare,
	buildspec.OptionReferrers: Referrers,
	buildspec.OptionSBOM:      SBOM,

	option.PublishImage:     BuilderImage,
	option.BuilderOutput:    BuilderOutput,
	option.MuslrustImage:    MuslrustImage,
	option.CargoChefVersion: CargoChefVersion,
	option.CargoChefSHA256:  CargoChefSHA256,
	option.CargoChefURL:     CargoChefURL,
	option.CrossToolchain:   CrossToolchain,
	option.Cache:            Cache,
	option.MainBranch:       MainBranch,
	option.PushByDigest:     PushByDigest,
	option.Digests:          Digests,

	option.RegistryTimeout: RegistryTimeout,
	option.PushTimeout:     PushTimeout,

	option.BuildkitImage:     BuildkitImage,
	option.BuildkitNetwork:   BuildkitNetwork,
	option.BuildkitContainer: BuildkitContainer,
	option.BuildkitdConfig:   BuildkitdConfig,
	option.BuildkitHost:      BuildkitHost,
	option.BuildkitHostAmd64: BuildkitHostAmd64,
	option.BuildkitHostArm64: BuildkitHostArm64,
	option.BuildkitProgress:  BuildkitProgress,
	option.DockerHost:        DockerHost,
	option.DockerContext:     DockerContext,
	option.DockerConfig:      DockerConfig,

	option.GitHubRef:      GitHubRef,
	option.GitHubHeadRef:  GitHubHeadRef,
	option.GitHubOutput:   GitHubOutputFile,
	option.GitHubSummary:  GitHubStepSummaryFile,
	option.DockerMetadata: DockerMetadata,
	option.SSHAgent:       SSHAuthSock,
}

// KnobName spells r as a mage run's user sets it: "-output" for a flag
// mention of a knob that has a flag, else the environment variable
// ("MUSLRUST_CHEF_LIBC"); an option without a knob keeps the library's
// wording.
func KnobName(r option.Ref) string {
	k, ok := byOption[r.Opt]
	switch {
	case !ok:
		return r.String()
	case r.Flag && k.Flag != "", k.Env == "" && k.Flag != "":
		return "-" + k.Flag
	case k.Env != "":
		return k.Env
	}
	return r.String()
}

// Explain is err's message for a user of the mage targets: every
// *option.Error in its chain names its knobs (option.Render with
// KnobName), and the result is one line.
func Explain(err error) string {
	msg := option.Render(err, KnobName)
	// Collapsing white space in a message that is already one line could
	// alter a quoted value, so only multi-line messages are joined.
	if strings.ContainsAny(msg, "\r\n") {
		msg = oneline.String(msg)
	}
	return msg
}
