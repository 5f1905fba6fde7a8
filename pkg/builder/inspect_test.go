package builder_test

import (
	"context"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// A builder image that is not there, or a registry that does not answer,
// fails Inspect in one line that names the knob to fix; a malformed
// reference is a usage mistake.
func TestInspectRefusals(t *testing.T) {
	reg := testinfra.Registry(t)
	ctx := context.Background()
	for _, c := range []struct{ ref, want string }{
		{reg + "/muslrust-chef-test/no-such-builder:missing", "does not exist ("},
		{"127.0.0.1:1/muslrust-chef-test/builder:1", "is unreachable ("},
		{"Not A Ref", `builder image "Not A Ref" is not a valid reference`},
	} {
		_, err := builder.Inspect(ctx, c.ref)
		msg := config.Explain(err)
		if err == nil || !strings.Contains(msg, c.want) || !strings.Contains(msg, "MUSLRUST_CHEF_BUILDER_IMAGE") || strings.Contains(msg, "\n") {
			t.Errorf("Inspect(%s) = %q, want %q and the knob on one line", c.ref, msg, c.want)
		}
	}
	if _, err := builder.Inspect(ctx, "Not A Ref"); !option.Usage(err) {
		t.Errorf("a malformed reference is not a usage error: %v", err)
	}
}
