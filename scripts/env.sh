# Shared locations of the test infrastructure; sourced by the other scripts.
# Keep in step with internal/testinfra.
: "${MUSLRUST_CHEF_TEST_ROOT:=/var/lib/muslrust-chef-test}"   # kept between runs on one machine
: "${MUSLRUST_CHEF_TEST_RUN:=/run/muslrust-chef-test}"        # sockets, pid files, logs
: "${MUSLRUST_CHEF_TEST_REGISTRY:=127.0.0.1:5123}"
: "${MUSLRUST_CHEF_TEST_BUILDKIT_HOST:=unix://${MUSLRUST_CHEF_TEST_RUN}/buildkitd.sock}"
: "${BUILDKIT_VERSION:=v0.34.2}"
export MUSLRUST_CHEF_TEST_ROOT MUSLRUST_CHEF_TEST_RUN MUSLRUST_CHEF_TEST_REGISTRY MUSLRUST_CHEF_TEST_BUILDKIT_HOST BUILDKIT_VERSION
MUSLRUST_CHEF_TEST_BIN="${MUSLRUST_CHEF_TEST_ROOT}/bin"
export PATH="${MUSLRUST_CHEF_TEST_BIN}:${PATH}"

# apt_install_missing TAG PACKAGE...: installs the packages not yet
# installed (one apt-get update first), so a provisioned machine is not
# touched again.
apt_install_missing() {
  local tag=$1; shift
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "$tag: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
