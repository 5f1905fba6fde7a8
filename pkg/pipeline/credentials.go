package pipeline

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
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
func credentials(cr Credentials, plan *chef.Plan, what string, log io.Writer) ([]buildkit.Secret, []buildkit.SSHAgent, error) {
	var secrets []buildkit.Secret
	if toks := cr.CargoTokens; len(toks) > 0 {
		names := make([]string, 0, len(toks))
		for k := range toks {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, k := range names {
			if strings.ContainsAny(toks[k], "\r\n\x00") || !cargoTokenEnv.MatchString(k) {
				return nil, nil, fmt.Errorf("%s cannot be passed to cargo: set it to the token alone, on one line", k)
			}
			b.WriteString(k + "=" + toks[k] + "\n")
		}
		secrets = append(secrets, buildkit.Secret{ID: app.SecretCargoTokens, Value: []byte(b.String())})
		fmt.Fprintf(log, "%s: cargo registry tokens %s reach cargo as a BuildKit secret (not in any layer or cache)\n", what, strings.Join(names, ", "))
	}
	var ssh []buildkit.SSHAgent
	if srcs := gitSSHSources(plan); len(srcs) > 0 {
		if cr.SSHAgent == "" {
			return nil, nil, option.Usagef("Cargo.lock has git+ssh sources (%s) but %s is not set: start ssh-agent and ssh-add a key that can read them", strings.Join(srcs, ", "), option.Env(option.SSHAgent))
		}
		ssh = append(ssh, buildkit.SSHAgent{ID: app.SSHDefault, Paths: []string{cr.SSHAgent}})
		fmt.Fprintf(log, "%s: forwarding the SSH agent for git+ssh sources (%s); cargo fetches them with git (CARGO_NET_GIT_FETCH_WITH_CLI=true)\n", what, strings.Join(srcs, ", "))
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

// cargoTokenEnv matches the variables cargo reads registry tokens from:
// each line of the secret is one of them.
var cargoTokenEnv = regexp.MustCompile(`^CARGO_REGISTRY_TOKEN$|^CARGO_REGISTRIES_[A-Z0-9_]+_TOKEN$`)

var gitSSHSource = regexp.MustCompile(`(?m)^source\s*=\s*"git\+ssh://(?:[^@/"]*@)?([^/:"]+)`)
