package redact

import "testing"

func TestUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://oauth2:s3cr3t@git.example.com/team/lib":                 "https://git.example.com/team/lib",
		"git+https://ci:t0ken@git.example.com/team/lib?branch=main#0123": "git+https://git.example.com/team/lib?branch=main#0123",
		"ssh://git@git.example.com/team/lib.git":                         "ssh://git.example.com/team/lib.git",
		"https://git.example.com/team/lib":                               "https://git.example.com/team/lib",
		"sparse+https://tok@registry.example.com/index/":                 "sparse+https://registry.example.com/index/",
		"registry+https://registry.example.com/index":                    "registry+https://registry.example.com/index",
		"https://us%zz:tok@git.example.com/team/lib?x=1":                 "https://git.example.com/team/lib?x=1",
		"/usr/share/cargo/registry":                                      "/usr/share/cargo/registry",
		"":                                                               "",
	} {
		if got := Userinfo(in); got != want {
			t.Errorf("Userinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
