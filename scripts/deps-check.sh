#!/usr/bin/env bash
# Dependency checks (run by .ci/run before the tests; runnable on their own):
#   cargo deny: licences on the allow-list in deny.toml, crates.io as the only source,
#     duplicate versions reported; and RustSec advisories when the database is at hand.
#   cargo machete: dependencies declared in Cargo.toml but never used.
# Licence, source and ban errors, machete findings and known advisories fail the run. A
# missing advisory database does not (CI may have no route to it): it is said in one line.
# The two tools are installed at pinned versions when missing (into ~/.cargo/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
CARGO_MACHETE_VERSION=0.9.2
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
# Where cargo-deny keeps the RustSec database (its default).
ADVISORY_DBS=$CARGO_HOME/advisory-dbs

# ensure TOOL VERSION: installs the crate TOOL at VERSION unless that version is on PATH.
ensure() {
    local tool=$1 version=$2 have
    # Through cargo, which also finds subcommands in ~/.cargo/bin when it is not on PATH.
    have=$(cargo "${tool#cargo-}" --version 2>/dev/null | awk '{print $NF}' || true)
    if [ "$have" != "$version" ]; then
        echo "== installing $tool $version${have:+ (found $have)}"
        cargo install --locked "$tool@$version"
    fi
}

ensure cargo-deny "$CARGO_DENY_VERSION"
ensure cargo-machete "$CARGO_MACHETE_VERSION"

echo "== cargo deny check licenses bans sources"
cargo deny --locked check --hide-inclusion-graph licenses bans sources

echo "== cargo deny check advisories"
fetch_log=$(mktemp)
trap 'rm -f "$fetch_log"' EXIT
if timeout 300 cargo deny fetch db >"$fetch_log" 2>&1; then
    cargo deny --locked check advisories
elif compgen -G "$ADVISORY_DBS/advisory-db-*/crates" >/dev/null; then
    db=$(dirname "$(compgen -G "$ADVISORY_DBS/advisory-db-*/crates" | head -n 1)")
    echo "advisories: the RustSec database could not be fetched; checking against the copy in $db"
    if ! cargo deny --locked --offline check advisories 2>&1 | tee "$fetch_log"; then
        # cargo-deny refuses a copy over 90 days old: no network is no reason to fail CI.
        grep -q 'repository is stale' "$fetch_log" || exit 1
        echo "advisories: NOT CHECKED: the copy in $db is too old to trust and could not be refreshed"
    fi
else
    # git's own "fatal: ..." line says why in the fewest words (e.g. the host not resolved).
    reason=$(grep -m 1 '^fatal:' "$fetch_log" || tail -n 1 "$fetch_log")
    echo "advisories: NOT CHECKED: the RustSec advisory database could not be fetched (${reason:-no reason given}) and no copy is in $ADVISORY_DBS"
fi

echo "== cargo machete"
# --with-metadata also reads dev-dependencies and renamed crates.
cargo machete --with-metadata
