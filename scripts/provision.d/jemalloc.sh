#!/usr/bin/env bash
# jemalloc for pkg/pipeline's jemalloc fixture (TestVerifyReportsJemalloc):
# Debian's static libjemalloc.a, linked by the host's gcc -static into a
# small threaded C program, the one real jemalloc binary of the allocator
# tests. (A Rust fixture would need librust-jemalloc-sys-dev in the musl
# stand-in, whose every package change rebuilds it for 17-30 minutes, and
# that crate's build script runs jemalloc's configure and make.)
# Idempotent: installs only what is missing. Run as root by provision.sh.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/env.sh"

apt_install_missing jemalloc libjemalloc-dev gcc libc6-dev
if ! ls /usr/lib/*/libjemalloc.a >/dev/null 2>&1; then
  echo "jemalloc: libjemalloc-dev installed no libjemalloc.a" >&2
  exit 1
fi
