#!/usr/bin/env bash
# What internal/standin's cross stand-in builder (pkg/pipeline's cross tests
# and benchmark) resolves from apt: the aarch64 Rust standard library of
# Debian's rustc (multiarch, arm64), Debian's aarch64 gcc cross compiler
# with its glibc, and the cc crate testdata/cross builds its C code with.
# Nothing is installed on the host: the stand-in downloads the .debs.
# Idempotent. Run as root by provision.sh (before standin.sh, which adds
# the arm64 architecture too).
set -euo pipefail

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "cross: adding the arm64 architecture to dpkg (package lists only)"
  dpkg --add-architecture arm64
  apt-get update -q
fi

packages=(libstd-rust-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu librust-cc-dev)
if ! apt-cache show "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -q
fi
for p in "${packages[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "cross: apt has no $p after an update; check the apt sources (bookworm main) and that dpkg has the arm64 architecture" >&2
    exit 1
  fi
done
# The aarch64 standard library must be exactly the amd64 rustc's version,
# or rustc refuses it (E0514, "compiled by an incompatible version").
rustc_v=$(apt-cache policy rustc | awk '/Candidate:/ {print $2}')
std_v=$(apt-cache policy libstd-rust-dev:arm64 | awk '/Candidate:/ {print $2}')
if [ "$rustc_v" != "$std_v" ]; then
  echo "cross: rustc $rustc_v and libstd-rust-dev:arm64 $std_v differ; the cross stand-in needs the same version" >&2
  exit 1
fi
