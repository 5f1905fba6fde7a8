package chef

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestOutsideDirs(t *testing.T) {
	p := mustPlan(t, Options{Workspace: filepath.Join(fixtures, "outer/app")})
	if got := strings.Join(p.OutsideDirs, ","); got != "../shared" {
		t.Fatalf("OutsideDirs = %q, want ../shared", got)
	}
	if p.Recipe.WorkspaceDir != "app" {
		t.Fatalf("WorkspaceDir = %q, want app", p.Recipe.WorkspaceDir)
	}
	if p := mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws")}); len(p.OutsideDirs) != 0 {
		t.Fatalf("a workspace without outside crates has OutsideDirs %q", p.OutsideDirs)
	}
}

func TestTokenInCargoConfigRefused(t *testing.T) {
	cases := []struct{ file, config, want string }{
		{".cargo/config.toml", "[registries.my-corp]\nindex = \"sparse+https://r.example/\"\ntoken = \"s3cr3t\"\n",
			".cargo/config.toml: [registries.my-corp] token is written in the file, which is sent to BuildKit: remove it and set CARGO_REGISTRIES_MY_CORP_TOKEN in the environment"},
		{".cargo/config", "[registry]\ntoken = \"s3cr3t\"\n", ".cargo/config: [registry] token is written in the file"},
		{".cargo/credentials.toml", "[registry]\ntoken = \"s3cr3t\"\n", ".cargo/credentials.toml holds cargo credentials inside the workspace"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ws := fixture(t, "simple")
			writeFile(t, filepath.Join(ws, filepath.FromSlash(c.file)), c.config)
			_, err := NewPlan(Options{Workspace: ws})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q and not the token", err, c.want)
			}
		})
	}
	// A registry without a token in the file plans fine.
	ws := fixture(t, "simple")
	writeFile(t, filepath.Join(ws, ".cargo/config.toml"), "[registries.corp]\nindex = \"sparse+https://r.example/\"\n")
	if _, err := NewPlan(Options{Workspace: ws}); err != nil {
		t.Fatal(err)
	}
}
