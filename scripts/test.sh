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
# Headless Chromium and playwright-core: tests/dashboard_browser.rs drives the dashboard.
ensure_browser
ensure_label_tools
ensure_promtool
export LINNSTREAM_TEST_POSTGRES_URL=${LINNSTREAM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# A real kube-apiserver (+ etcd, kube-controller-manager) on loopback, built once and cached.
scripts/test-cluster.sh install
scripts/test-cluster.sh tools
if cluster_env=$(scripts/test-cluster.sh env 2>/dev/null); then
  log "using the test cluster already running for this checkout"
else
  cluster_env=$(scripts/test-cluster.sh start)
  # Stop only a cluster this run started.
  trap 'scripts/test-cluster.sh stop' EXIT
fi
eval "$cluster_env"   # KUBECONFIG, LINNSTREAM_TEST_KUBECONFIG, LINNSTREAM_TEST_KUBECTL

echo "== cargo test"
cargo test --all-targets "$@"
