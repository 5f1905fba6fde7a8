package sbom

import "testing"

// A token in a git or registry URL of Cargo.lock never reaches the SBOM.
func TestSourceURLsDropUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://oauth2:s3cr3t@git.example.com/team/lib": "https://git.example.com/team/lib",
		"ssh://git@git.example.com/team/lib.git":         "ssh://git.example.com/team/lib.git",
		"https://git.example.com/team/lib":               "https://git.example.com/team/lib",
		"sparse+https://tok@registry.example.com/index/": "sparse+https://registry.example.com/index/",
		"https://us%zz:tok@git.example.com/team/lib?x=1": "https://git.example.com/team/lib?x=1",
		"/usr/share/cargo/registry":                      "/usr/share/cargo/registry",
	} {
		if got := withoutUserinfo(in); got != want {
			t.Errorf("withoutUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
