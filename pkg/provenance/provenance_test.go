package provenance

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

const (
	builderDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	baseDigest    = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	runtimeDigest = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	revision      = "0123456789abcdef0123456789abcdef01234567"
)

var amd64 = platform.Platform{OS: "linux", Arch: "amd64"}

var flags = cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl", Package: "app", Bin: "app",
	Features: []string{"fast", "json"}, Locked: true, RustFlags: "-C target-feature=+crt-static", Strip: true}

// inputs are real where the kit has them at hand: the subject is a
// go-containerregistry image's manifest digest, the binary a file's
// sha256, the recipe and cook key a plan of the e2e workspace.
type inputs struct {
	subject       Subject
	binaryDigest  string
	recipeDigest  string
	key           *cookkey.Key
	dockerfileSum string
}

func realInputs(t *testing.T) inputs {
	t.Helper()
	content := []byte("\x7fELF not really, but bytes to hash")
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(content, types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	binDigest, err := DigestFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := chef.NewPlan(chef.Options{Workspace: "../../testdata/app"})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := plan.Recipe.Digest()
	if err != nil {
		t.Fatal(err)
	}
	key, err := cookkey.FromRecipe(plan.Recipe, cookkey.WithFlags(flags), cookkey.WithBuilder(builderDigest))
	if err != nil {
		t.Fatal(err)
	}
	return inputs{subject: Subject{Name: "127.0.0.1:5123/app", Digest: d.String(), Platform: amd64},
		binaryDigest: binDigest, recipeDigest: rd, key: key,
		dockerfileSum: DigestBytes([]byte("FROM ${MUSLRUST_IMAGE}\n"))}
}

func embeddedOpts(in inputs) []Option {
	return []Option{
		WithBinary("app", in.binaryDigest),
		WithCargo("cargo", flags),
		WithEmbeddedBuilder(in.dockerfileSum, "127.0.0.1:5123/muslrust:stable", baseDigest),
		WithRuntimeBase("127.0.0.1:5123/static:latest", runtimeDigest),
		WithSource("git+https://git.example.org/team/app", revision),
		WithKitVersion("v0.4.0"),
		WithRecipeDigest(in.recipeDigest),
		WithSourceDateEpoch(1700000000),
		WithCook(true, in.key),
	}
}

func statement(t *testing.T, s Subject, opts ...Option) []byte {
	t.Helper()
	r, err := New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Statement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameInputsGiveIdenticalBytes(t *testing.T) {
	in := realInputs(t)
	opts := embeddedOpts(in)
	first := statement(t, in.subject, opts...)
	// Options in reverse order, and a cook key re-read from its
	// annotation form: still the same inputs.
	rev := make([]Option, len(opts))
	for i, o := range opts {
		rev[len(opts)-1-i] = o
	}
	enc, err := in.key.Encode()
	if err != nil {
		t.Fatal(err)
	}
	key2, err := cookkey.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	rev = append(rev, WithCook(true, key2))
	if second := statement(t, in.subject, rev...); !bytes.Equal(first, second) {
		t.Fatalf("two renderings of the same inputs differ:\n%s\n%s", first, second)
	}

	// Each input changed alone changes the bytes.
	other := cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl"}
	for name, o := range map[string]Option{
		"binary":      WithBinary("app", runtimeDigest),
		"cargo":       WithCargo("cargo", other),
		"program":     WithCargo("cargo-zigbuild", flags),
		"builder":     WithBuilderImage("127.0.0.1:5123/builder:1", builderDigest),
		"runtime":     WithRuntimeBase("127.0.0.1:5123/static:latest", baseDigest),
		"source":      WithSource("git+https://git.example.org/team/app", "fedcba9876543210fedcba9876543210fedcba98"),
		"kit":         WithKitVersion("v0.4.1"),
		"builder id":  WithBuilderID("https://ci.example.org/team/app/workflows/build"),
		"recipe":      WithRecipeDigest(runtimeDigest),
		"epoch":       WithSourceDateEpoch(1700000001),
		"cook reused": WithCook(false, in.key),
	} {
		if b := statement(t, in.subject, append(append([]Option{}, opts...), o)...); bytes.Equal(b, first) {
			t.Errorf("changing %s left the statement unchanged", name)
		}
	}
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// The fields the in-toto Statement v1 and SLSA Provenance v1 specs
// require, with their JSON names, checked on the bytes as a consumer that
// does not use the Go module sees them.
func TestStatementHasTheSpecsRequiredFields(t *testing.T) {
	in := realInputs(t)
	b := statement(t, in.subject, embeddedOpts(in)...)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["_type"] != "https://in-toto.io/Statement/v1" || doc["predicateType"] != "https://slsa.dev/provenance/v1" {
		t.Errorf("_type %v predicateType %v", doc["_type"], doc["predicateType"])
	}
	subjects, _ := doc["subject"].([]any)
	if len(subjects) != 2 {
		t.Fatalf("subjects %v", doc["subject"])
	}
	for i, want := range []string{in.subject.Digest, in.binaryDigest} {
		s := subjects[i].(map[string]any)
		dg, _ := s["digest"].(map[string]any)
		if h, _ := dg["sha256"].(string); !sha256Hex.MatchString(h) || "sha256:"+h != want || s["name"] == "" {
			t.Errorf("subject %d = %v, want digest %s", i, s, want)
		}
	}
	pred, _ := doc["predicate"].(map[string]any)
	bd, _ := pred["buildDefinition"].(map[string]any)
	rd, _ := pred["runDetails"].(map[string]any)
	if bd == nil || rd == nil {
		t.Fatalf("predicate lacks buildDefinition or runDetails: %v", pred)
	}
	if bd["buildType"] != BuildType {
		t.Errorf("buildType %v", bd["buildType"])
	}
	ext, _ := bd["externalParameters"].(map[string]any)
	if len(ext) == 0 {
		t.Errorf("externalParameters empty")
	}
	cargoParams, _ := ext["cargo"].(map[string]any)
	if cargoParams["triple"] != "x86_64-unknown-linux-musl" || cargoParams["profile"] != "release" || ext["platform"] != "linux/amd64" {
		t.Errorf("externalParameters %v", ext)
	}
	args, _ := json.Marshal(cargoParams["args"])
	if string(args) != `["build","--profile","release","--target","x86_64-unknown-linux-musl","--package","app","--bin","app","--features","fast,json","--locked"]` {
		t.Errorf("cargo args %s", args)
	}
	internal, _ := bd["internalParameters"].(map[string]any)
	cook, _ := internal["cook"].(map[string]any)
	if internal["sourceDateEpoch"] != float64(1700000000) || internal["recipeDigest"] != in.recipeDigest || cook["reused"] != true || cook["key"] == nil {
		t.Errorf("internalParameters %v", internal)
	}
	builder, _ := rd["builder"].(map[string]any)
	if id, _ := builder["id"].(string); id == "" {
		t.Errorf("runDetails.builder.id missing: %v", rd)
	}
	if v, _ := builder["version"].(map[string]any); v[KitName] != "v0.4.0" {
		t.Errorf("builder.version %v", builder["version"])
	}
	if _, has := rd["metadata"]; has {
		t.Errorf("runDetails has metadata (timestamps would break reproducibility): %v", rd)
	}
	deps, _ := bd["resolvedDependencies"].([]any)
	got := map[string]any{}
	for _, d := range deps {
		m := d.(map[string]any)
		got[m["name"].(string)] = m["digest"]
	}
	want := map[string]any{
		DepSource:            map[string]any{"gitCommit": revision},
		DepBuilderDockerfile: map[string]any{"sha256": hexOf(in.dockerfileSum)},
		DepBuilderBase:       map[string]any{"sha256": hexOf(baseDigest)},
		DepRuntimeBase:       map[string]any{"sha256": hexOf(runtimeDigest)},
		DepRecipe:            map[string]any{"sha256": hexOf(in.recipeDigest)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolvedDependencies\n got %v\nwant %v", got, want)
	}
	// Proto field names would mean the JSON mapping was not applied.
	for _, snake := range []string{"predicate_type", "build_definition", "external_parameters", "resolved_dependencies", "run_details"} {
		if bytes.Contains(b, []byte(`"`+snake+`"`)) {
			t.Errorf("statement uses the proto name %s", snake)
		}
	}
}

func TestParseReadsBackWhatWasWritten(t *testing.T) {
	in := realInputs(t)
	zig := cargo.Flags{Profile: "dev", Triple: "aarch64-unknown-linux-musl", NoDefaultFeatures: true, TargetDir: "out"}
	arm := in.subject
	arm.Platform = platform.Platform{OS: "linux", Arch: "arm64"}
	for name, c := range map[string]struct {
		s    Subject
		opts []Option
	}{
		"embedded builder": {in.subject, embeddedOpts(in)},
		"published builder, cross, scratch, no binary": {arm, []Option{
			WithCargo("cargo-zigbuild", zig, "CC_aarch64_unknown_linux_musl=zig-cc"),
			WithBuilderImage("127.0.0.1:5123/builder:1", builderDigest),
			WithRuntimeBase("scratch", ""),
			WithSource("git+https://git.example.org/team/app", "main"),
			WithCook(false, nil),
		}},
		"minimal": {in.subject, []Option{WithCargo("", flags), WithBuilderImage("127.0.0.1:5123/builder:1", builderDigest)}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := New(c.s, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := want.Statement()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse\n got %+v\nwant %+v", got, want)
			}
			again, err := got.Statement()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Errorf("re-rendering the parsed record changed the bytes:\n%s\n%s", again, b)
			}
		})
	}
}

func TestParseRefusesOtherDocuments(t *testing.T) {
	in := realInputs(t)
	good := string(statement(t, in.subject, embeddedOpts(in)...))
	for name, doc := range map[string]string{
		"not JSON":        "SPDXVersion: SPDX-2.3",
		"other predicate": strings.Replace(good, PredicateType, "https://spdx.dev/Document", 1),
		"other buildType": strings.Replace(good, BuildType, "https://example.org/other-build/v1", 1),
		"no subject":      `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`,
		"bad digest":      strings.Replace(good, hexOf(in.subject.Digest), "xyz", 1),
	} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "provenance: ") {
			t.Errorf("%s: Parse = %v, want a provenance error", name, err)
		}
	}
}

