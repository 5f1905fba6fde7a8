package buildkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/internal/retry"
)

// containerDialer runs `buildctl dial-stdio` in the container through the
// Engine API's exec endpoint for every connection grpc opens: the same
// transport as buildx's docker-container driver, without a docker CLI.
func containerDialer(cli *dockerclient.Client, name string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		_, conn, err := execAttach(ctx, cli, name, []string{"buildctl", "dial-stdio"})
		if err != nil {
			return nil, err
		}
		return demux(conn), nil
	}
}

// execAttach starts cmd in the container with its standard streams attached.
func execAttach(ctx context.Context, cli *dockerclient.Client, name string, cmd []string) (string, *hijacked, error) {
	ex, err := cli.ExecCreate(ctx, name, dockerclient.ExecCreateOptions{Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", nil, err
	}
	if ex.ID == "" {
		return "", nil, fmt.Errorf("the Docker daemon returned no exec ID for %q in %s", strings.Join(cmd, " "), name)
	}
	res, err := cli.ExecAttach(ctx, ex.ID, dockerclient.ExecAttachOptions{})
	if err != nil {
		return "", nil, err
	}
	return ex.ID, &hijacked{Conn: res.Conn, r: res.Reader}, nil
}

// hijacked reads through the response's buffered reader, which may already
// hold the first bytes after the HTTP upgrade.
type hijacked struct {
	net.Conn
	r io.Reader
}

func (h *hijacked) Read(p []byte) (int, error) { return h.r.Read(p) }

// demuxConn strips the Engine API's stdout/stderr framing: grpc reads
// stdout only; buildctl's stderr is kept for the error message when the
// stream ends badly.
type demuxConn struct {
	net.Conn
	pr     *io.PipeReader
	mu     sync.Mutex
	stderr bytes.Buffer
}

func demux(c net.Conn) net.Conn {
	pr, pw := io.Pipe()
	d := &demuxConn{Conn: c, pr: pr}
	go func() {
		_, err := stdcopy.StdCopy(pw, lockedWriter{d}, c)
		if err == nil {
			d.mu.Lock()
			if s := strings.TrimSpace(d.stderr.String()); s != "" {
				err = errors.New("buildctl dial-stdio: " + s)
			}
			d.mu.Unlock()
		}
		pw.CloseWithError(err)
	}()
	return d
}

type lockedWriter struct{ d *demuxConn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if w.d.stderr.Len() < 4096 {
		w.d.stderr.Write(p)
	}
	return len(p), nil
}

func (d *demuxConn) Read(p []byte) (int, error) { return d.pr.Read(p) }

// run executes cmd in the container and returns its output and exit code.
func run(ctx context.Context, cli *dockerclient.Client, name string, cmd ...string) (string, int, error) {
	id, conn, err := execAttach(ctx, cli, name, cmd)
	if err != nil {
		return "", -1, err
	}
	defer conn.Close()
	if cw, ok := conn.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, conn); err != nil {
		return out.String(), -1, err
	}
	res, err := cli.ExecInspect(ctx, id, dockerclient.ExecInspectOptions{})
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), res.ExitCode, nil
}

// waitReady polls `buildctl debug workers` in the container until buildkitd
// answers, as buildx does after starting its container.
func waitReady(ctx context.Context, cli *dockerclient.Client, name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	return retry.Poll(ctx, retry.Linear(100*time.Millisecond, time.Second), func(int) (bool, error) {
		out, code, err := run(ctx, cli, name, "buildctl", "debug", "workers")
		if err == nil && code == 0 {
			return true, nil
		}
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if time.Now().After(deadline) {
			why := strings.TrimSpace(out)
			if err != nil {
				why = oneline.Lines(err)
			}
			return false, fmt.Errorf("buildkitd in container %s did not answer within %s (%s; last log lines: %s): see `docker logs %s`",
				name, limit, oneline.Lines(errors.New(why)), containerLogTail(ctx, cli, name), name)
		}
		return false, nil
	})
}

func containerLogTail(ctx context.Context, cli *dockerclient.Client, name string) string {
	rc, err := cli.ContainerLogs(ctx, name, dockerclient.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "3"})
	if err != nil {
		return "unavailable: " + oneline.Lines(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, io.LimitReader(rc, 8192))
	return oneline.Lines(errors.New(out.String()))
}
