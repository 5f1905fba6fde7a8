package buildkit

import (
	"context"
	"errors"
	"fmt"
	"os"

	dockercliconfig "github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// attachables are the session's services: registry credentials from the
// Docker config, the build secrets, the forwarded SSH agents.
func (b *builder) attachables(req Request) ([]session.Attachable, error) {
	cfgFile, err := dockercliconfig.Load(b.cfg.configDir())
	if err != nil {
		return nil, fmt.Errorf("cannot read registry credentials: %s: fix or move that Docker config file", oneline.Lines(err))
	}
	attachables := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(cfgFile),
	})}
	if len(req.Secrets) > 0 {
		sp, err := secretAttachable(req.Secrets)
		if err != nil {
			return nil, err
		}
		attachables = append(attachables, sp)
	}
	if len(req.SSH) > 0 {
		cfgs := make([]sshprovider.AgentConfig, len(req.SSH))
		for i, a := range req.SSH {
			cfgs[i] = sshprovider.AgentConfig{ID: a.ID, Paths: a.Paths}
		}
		sp, err := sshprovider.NewSSHAgentProvider(cfgs)
		if err != nil {
			return nil, fmt.Errorf("cannot forward the SSH agent: %s: check SSH_AUTH_SOCK (ssh-add -l must list a key)", oneline.Lines(err))
		}
		attachables = append(attachables, sp)
	}
	return attachables, nil
}

func secretAttachable(secrets []Secret) (session.Attachable, error) {
	values := map[string][]byte{}
	var sources []secretsprovider.Source
	for _, s := range secrets {
		if s.ID == "" {
			return nil, errors.New("a build secret has no ID: give each secret the id used in RUN --mount=type=secret,id=...")
		}
		switch {
		case s.Value != nil:
			values[s.ID] = s.Value
		case s.File != "" || s.Env != "":
			if s.File != "" {
				if _, err := os.Stat(s.File); err != nil {
					return nil, fmt.Errorf("secret %q: file %s is not readable: %w: create it or drop the secret", s.ID, s.File, err)
				}
			}
			sources = append(sources, secretsprovider.Source{ID: s.ID, FilePath: s.File, Env: s.Env})
		default:
			return nil, fmt.Errorf("secret %q has no value, file or env: give one", s.ID)
		}
	}
	store, err := secretsprovider.NewStore(sources)
	if err != nil {
		return nil, fmt.Errorf("build secrets: %s", oneline.Lines(err))
	}
	return secretsprovider.NewSecretProvider(multiStore{values: values, next: store}), nil
}

// multiStore serves in-memory secrets first, then file/env secrets.
type multiStore struct {
	values map[string][]byte
	next   secrets.SecretStore
}

func (m multiStore) GetSecret(ctx context.Context, id string) ([]byte, error) {
	if v, ok := m.values[id]; ok {
		return v, nil
	}
	if m.next == nil {
		return nil, fmt.Errorf("secret %s: %w", id, secrets.ErrNotFound)
	}
	return m.next.GetSecret(ctx, id)
}
