package buildkit_test

import (
	"context"
	"fmt"
	"log"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// Build both platforms and push one index with a registry cache, the way
// `mage image:push` does.
func ExampleConnect() {
	ctx := context.Background()
	b, err := buildkit.Connect(ctx) // BUILDKIT_HOST, buildx builder, or dockerd
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	res, err := b.Solve(ctx, buildkit.Request{
		ContextDir: ".",
		Dockerfile: "images/muslrust-chef/Dockerfile",
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		CacheFrom:  []string{"ghcr.io/o/r:cache-branch", "ghcr.io/o/r:cache-main"},
		CacheTo:    "ghcr.io/o/r:cache-branch",
		Image:      &buildkit.ImageOutput{Names: []string{"ghcr.io/o/r:v1.2.3"}, Push: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Digest)
}
