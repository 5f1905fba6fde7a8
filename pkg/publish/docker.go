package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Docker loads the host platform's image into a Docker daemon through the
// Engine API and tags it.
type Docker struct {
	cli  *client.Client
	tags []name.Tag
	host platform.Platform
}

// NewDocker connects to the daemon named by DOCKER_HOST (default the local
// socket). tags must not be empty: a loaded image needs a name.
func NewDocker(tags []name.Tag, host platform.Platform, opts ...client.Opt) (*Docker, error) {
	if len(tags) == 0 {
		return nil, option.Usagef("no image name: set %s to name the image loaded into Docker", option.Env(option.Image))
	}
	opts = append([]client.Opt{client.FromEnv}, opts...)
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot set up the Docker client: %w; check DOCKER_HOST", err)
	}
	return &Docker{cli: cli, tags: tags, host: host}, nil
}

// Publish implements Publisher.
func (d *Docker) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
	img, _, err := SinglePlatform(idx, d.host)
	if err != nil {
		return Result{}, err
	}
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return Result{}, fmt.Errorf("Docker daemon unreachable at %s: %s; start Docker or set DOCKER_HOST", d.cli.DaemonHost(), oneline.Err(err))
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeArchive(ctx, pw, img, d.tags)) }()
	resp, err := d.cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return Result{}, fmt.Errorf("loading into Docker: %s", oneline.Err(err))
	}
	defer resp.Close()
	if err := LoadResponseError(resp); err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	return Result{Reference: displayName(d.tags[0]), Digest: digest}, nil
}

// LoadResponseError reads the Docker daemon's image-load JSON message
// stream: a failed load is reported there, with HTTP 200.
func LoadResponseError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading Docker's load response: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return fmt.Errorf("Docker refused the image: %s", strings.TrimSpace(msg.ErrorDetail.Message))
		}
		if msg.Error != "" {
			return fmt.Errorf("Docker refused the image: %s", strings.TrimSpace(msg.Error))
		}
	}
}

// Close implements Publisher.
func (d *Docker) Close() error { return d.cli.Close() }
