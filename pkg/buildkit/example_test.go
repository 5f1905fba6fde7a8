package buildkit_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// Build both platforms and push one index with a registry cache, the way
// `mage image:push` does.
func ExampleConnect() {
	ctx := context.Background()
	// BUILDKIT_HOST, else the buildx builder, else dockerd; the package
	// reads no environment, its caller does.
	b, err := buildkit.Connect(ctx, buildkit.WithHostFrom(os.Getenv(buildkit.HostEnv), buildkit.HostEnv))
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
