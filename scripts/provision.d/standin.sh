#!/usr/bin/env bash
# What internal/standin needs to assemble the stand-in builder images for
# linux/amd64 and linux/arm64 from Debian packages without emulation:
# apt lists for arm64 (apt-get download fetches the arm64 .debs; nothing is
# installed for arm64 on the host) and dpkg-deb to unpack them.
# Idempotent. Run as root by provision.sh.
set -euo pipefail

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "standin: adding the arm64 architecture to dpkg (package lists only)"
  dpkg --add-architecture arm64
  apt-get update -q
elif ! apt-cache show rustc:arm64 >/dev/null 2>&1; then
  apt-get update -q
fi
if ! apt-cache show rustc:arm64 >/dev/null 2>&1; then
  echo "standin: apt has no rustc for arm64 after an update; check the apt sources" >&2
  exit 1
fi
