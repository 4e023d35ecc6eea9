# Shared helpers for scripts/: detect, install and start the services tests need.
# Each function is idempotent: it does nothing when the service already answers.

log() { echo "== $*" >&2; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${_LINNSTREAM_APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    _LINNSTREAM_APT_UPDATED=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return 0
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  local conf=/etc/postgresql/$version/main
  # Trust local TCP connections: a throwaway test server on loopback only.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf/pg_hba.conf"
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 0.5
  done
  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
  return 1
}

# curl and bash: tests/contracts/stream_docs.rs runs the documented curl commands.
ensure_curl() {
  if command -v curl >/dev/null 2>&1; then
    return 0
  fi
  log "installing curl"
  apt_install curl ca-certificates
}

# Label tests read barcodes with zbar and rasterise PDFs with poppler.
ensure_label_tools() {
  if command -v zbarimg >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 \
    && command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; then
    return 0
  fi
  log "installing zbar-tools and poppler-utils (label tests)"
  apt_install zbar-tools poppler-utils
}

# promtool (Debian's prometheus package): tests/observability/chart.rs checks the chart's
# alert rules with `promtool check rules` and fires them with `promtool test rules`. Only
# the tool is wanted: the package's server is not started (no init system runs it here).
ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    return 0
  fi
  log "installing prometheus (for promtool)"
  apt_install prometheus
}

# Headless Chromium (Debian's package) and playwright-core from npm, for the dashboard's
# browser tests (tests/browser/). playwright-core never downloads a browser of its own: the
# tests point it at /usr/bin/chromium.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Chromium"
    apt_install chromium fonts-dejavu-core
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js"
    apt_install nodejs npm
  fi
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    log "installing playwright-core (tests/browser)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
