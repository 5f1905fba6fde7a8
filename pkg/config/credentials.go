package config

import (
	"regexp"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// cargoTokenEnv matches the variables cargo reads registry tokens from.
var cargoTokenEnv = regexp.MustCompile(`^CARGO_REGISTRY_TOKEN$|^CARGO_REGISTRIES_[A-Z0-9_]+_TOKEN$`)

// CargoTokens picks cargo's registry tokens (CARGO_REGISTRY_TOKEN,
// CARGO_REGISTRIES_<NAME>_TOKEN) out of an environment (os.Environ()
// form). They reach cargo only as a BuildKit secret; a value with a line
// break cannot be passed as one line and is refused.
func CargoTokens(environ []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !IsCargoTokenEnv(k) || v == "" {
			continue
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, option.Usagef("%s holds a line break: set it to the token alone", k)
		}
		out[k] = v
	}
	return out, nil
}

// IsCargoTokenEnv reports whether name is one of cargo's registry token
// variables.
func IsCargoTokenEnv(name string) bool { return cargoTokenEnv.MatchString(name) }

// TokenNames lists the variables of tokens, sorted, for log lines that
// must never show the values.
func TokenNames(tokens map[string]string) []string {
	names := make([]string, 0, len(tokens))
	for k := range tokens {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// SSHAuthSock is the caller's SSH agent socket, forwarded to cargo for
// git+ssh sources.
var SSHAuthSock = Knob{Env: "SSH_AUTH_SOCK"}

// SSHAgent is the caller's SSH agent socket, "" when unset.
func SSHAgent() string { return SSHAuthSock.Value(nil) }
