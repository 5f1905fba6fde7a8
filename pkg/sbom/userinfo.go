package sbom

import (
	"net/url"
	"strings"
)

// withoutUserinfo drops the user and password of a source URL: a Cargo.lock
// written from `git = "https://user:token@host/repo"` carries them, and the
// SBOM leaves the machine with the image. A URL that does not parse is kept
// up to its last "@" removed only when it has a scheme ("scheme://...@").
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return u.String()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		return scheme + "://" + rest[at+1:]
	}
	return raw
}
