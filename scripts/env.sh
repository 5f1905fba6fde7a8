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
