#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts what the tests need
# (PostgreSQL, ...), then runs every test against the real services.
#
#   scripts/test.sh            # everything
#   scripts/test.sh store      # only tests whose name matches "store" (passed to cargo test)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/linnstream/target}
# Tests that need a real service fail (never skip) when it is missing.
export LINNSTREAM_TEST_REQUIRE_SERVICES=1

ensure_postgres
ensure_curl
# Headless Chromium and playwright-core: tests/admin/browser.rs drives the dashboard.
ensure_browser
ensure_label_tools
ensure_promtool
export LINNSTREAM_TEST_POSTGRES_URL=${LINNSTREAM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# A real kube-apiserver (+ etcd, kube-controller-manager) and one node (kubelet, containerd, kube-scheduler,
# kube-proxy), built once and cached.
scripts/test-cluster.sh install
scripts/test-cluster.sh install-node
scripts/test-cluster.sh tools
# The image the pod tests run (tests/cluster/pods.rs): the release binary, built with umoci and skopeo.
LINNSTREAM_TEST_IMAGE_TAR=$(scripts/image.sh)
export LINNSTREAM_TEST_IMAGE_TAR
export LINNSTREAM_K8S_WITH_NODE=1
if cluster_env=$(scripts/test-cluster.sh env 2>/dev/null) && grep -q LINNSTREAM_TEST_NODE= <<<"$cluster_env"; then
  log "using the test cluster (and its node) already running for this checkout"
else
  cluster_env=$(scripts/test-cluster.sh start)
  # Stop only a cluster this run started.
  trap 'scripts/test-cluster.sh stop' EXIT
fi
eval "$cluster_env"   # KUBECONFIG, LINNSTREAM_TEST_KUBECONFIG, LINNSTREAM_TEST_KUBECTL, LINNSTREAM_TEST_NODE...
scripts/test-cluster.sh load "$LINNSTREAM_TEST_IMAGE_TAR"

echo "== cargo test"
cargo test --all-targets "$@"
