#!/usr/bin/env bash
# Installs everything the integration tests need on a bare Debian 12 machine.
# Idempotent: a second run installs nothing new and rebuilds nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

if [ "$(id -u)" != 0 ]; then
  echo "provision.sh: must run as root (it installs Debian packages)" >&2
  exit 1
fi

packages=(
  docker.io runc docker-registry apache2-utils
  qemu-user-static binfmt-support debootstrap
  ca-certificates curl git
)
apt_install_missing provision "${packages[@]}"
# Extra provisioning steps owned by other parts of the kit (Rust crates, ...).
for extra in "$here"/provision.d/*.sh; do
  [ -e "$extra" ] || continue
  echo "provision: $(basename "$extra")"
  bash "$extra"
done

# Debian's registry service starts on :5000 by default; the tests run their own.
if systemctl is-active docker-registry >/dev/null 2>&1; then systemctl stop docker-registry || true; fi

# arm64 binaries through QEMU.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
if ! grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
  update-binfmts --enable qemu-aarch64
fi

# buildkitd/buildctl at a pinned version, built from the Go module proxy
# (go install pkg@version is refused because of buildkit's go.mod excludes).
mkdir -p "$MUSLRUST_CHEF_TEST_BIN"
stamp="$MUSLRUST_CHEF_TEST_BIN/.buildkit-$BUILDKIT_VERSION"
if [ ! -e "$stamp" ] || [ ! -x "$MUSLRUST_CHEF_TEST_BIN/buildkitd" ]; then
  echo "provision: building buildkitd $BUILDKIT_VERSION"
  (cd "$here/tools" && GOBIN="$MUSLRUST_CHEF_TEST_BIN" CGO_ENABLED=0 go install \
      github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
  touch "$stamp"
fi
echo "provision: done"