func TestNewRefusesIncompleteInputs(t *testing.T) {
	in := realInputs(t)
	pub := WithBuilderImage("127.0.0.1:5123/builder:1", builderDigest)
	for name, c := range map[string]struct {
		s    Subject
		opts []Option
		want string
	}{
		"no builder":      {in.subject, []Option{WithCargo("", flags)}, "no builder"},
		"two builders":    {in.subject, []Option{WithCargo("", flags), pub, func(r *Record) { r.Builder.Base = &Image{Ref: "x", Digest: baseDigest} }}, "both"},
		"short digest":    {Subject{Name: "r/app", Digest: "sha256:abc", Platform: amd64}, []Option{WithCargo("", flags), pub}, "subject digest"},
		"no name":         {Subject{Digest: in.subject.Digest, Platform: amd64}, []Option{WithCargo("", flags), pub}, "image name"},
		"bad platform":    {Subject{Name: "r/app", Digest: in.subject.Digest, Platform: platform.Platform{OS: "linux", Arch: "s390x"}}, []Option{WithCargo("", flags), pub}, "platform"},
		"no triple":       {in.subject, []Option{pub}, "triple"},
		"negative epoch":  {in.subject, []Option{WithCargo("", flags), pub, WithSourceDateEpoch(-1)}, "SOURCE_DATE_EPOCH"},
		"base w/o digest": {in.subject, []Option{WithCargo("", flags), pub, WithRuntimeBase("r/static:latest", "")}, "runtime base"},
	} {
		if _, err := New(c.s, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error about %q", name, err, c.want)
		}
	}
}

func TestDigestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("abc"), 0o644)
	d, err := DigestFile(p)
	// sha256("abc") from FIPS 180-2's example.
	if err != nil || d != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("DigestFile = %s, %v", d, err)
	}
	if _, err := DigestFile(p + ".missing"); err == nil {
		t.Error("DigestFile of a missing file succeeded")
	}
}
