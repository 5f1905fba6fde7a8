// Package redact takes credentials out of text that leaves the machine
// with an image (SBOMs, provenance): a Cargo.lock written from
// `git = "https://user:token@host/repo"` carries them in its source IDs.
package redact

import (
	"net/url"
	"strings"
)

// Userinfo drops the user and password of a URL, also one behind a
// cargo source kind ("git+https://user:token@host/repo#rev"). Text that is
// no URL with a user is returned as it is.
func Userinfo(raw string) string {
	kind, rest := "", raw
	if i := strings.Index(raw, "+"); i >= 0 && i < strings.Index(raw+"://", "://") {
		kind, rest = raw[:i+1], raw[i+1:]
	}
	if u, err := url.Parse(rest); err == nil {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return kind + u.String()
	}
	// Unparsable (a bad escape in the user part): cut up to the host's "@".
	scheme, after, ok := strings.Cut(rest, "://")
	if !ok {
		return raw
	}
	host := after
	if i := strings.IndexAny(after, "/?#"); i >= 0 {
		host = after[:i]
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		return kind + scheme + "://" + after[at+1:]
	}
	return raw
}
