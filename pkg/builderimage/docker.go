package builderimage

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// DockerLoader loads docker archives into a Docker daemon through the
// Engine API (POST /images/load), streaming: the archive is never written
// to disk.
type DockerLoader struct {
	cli *client.Client
}

// NewDockerLoader connects to the daemon opts name (default the local
// socket; the targets pass client.FromEnv for DOCKER_HOST).
func NewDockerLoader(opts ...client.Opt) (*DockerLoader, error) {
	cli, err := client.New(opts...)
	if err != nil {
		return nil, option.Errorf("cannot set up the Docker client: %w: check %s", err, option.Env(option.DockerHost))
	}
	return &DockerLoader{cli: cli}, nil
}

// Ping checks that the daemon answers.
func (d *DockerLoader) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return option.Errorf("Docker daemon unreachable at %s (%s): start Docker or set %s, or write an OCI layout instead (%s=oci:DIR)", d.cli.DaemonHost(), oneline.Err(err),
			option.Env(option.DockerHost), option.Flag(option.BuilderOutput))
	}
	return nil
}

// Load runs produce with the write end of a pipe whose read end the daemon
// loads. produce must close the writer when the archive is complete (the
// BuildKit archive exporter does); Load closes it with an error if produce
// fails, so the daemon discards the partial archive.
func (d *DockerLoader) Load(ctx context.Context, produce func(io.WriteCloser) (*buildkit.Result, error)) (*buildkit.Result, error) {
	pr, pw := io.Pipe()
	type loaded struct{ err error }
	done := make(chan loaded, 1)
	go func() {
		resp, err := d.cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
		if err != nil {
			// Unblock the exporter writing into the pipe.
			pr.CloseWithError(err)
			done <- loaded{fmt.Errorf("loading into Docker at %s: %s", d.cli.DaemonHost(), oneline.Err(err))}
			return
		}
		defer resp.Close()
		lerr := publish.LoadResponseError(resp)
		// Drain what the daemon did not read, so the exporter never
		// blocks on a reader that has stopped.
		io.Copy(io.Discard, pr)
		done <- loaded{lerr}
	}()
	res, err := produce(pw)
	if err != nil {
		pw.CloseWithError(err)
		<-done
		return res, err
	}
	// The exporter closed pw; wait for the daemon's verdict.
	pw.Close()
	if l := <-done; l.err != nil {
		return res, l.err
	}
	return res, nil
}

// Close releases the client.
func (d *DockerLoader) Close() error { return d.cli.Close() }
