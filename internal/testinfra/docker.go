package testinfra

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ClassicStoreDockerd returns the Docker daemon's address after checking it
// answers and keeps images in its classic (graph driver) store, as Debian
// 12's docker.io does: tests of the refusals of the daemon's built-in
// BuildKit need that store, since with the containerd image store it can do
// what they expect it to refuse.
func ClassicStoreDockerd(t testing.TB) string {
	t.Helper()
	host := DockerSocket(t)
	store, err := dockerImageStore(host)
	if err != nil {
		t.Fatalf("reading the image store of the Docker daemon at %s: %v", host, err)
	}
	if store != "" {
		Missing(t, "the Docker daemon at "+host+" uses the containerd image store ("+store+"); this test needs the classic store",
			"point DOCKER_HOST at a dockerd without the containerd-snapshotter feature, such as Debian 12's docker.io started by scripts/services.sh")
	}
	return host
}

// dockerImageStore returns the containerd snapshotter the daemon reports in
// /info (DriverStatus driver-type), or "" for the classic store.
func dockerImageStore(host string) (string, error) {
	network, addr := "unix", strings.TrimPrefix(host, "unix://")
	if strings.HasPrefix(host, "tcp://") {
		network, addr = "tcp", strings.TrimPrefix(host, "tcp://")
	}
	client := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, err := client.Get("http://docker/info")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /info: %s", resp.Status)
	}
	var info struct{ DriverStatus [][2]string }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return "", fmt.Errorf("GET /info: %w", err)
	}
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && strings.HasPrefix(kv[1], "io.containerd.snapshotter") {
			return kv[1], nil
		}
	}
	return "", nil
}
