package pipeline

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

// Credentials reach cargo only inside the cook and build RUN steps: tokens
// as a BuildKit secret, the SSH agent as a BuildKit ssh mount. Neither is
// part of a layer, the cache or a build argument.
type Credentials struct {
	// CargoTokens maps CARGO_REGISTRY_TOKEN / CARGO_REGISTRIES_<NAME>_TOKEN
	// to the token.
	CargoTokens map[string]string
	// SSHAgent is the SSH agent socket, forwarded when Cargo.lock has
	// git+ssh sources.
	SSHAgent string
}

// credentials turns the caller's credentials into the build's secrets and
// SSH forwarding, and says in the log which (never their values).
func credentials(rt *Runtime, plan *chef.Plan, what string) ([]buildkit.Secret, []buildkit.SSHAgent, error) {
	var secrets []buildkit.Secret
	if toks := rt.Credentials.CargoTokens; len(toks) > 0 {
		names := config.TokenNames(toks)
		var b strings.Builder
		for _, k := range names {
			if strings.ContainsAny(toks[k], "\r\n\x00") || !config.IsCargoTokenEnv(k) {
				return nil, nil, fmt.Errorf("%s cannot be passed to cargo: set it to the token alone, on one line", k)
			}
			b.WriteString(k + "=" + toks[k] + "\n")
		}
		secrets = append(secrets, buildkit.Secret{ID: app.SecretCargoTokens, Value: []byte(b.String())})
		fmt.Fprintf(rt.Log, "%s: cargo registry tokens %s reach cargo as a BuildKit secret (not in any layer or cache)\n", what, strings.Join(names, ", "))
	}
	var ssh []buildkit.SSHAgent
	if srcs := gitSSHSources(plan); len(srcs) > 0 {
		if rt.Credentials.SSHAgent == "" {
			return nil, nil, fmt.Errorf("Cargo.lock has git+ssh sources (%s) but SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add a key that can read them", strings.Join(srcs, ", "))
		}
		ssh = append(ssh, buildkit.SSHAgent{ID: app.SSHDefault, Paths: []string{rt.Credentials.SSHAgent}})
		fmt.Fprintf(rt.Log, "%s: forwarding the SSH agent for git+ssh sources (%s); cargo fetches them with git (CARGO_NET_GIT_FETCH_WITH_CLI=true)\n", what, strings.Join(srcs, ", "))
	}
	return secrets, ssh, nil
}

// gitSSHSources lists the hosts of Cargo.lock's git+ssh sources.
func gitSSHSources(plan *chef.Plan) []string {
	if plan == nil || plan.Recipe.Skeleton.LockFile == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range gitSSHSource.FindAllStringSubmatch(*plan.Recipe.Skeleton.LockFile, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

var gitSSHSource = regexp.MustCompile(`(?m)^source\s*=\s*"git\+ssh://(?:[^@/"]*@)?([^/:"]+)`)
