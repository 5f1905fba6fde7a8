// Package ghoutput writes step outputs for GitHub Actions ($GITHUB_OUTPUT),
// so a later job (image:merge) can pick up what this one pushed, and
// Markdown blocks to the job's summary page ($GITHUB_STEP_SUMMARY).
package ghoutput

import (
	"fmt"
	"os"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Write appends key=value lines to path, the file GitHub Actions names in
// GITHUB_OUTPUT (the caller reads the environment: pkg/config's
// GitHubOutput); with path empty, outside Actions, it does nothing.
func Write(path string, pairs ...[2]string) error {
	if path == "" || len(pairs) == 0 {
		return nil
	}
	var b strings.Builder
	for _, p := range pairs {
		if strings.ContainsAny(p[1], "\r\n") {
			return option.Errorf("output %s has a line break; refusing to write it to %s", p[0], option.Env(option.GitHubOutput))
		}
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return option.Errorf("cannot write %s %s: %w", option.Env(option.GitHubOutput), path, err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return option.Errorf("cannot write %s %s: %w", option.Env(option.GitHubOutput), path, err)
	}
	return f.Close()
}

// AppendSummary appends a rendered Markdown block to path, the file GitHub
// Actions names in GITHUB_STEP_SUMMARY (the caller reads the environment:
// pkg/config's GitHubStepSummary) and shows on the job's page; with path
// empty, outside Actions, it does nothing. The block goes out in one
// O_APPEND write, so blocks of steps or processes writing the same
// summary do not interleave; a blank line keeps it apart from the next.
func AppendSummary(path, markdown string) error {
	if path == "" || markdown == "" {
		return nil
	}
	block := strings.TrimRight(markdown, "\n") + "\n\n"
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return option.Errorf("cannot write %s %s: %w", option.Env(option.GitHubSummary), path, err)
	}
	if _, err := f.WriteString(block); err != nil {
		f.Close()
		return option.Errorf("cannot write %s %s: %w", option.Env(option.GitHubSummary), path, err)
	}
	return f.Close()
}
