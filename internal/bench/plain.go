package bench

import (
	"fmt"
	"strings"
)

// PlainTarget is one platform of the plain Dockerfile: its TARGETARCH and
// the Rust triple cargo compiles it for.
type PlainTarget struct{ Arch, Triple string }

// PlainDockerfile is the anchor of the cold rows: what a team writes by
// hand without the kit. The build context is the workspace's Root (the
// workspace and its path dependency outside it); one stage on the build
// platform copies everything and runs one cargo build for every triple
// (the builder image's cargo configuration and environment name each
// triple's linker, C compiler and flags, as the kit's builder declares
// them), with the kit's default release profile and symbol stripping;
// then FROM scratch + COPY per TARGETARCH. No cook stage, no cache export.
func PlainDockerfile(bin string, targets []PlainTarget) string {
	var args, copies []string
	for _, t := range targets {
		args = append(args, "--target "+t.Triple)
		copies = append(copies, fmt.Sprintf("mkdir -p /out/%s && cp target/%s/release/%s /out/%s/", t.Arch, t.Triple, bin, t.Arch))
	}
	return fmt.Sprintf(`ARG BUILDER
FROM --platform=$BUILDPLATFORM ${BUILDER} AS build
WORKDIR /src
COPY . .
WORKDIR /src/ws
RUN CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked --bin %s %s && \
    %s

FROM scratch
ARG TARGETARCH
COPY --from=build /out/${TARGETARCH}/%s /usr/local/bin/%s
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/%s"]
`, bin, strings.Join(args, " "), strings.Join(copies, " && \\\n    "), bin, bin, bin)
}

// PlainIgnore is the plain build's .dockerignore at the workspace's Root:
// cargo's and the kit's outputs stay out, as a team's .dockerignore has it.
const PlainIgnore = "ws/target\nws/dist\n"
