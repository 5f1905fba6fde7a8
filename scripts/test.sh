#!/usr/bin/env bash
# The kit's test command: checks the machine, provisions it, starts the test
# services and runs every test with MUSLRUST_CHEF_INTEGRATION=1, so missing
# infrastructure fails instead of skipping. Works as root and through sudo
# (run as another user, it re-runs itself through sudo).
#
#   scripts/test.sh [all|check|prepare|run]
#     all      (default) check, prepare, run
#     check    only the prerequisites: Debian 12 on amd64, Go at least
#              go.mod's version, free disk, root or sudo
#     prepare  check, then scripts/provision.sh and scripts/services.sh start
#     run      check, then go run mage.go test
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"

phase=${1:-all}
case "$phase" in
  all|check|prepare|run) ;;
  *) echo "usage: scripts/test.sh [all|check|prepare|run]" >&2; exit 2 ;;
esac

# Free space the tests need where their state lives (Debian packages, the
# Docker, registry and BuildKit state, Go's caches) and in the temp dir.
min_state_gib=15
min_tmp_gib=5
state_dir=${MUSLRUST_CHEF_TEST_ROOT:-/var/lib/muslrust-chef-test}
tmp_dir=${TMPDIR:-/tmp}

# sudo's secure_path usually lacks Go; the official tarball's place is tried.
find_go() {
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  local g
  for g in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    if [ -x "$g" ]; then echo "$g"; return; fi
  done
}

# existing_parent PATH: PATH or its nearest existing ancestor, for df.
existing_parent() {
  local p=$1
  while [ ! -e "$p" ]; do p=$(dirname "$p"); done
  echo "$p"
}

free_gib() { df -Pk "$1" | awk 'NR==2 {print int($4 / 1048576)}'; }

check() {
  local missing=()
  local os_id="" os_version="" os_name="unknown"
  if [ -r /etc/os-release ]; then
    os_id=$(. /etc/os-release && echo "${ID:-}")
    os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
    os_name=$(. /etc/os-release && echo "${PRETTY_NAME:-$ID $VERSION_ID}")
  fi
  if [ "$os_id" != debian ] || [ "$os_version" != 12 ]; then
    missing+=("Debian 12 (this is $os_name; provisioning uses Debian 12's packages)")
  fi
  local arch
  arch=$(uname -m)
  if [ "$arch" != x86_64 ]; then
    missing+=("an amd64 machine (this is $arch; the Rust fixtures are x86_64)")
  fi

  local want go have
  want=$(awk '$1 == "go" {print $2; exit}' go.mod)
  go=$(find_go)
  if [ -z "$go" ]; then
    missing+=("Go >= $want (no go on PATH nor in /usr/local/go/bin; install it from go.dev/dl into /usr/local/go)")
  else
    # The local toolchain, not one GOTOOLCHAIN would download.
    have=$(GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null | sed 's/^go//; s/[^0-9.].*//')
    if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
      missing+=("Go >= $want (found ${have:-an unusable go} at $go; install Go $want or newer from go.dev/dl)")
    fi
  fi

  local sp tp sd td sf tf
  sp=$(existing_parent "$state_dir")
  tp=$(existing_parent "$tmp_dir")
  sd=$(stat -c %d "$sp"); td=$(stat -c %d "$tp")
  sf=$(free_gib "$sp"); tf=$(free_gib "$tp")
  if [ "$sd" = "$td" ]; then
    if [ "$sf" -lt $((min_state_gib + min_tmp_gib)) ]; then
      missing+=("$((min_state_gib + min_tmp_gib)) GiB free on the disk holding $state_dir and $tmp_dir (${sf} GiB free)")
    fi
  else
    if [ "$sf" -lt "$min_state_gib" ]; then
      missing+=("$min_state_gib GiB free on the disk holding $state_dir (${sf} GiB free)")
    fi
    if [ "$tf" -lt "$min_tmp_gib" ]; then
      missing+=("$min_tmp_gib GiB free in $tmp_dir (${tf} GiB free)")
    fi
  fi

  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    missing+=("root (run this as root, or install sudo)")
  fi

  if [ ${#missing[@]} -gt 0 ]; then
    local joined
    joined=$(printf '; %s' "${missing[@]}")
    echo "scripts/test.sh: missing: ${joined:2}" >&2
    exit 1
  fi
  echo "scripts/test.sh: prerequisites met (Debian 12, $arch, Go $have >= $want, ${sf} GiB free)"
  export PATH="$(dirname "$go"):$PATH"
}

check
[ "$phase" = check ] && exit 0

if [ "$(id -u)" != 0 ]; then
  # Keep the caller's PATH (their Go) across sudo's secure_path, and the
  # settings sudo's env_reset would drop.
  keep=("PATH=$PATH")
  for v in TMPDIR GOFLAGS GOPROXY GOTOOLCHAIN $(compgen -v MUSLRUST_CHEF_); do
    if [ -n "${!v:-}" ]; then keep+=("$v=${!v}"); fi
  done
  exec sudo env "${keep[@]}" bash "$here/test.sh" "$phase"
fi

# Go's caches live under $HOME, which a bare "env -i" or init system may not set.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME

# A checkout owned by another user makes git refuse to stamp VCS info into
# binaries when root builds them.
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
# rustup's cargo, when the machine has one, wins over Debian's.
if [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

if [ "$phase" = all ] || [ "$phase" = prepare ]; then
  bash "$here/provision.sh"
  # Services stay up afterwards: they may be shared with other test runs.
  bash "$here/services.sh" start
fi

if [ "$phase" = all ] || [ "$phase" = run ]; then
  export MUSLRUST_CHEF_INTEGRATION=1
  go run mage.go test
fi
