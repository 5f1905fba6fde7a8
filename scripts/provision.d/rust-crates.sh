#!/usr/bin/env bash
# Rust crates for pkg/chef's real-cargo tests: Debian's librust-*-dev
# packages fill /usr/share/cargo/registry, which the tests use as a directory
# source replacing crates-io (no crates.io on these machines).
# Idempotent: installs only what is missing. Run as root by provision.sh.
set -euo pipefail

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

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "rust-crates: installing ${missing[*]}"
  apt-get update -q
  # --no-install-recommends leaves optional crate dependencies out; the
  # fixtures only need the crates listed, which the check below confirms.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for crate in itoa cfg-if memchr either scopeguard; do
  if ! ls -d /usr/share/cargo/registry/"$crate"-* >/dev/null 2>&1; then
    echo "rust-crates: /usr/share/cargo/registry has no $crate after install" >&2
    exit 1
  fi
done
