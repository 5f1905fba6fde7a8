#!/usr/bin/env bash
# Starts (or stops) dockerd, a registry on 127.0.0.1 and buildkitd for the tests.
# "start" is idempotent: a service already answering is left alone.
# "stop" ends only what this script started (it keeps pid files).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
run="$MUSLRUST_CHEF_TEST_RUN"
mkdir -p "$run" "$MUSLRUST_CHEF_TEST_ROOT"

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "services: $name did not come up; see $run/$name.log" >&2
  tail -n 20 "$run/$name.log" >&2 || true
  return 1
}

start_bg() { # name, command...
  local name=$1; shift
  setsid "$@" >"$run/$name.log" 2>&1 < /dev/null &
  echo $! >"$run/$name.pid"
}

start() {
  if ! docker -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
    echo "services: starting dockerd"
    start_bg dockerd /usr/sbin/dockerd
    wait_for dockerd docker -H unix:///var/run/docker.sock version
  fi

  if ! curl -fsS "http://$MUSLRUST_CHEF_TEST_REGISTRY/v2/" >/dev/null 2>&1; then
    echo "services: starting registry on $MUSLRUST_CHEF_TEST_REGISTRY"
    mkdir -p "$MUSLRUST_CHEF_TEST_ROOT/registry"
    cat >"$run/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $MUSLRUST_CHEF_TEST_ROOT/registry
  delete:
    enabled: true
http:
  addr: $MUSLRUST_CHEF_TEST_REGISTRY
YML
    start_bg registry docker-registry serve "$run/registry.yml"
    wait_for registry curl -fsS "http://$MUSLRUST_CHEF_TEST_REGISTRY/v2/"
  fi

  local sock=${MUSLRUST_CHEF_TEST_BUILDKIT_HOST#unix://}
  if ! buildctl --addr "$MUSLRUST_CHEF_TEST_BUILDKIT_HOST" debug workers >/dev/null 2>&1; then
    echo "services: starting buildkitd at $MUSLRUST_CHEF_TEST_BUILDKIT_HOST"
    rm -f "$sock"
    cat >"$run/buildkitd.toml" <<TOML
[registry."$MUSLRUST_CHEF_TEST_REGISTRY"]
  http = true
  insecure = true
TOML
    start_bg buildkitd buildkitd --config "$run/buildkitd.toml" \
      --addr "$MUSLRUST_CHEF_TEST_BUILDKIT_HOST" \
      --root "$MUSLRUST_CHEF_TEST_ROOT/buildkit" \
      --oci-worker=true --containerd-worker=false
    wait_for buildkitd buildctl --addr "$MUSLRUST_CHEF_TEST_BUILDKIT_HOST" debug workers
  fi
  echo "services: dockerd, registry $MUSLRUST_CHEF_TEST_REGISTRY, buildkitd $MUSLRUST_CHEF_TEST_BUILDKIT_HOST are up"
}

stop() {
  for name in buildkitd registry dockerd; do
    local pidfile="$run/$name.pid"
    [ -f "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
