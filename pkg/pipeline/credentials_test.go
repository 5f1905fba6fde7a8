package pipeline

import (
	"bytes"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

func planWithLock(lock string) *chef.Plan {
	return &chef.Plan{Recipe: &chef.Recipe{Skeleton: chef.Skeleton{LockFile: &lock}}}
}

func TestCredentialsReachOnlySecretsAndSSH(t *testing.T) {
	var log bytes.Buffer
	cr := Credentials{CargoTokens: map[string]string{
		"CARGO_REGISTRIES_CORP_TOKEN": "Bearer s3cr3t-corp", "CARGO_REGISTRY_TOKEN": "s3cr3t-io"}}
	secrets, ssh, err := credentials(cr, planWithLock("version = 3\n"), "build", &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(ssh) != 0 || len(secrets) != 1 || secrets[0].ID != app.SecretCargoTokens ||
		string(secrets[0].Value) != "CARGO_REGISTRIES_CORP_TOKEN=Bearer s3cr3t-corp\nCARGO_REGISTRY_TOKEN=s3cr3t-io\n" {
		t.Fatalf("secrets %+v ssh %+v", secrets, ssh)
	}
	if strings.Contains(log.String(), "s3cr3t") || !strings.Contains(log.String(), "CARGO_REGISTRIES_CORP_TOKEN, CARGO_REGISTRY_TOKEN reach cargo as a BuildKit secret") {
		t.Fatalf("log %q must name the variables and never show a token", log.String())
	}

	cr.CargoTokens = map[string]string{"CARGO_REGISTRY_TOKEN": "a\nb"}
	if _, _, err := credentials(cr, nil, "build", &log); err == nil || strings.Contains(err.Error(), "a\nb") {
		t.Fatalf("a token with a line break: %v", err)
	}

	lock := "[[package]]\nname = \"corp\"\nsource = \"git+ssh://git@git.corp.example/team/corp.git#0123\"\n" +
		"[[package]]\nname = \"other\"\nsource = \"git+https://git.corp.example/x.git#1\"\n"
	cr = Credentials{}
	if _, _, err := credentials(cr, planWithLock(lock), "build", &log); err == nil ||
		config.Explain(err) != "Cargo.lock has git+ssh sources (git.corp.example) but SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add a key that can read them" {
		t.Fatalf("git+ssh without an agent: %v", err)
	}
	cr.SSHAgent = "/tmp/agent.sock"
	secrets, ssh, err = credentials(cr, planWithLock(lock), "build", &log)
	if err != nil || len(secrets) != 0 || len(ssh) != 1 || ssh[0].ID != app.SSHDefault || ssh[0].Paths[0] != "/tmp/agent.sock" {
		t.Fatalf("git+ssh with an agent: secrets %v ssh %v err %v", secrets, ssh, err)
	}
	if _, ssh, _ := credentials(cr, planWithLock("[[package]]\nsource = \"git+https://h/x#1\"\n"), "build", &log); len(ssh) != 0 {
		t.Fatal("the SSH agent is forwarded without git+ssh sources")
	}
}
