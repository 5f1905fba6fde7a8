package regtest

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func index(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(64, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The recorder sees a real push in order, and the check accepts the safe
// order (index by digest, then the tag) but names each unsafe one.
func TestPushOrderCheck(t *testing.T) {
	EmptyDockerConfig(t)
	reg := New(t)
	idx := index(t)
	d, _ := idx.Digest()
	repo := reg.Host + "/team/app"
	if err := remote.WriteIndex(ref(t, repo+"@"+d.String()), idx); err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(ref(t, repo+":1").(name.Tag), idx); err != nil {
		t.Fatal(err)
	}
	safe := reg.Log()
	if problems, err := PushOrderProblems(safe, "team/app", idx, "1"); err != nil || len(problems) != 0 {
		t.Fatalf("a safe push was flagged: %v %v\n%v", problems, err, safe)
	}

	indexAt := -1
	for i, q := range safe {
		if q.Kind == "manifest" && q.Method == "PUT" && q.Ref == d.String() {
			indexAt = i
		}
	}
	im, _ := idx.IndexManifest()
	child := im.Manifests[0].Digest.String()
	move := func(log []Request, match func(Request) bool, to int) []Request {
		var moved, rest []Request
		for _, q := range log {
			if match(q) {
				moved = append(moved, q)
			} else {
				rest = append(rest, q)
			}
		}
		if to > len(rest) {
			to = len(rest)
		}
		out := append([]Request{}, rest[:to]...)
		out = append(out, moved...)
		return append(out, rest[to:]...)
	}
	drop := func(log []Request, match func(Request) bool) []Request {
		var out []Request
		for _, q := range log {
			if !match(q) {
				out = append(out, q)
			}
		}
		return out
	}
	cases := map[string]struct {
		log  []Request
		tags []string
		want string
	}{
		"tag before index":    {move(safe, func(q Request) bool { return q.Kind == "manifest" && q.Ref == "1" }, 0), []string{"1"}, "tag 1 moved"},
		"child after index":   {move(safe, func(q Request) bool { return q.Kind == "manifest" && q.Ref == child }, len(safe)), []string{"1"}, "platform manifest " + child + " stored"},
		"blob after manifest": {move(safe, func(q Request) bool { return q.Kind == "upload" && q.Status == 201 }, indexAt), nil, "after its manifest"},
		"tag never written":   {safe, []string{"2"}, "tag 2 never written"},
		"index only by tag":   {drop(safe, func(q Request) bool { return q.Method == "PUT" && q.Ref == d.String() }), nil, "never PUT by digest"},
	}
	for label, c := range cases {
		problems, err := PushOrderProblems(c.log, "team/app", idx, c.tags...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(problems, "\n"), c.want) {
			t.Errorf("%s: problems %q lack %q", label, problems, c.want)
		}
	}
}

// An index with no children and no tags still needs its own PUT.
func TestPushOrderNeedsTheIndex(t *testing.T) {
	idx := mutate.AppendManifests(empty.Index)
	problems, err := PushOrderProblems(nil, "team/app", idx)
	if err != nil || len(problems) != 1 {
		t.Fatalf("empty log: %v %v", problems, err)
	}
}
