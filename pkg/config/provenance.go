package config

import (
	"context"
	"os"
	"os/exec"
	"strings"
)

// FirstNonEmpty returns the first value that is not empty: a knob's value,
// then the fallbacks in order.
func FirstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// GitHubSource is the repository URL in GitHub Actions
// ($GITHUB_SERVER_URL/$GITHUB_REPOSITORY), empty elsewhere: the default of
// the org.opencontainers.image.source label.
func GitHubSource() string {
	server, repo := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY")
	if server == "" || repo == "" {
		return ""
	}
	return strings.TrimSuffix(server, "/") + "/" + repo
}

// GitRevision is $GITHUB_SHA, else the commit checked out in dir (empty when
// dir is not a git checkout): the default of the revision label.
func GitRevision(ctx context.Context, dir string) string {
	if sha := os.Getenv("GITHUB_SHA"); sha != "" {
		return sha
	}
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// GitHubOutput is the file GitHub Actions reads step outputs from
// ($GITHUB_OUTPUT), empty outside Actions.
func GitHubOutput() string { return GitHubOutputFile.Value(nil) }

// GitHubStepSummary is the file GitHub Actions shows as the job's summary
// page ($GITHUB_STEP_SUMMARY), empty outside Actions.
func GitHubStepSummary() string { return GitHubStepSummaryFile.Value(nil) }

// The CI's inputs: GitHub Actions' variables and docker/metadata-action's
// output. pkg/buildcache and pkg/imagetags take their values as options.
var (
	// GitHubRef: the ref that triggered the workflow (refs/heads/<branch>, refs/tags/<tag>).
	GitHubRef = Knob{Env: "GITHUB_REF"}
	// GitHubHeadRef: a pull request's source branch.
	GitHubHeadRef = Knob{Env: "GITHUB_HEAD_REF"}
	// GitHubOutputFile: the file step outputs are appended to.
	GitHubOutputFile = Knob{Env: "GITHUB_OUTPUT"}
	// GitHubStepSummaryFile: the Markdown file shown as the job's summary (timings table).
	GitHubStepSummaryFile = Knob{Env: "GITHUB_STEP_SUMMARY"}
	// DockerMetadata: docker/metadata-action's JSON output; its tags are the default tags.
	DockerMetadata = Knob{Env: "DOCKER_METADATA_OUTPUT_JSON"}
)
