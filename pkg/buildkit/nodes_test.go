package buildkit

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// multiNodeInstance is an instance file as buildx writes it (json.Marshal
// of its store.NodeGroup) after
//
//	docker buildx create --name multi --driver remote --platform linux/amd64 unix:///a.sock
//	docker buildx create --append --name multi --node arm --platform linux/arm64/v8 tcp://10.0.0.7:1234
//	docker buildx create --append --name multi --node any unix:///c.sock
const multiNodeInstance = `{"Name":"multi","Driver":"remote","Nodes":[` +
	`{"Name":"multi0","Endpoint":"unix:///a.sock","Platforms":[{"architecture":"amd64","os":"linux"}],"DriverOpts":null,"Flags":null,"Files":null},` +
	`{"Name":"arm","Endpoint":"tcp://10.0.0.7:1234","Platforms":[{"architecture":"arm64","os":"linux","variant":"v8"}],"DriverOpts":null,"Flags":null,"Files":null},` +
	`{"Name":"any","Endpoint":"unix:///c.sock","Platforms":null,"DriverOpts":null,"Flags":null,"Files":null}],"Dynamic":false}`

func writeInstance(t *testing.T, dir, name, instance string) {
	t.Helper()
	root := filepath.Join(dir, "buildx")
	if err := os.MkdirAll(filepath.Join(root, "instances"), 0o700); err != nil {
		t.Fatal(err)
	}
	// `docker buildx use --global multi`
	if err := os.WriteFile(filepath.Join(root, "current"), []byte(`{"Key":"","Name":"`+name+`","Global":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "instances", name), []byte(instance), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNodesFromBuildx(t *testing.T) {
	dir := t.TempDir()
	if nodes, err := Nodes(WithDockerConfigDir(dir)); err != nil || len(nodes) != 0 {
		t.Fatalf("nothing configured: %v, %v", nodes, err)
	}
	writeInstance(t, dir, "multi", multiNodeInstance)
	nodes, err := Nodes(WithDockerConfigDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	type got struct{ Name, Endpoint, Source, Platforms string }
	var have []got
	for _, n := range nodes {
		have = append(have, got{n.Name, n.Endpoint, n.Source, strings.Join(n.Platforms, ",")})
	}
	want := []got{
		{"multi0", "unix:///a.sock", `buildx builder "multi"`, "linux/amd64"},
		{"arm", "tcp://10.0.0.7:1234", `buildx builder "multi"`, "linux/arm64"},
		{"any", "unix:///c.sock", `buildx builder "multi"`, ""},
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("nodes\n got %+v\nwant %+v", have, want)
	}

	// Hosts per platform win over buildx; BUILDKIT_HOST joins them as a
	// node for the other platforms.
	nodes, err = Nodes(WithDockerConfigDir(dir), WithPlatformHost("linux/arm64/v8", "tcp://arm:1234", "MUSLRUST_CHEF_BUILDKIT_HOST_ARM64"))
	if err != nil || len(nodes) != 1 || nodes[0].Name != "arm64" || nodes[0].Platforms[0] != "linux/arm64" || nodes[0].Source != "MUSLRUST_CHEF_BUILDKIT_HOST_ARM64" {
		t.Errorf("per-platform host: %+v, %v", nodes, err)
	}
	nodes, err = Nodes(WithDockerConfigDir(dir), WithHostFrom("unix:///x.sock", HostEnv), WithPlatformHost("linux/arm64", "tcp://arm:1234", "A"))
	if err != nil || len(nodes) != 2 || nodes[1].Endpoint != "unix:///x.sock" || len(nodes[1].Platforms) != 0 {
		t.Errorf("per-platform host and BUILDKIT_HOST: %+v, %v", nodes, err)
	}
	// BUILDKIT_HOST alone wins over buildx, as for Connect.
	if nodes, _ = Nodes(WithDockerConfigDir(dir), WithHostFrom("unix:///x.sock", HostEnv)); len(nodes) != 1 || nodes[0].Name != HostEnv {
		t.Errorf("BUILDKIT_HOST: %+v", nodes)
	}

	// The docker driver is one daemon: one node, which cannot spread.
	writeInstance(t, dir, "dock", `{"Name":"dock","Driver":"docker","Nodes":[{"Name":"dock0","Endpoint":"default"}]}`)
	_, err = Nodes(WithDockerConfigDir(dir))
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), "docker driver") || !strings.Contains(err.Error(), option.Env(option.BuildkitHostArm64).String()) {
		t.Errorf("docker driver: %v", err)
	}
}

// A node that does not answer is one line naming the node, its builder,
// its endpoint and the three ways out.
func TestConnectNodeDown(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "gone.sock")
	writeInstance(t, dir, "multi", strings.Replace(multiNodeInstance, "tcp://10.0.0.7:1234", sock, 1))
	nodes, err := Nodes(WithDockerConfigDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = ConnectNode(context.Background(), nodes[1], WithLog(&log))
	assertOneLine(t, err)
	msg := option.Render(err, func(r option.Ref) string {
		if r.Opt == option.BuildkitHostArm64 {
			return "MUSLRUST_CHEF_BUILDKIT_HOST_ARM64"
		}
		return r.String()
	})
	for _, want := range []string{`BuildKit node "arm" of buildx builder "multi" (` + sock + `) is down: `, "no such file or directory",
		"docker buildx inspect --bootstrap multi", "docker buildx create --leave --name multi --node arm", "or set MUSLRUST_CHEF_BUILDKIT_HOST_ARM64"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if option.Usage(err) {
		t.Errorf("a node that is down is a build failure, not a usage mistake: %v", err)
	}

	// A host given per platform names the option that gave it.
	n, _ := Nodes(WithPlatformHost("linux/amd64", sock, "MUSLRUST_CHEF_BUILDKIT_HOST_AMD64"))
	_, err = ConnectNode(context.Background(), n[0])
	assertOneLine(t, err)
	if want := `BuildKit node "amd64" (` + sock + `, from MUSLRUST_CHEF_BUILDKIT_HOST_AMD64) is down: `; !strings.HasPrefix(err.Error(), want) ||
		!strings.HasSuffix(err.Error(), "point MUSLRUST_CHEF_BUILDKIT_HOST_AMD64 at a running one") {
		t.Errorf("per-platform host down: %v", err)
	}
}

func TestPrefixWriter(t *testing.T) {
	var b strings.Builder
	w := PrefixLines(&b, "[arm64] ")
	w.Write([]byte("#1 [internal] load\n#1 DO"))
	w.Write([]byte("NE 0.1s\n\n"))
	if want := "[arm64] #1 [internal] load\n[arm64] #1 DONE 0.1s\n[arm64] \n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
