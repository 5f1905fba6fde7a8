#!/usr/bin/env bash
# Rust crates for pkg/chef's real-cargo tests: Debian's librust-*-dev
# packages fill /usr/share/cargo/registry, which the tests use as a directory
# source replacing crates-io (no crates.io on these machines).
# Idempotent: installs only what is missing. Run as root by provision.sh.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/env.sh"

packages=(
  librust-itoa-dev        # simple, ws, outer fixtures
  librust-cfg-if-dev      # ws: renamed, target-specific dependency
  librust-memchr-dev      # ws: build-script crate's dependency
  librust-either-dev      # ws: dependency dropped by bin narrowing
  librust-scopeguard-dev  # outer: path dependency outside the workspace
)
# The tests need a cargo that reads lockfile v3 and workspace inheritance;
# Debian's own (1.65) is enough when rustup's is absent.
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
  packages+=(cargo rustc)
fi

apt_install_missing rust-crates "${packages[@]}"
for crate in itoa cfg-if memchr either scopeguard; do
  if ! ls -d /usr/share/cargo/registry/"$crate"-* >/dev/null 2>&1; then
    echo "rust-crates: /usr/share/cargo/registry has no $crate after install" >&2
    exit 1
  fi
done
