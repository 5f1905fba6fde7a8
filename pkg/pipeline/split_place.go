package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// placement is a platform and the connected node that builds it.
type placement struct {
	p    platform.Platform
	node buildkit.Node
	bk   buildkit.Builder
	why  string // "declared" or "native"
}

// placeNodes gives every platform a node and connects to it: a node
// declared for the platform (buildx's --platform, a host given for the
// architecture) first, else a node whose BuildKit runs on that platform
// natively (each undeclared node is connected to ask). Every node used is
// connected before anything is built; a node that is down is the run's
// error. closeAll closes the connections.
func placeNodes(ctx context.Context, c *Config, nodes []buildkit.Node, opts []buildkit.Option) (placed []placement, closeAll func(), err error) {
	var open []buildkit.Builder
	closeAll = func() {
		for _, b := range open {
			b.Close()
		}
	}
	if len(nodes) == 0 {
		return nil, closeAll, option.Usagef("%s=split with %s builds each platform on a BuildKit node of its own, and none is configured: set %s and %s, or `docker buildx use` a builder with a node per platform (docker buildx create --append --platform ...); or build one platform per run and merge the digests with image:merge",
			option.Env(option.Strategy), platform.Join(c.Platforms), option.Env(option.BuildkitHostAmd64), option.Env(option.BuildkitHostArm64))
	}
	conns := map[int]buildkit.Builder{}
	conn := func(i int) (buildkit.Builder, error) {
		if b, ok := conns[i]; ok {
			return b, nil
		}
		b, err := buildkit.ConnectNode(ctx, nodes[i], opts...)
		if err != nil {
			return nil, err
		}
		conns[i] = b
		open = append(open, b)
		return b, nil
	}
	var left []platform.Platform
	for _, p := range c.Platforms {
		i := declared(nodes, p)
		if i < 0 {
			left = append(left, p)
			continue
		}
		b, err := conn(i)
		if err != nil {
			return nil, closeAll, err
		}
		placed = append(placed, placement{p: p, node: nodes[i], bk: b, why: "declared for it"})
	}
	var seen []string
	for i, n := range nodes {
		if len(left) == 0 {
			break
		}
		if len(n.Platforms) > 0 {
			continue
		}
		b, err := conn(i)
		if err != nil {
			return nil, closeAll, err
		}
		native := b.Endpoint().Native()
		seen = append(seen, fmt.Sprintf("%s runs on %s", n.Describe(), native))
		for j, p := range left {
			if p.String() == native {
				placed = append(placed, placement{p: p, node: n, bk: b, why: "its native platform"})
				left = append(left[:j], left[j+1:]...)
				break
			}
		}
	}
	if len(left) > 0 {
		var have []string
		for _, n := range nodes {
			if len(n.Platforms) > 0 {
				have = append(have, fmt.Sprintf("%s is declared for %s", n.Describe(), strings.Join(n.Platforms, ",")))
			}
		}
		have = append(have, seen...)
		var refs []any
		var format []string
		for _, p := range left {
			if opt, ok := buildkit.HostOption(p.Arch); ok {
				refs = append(refs, option.Env(opt))
				format = append(format, "%s")
			}
		}
		return nil, closeAll, option.Usagef("%s=split: no BuildKit node builds %s (%s): set "+strings.Join(format, " and ")+", or add a node for it to the buildx builder (docker buildx create --append --name <builder> --platform %s <endpoint>)",
			append(append([]any{option.Env(option.Strategy), platform.Join(left), strings.Join(have, "; ")}, refs...), left[0])...)
	}
	// The order of c.Platforms, whatever matched first.
	ordered := make([]placement, 0, len(placed))
	for _, p := range c.Platforms {
		for _, pl := range placed {
			if pl.p == p {
				ordered = append(ordered, pl)
			}
		}
	}
	return ordered, closeAll, nil
}

// declared is the first node declared for p, or -1.
func declared(nodes []buildkit.Node, p platform.Platform) int {
	for i, n := range nodes {
		for _, np := range n.Platforms {
			if np == p.String() {
				return i
			}
		}
	}
	return -1
}
