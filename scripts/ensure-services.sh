#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up on this machine (Debian or Ubuntu, as root):
# PostgreSQL with the pgvector extension, Redis, and the Chromium the playground's end-to-end tests
# drive. It installs what is missing (postgresql, redis-server, chromium, the distribution's pgvector
# package), starts both servers, and lets the postgres user connect
# from localhost without a password, as TEST_DATABASE_URL's default does. Idempotent and quick when all
# is in place; `npm test` runs it by itself when it finds the services missing.
# Where pgvector is not packaged (Debian bookworm), it is built from the source package of the next
# release (trixie), reusing the URI of the machine's own apt source.
set -euo pipefail

log() { printf '[services] %s\n' "$*"; }

pg_major() { ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

install_packages() {
  local need=()
  [ -n "$(pg_major)" ] && command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  # Debian's own build, headless-capable; test/e2e/playground drives it through playwright-core.
  command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ] || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt_install "${need[@]}"
  fi
}

start_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(pg_major)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
}

start_redis() {
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}

pgvector_available() {
  local major
  major=$(pg_major)
  [ -f "/usr/share/postgresql/${major}/extension/vector.control" ]
}

apt_uri() {
  # The URI of the machine's main Debian source, from deb822 or one-line sources.
  local uri=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources | grep -i debian | grep -v security | head -n 1 | awk '{print $2}')
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(grep -E '^deb\s' /etc/apt/sources.list | grep -v security | head -n 1 | awk '{print $2}')
  fi
  printf '%s' "$uri"
}

install_pgvector() {
  local major
  major=$(pg_major)
  log "installing pgvector for PostgreSQL ${major}"
  apt_install "postgresql-${major}-pgvector" 2>/dev/null || build_pgvector
}

build_pgvector() {
  local major uri work
  major=$(pg_major)
  uri=$(apt_uri)
  if [ -z "$uri" ]; then
    echo "Cannot find the machine's apt source URI to fetch the pgvector source package from." >&2
    exit 1
  fi
  log "building pgvector for PostgreSQL ${major} from Debian trixie's source package"
  cat >/etc/apt/sources.list.d/ragnest-trixie-src.sources <<SRC
Types: deb-src
URIs: ${uri}
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_install "postgresql-server-dev-${major}" make gcc dpkg-dev
  work=$(mktemp -d)
  (cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1)
  local src
  src=$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'pgvector*' | head -n 1)
  make -s -C "$src" PG_CONFIG="/usr/lib/postgresql/${major}/bin/pg_config" >/dev/null
  make -s -C "$src" PG_CONFIG="/usr/lib/postgresql/${major}/bin/pg_config" install >/dev/null
  rm -rf "$work"
}

allow_local_postgres() {
  # The suite connects as postgres@127.0.0.1 with no password (TEST_DATABASE_URL's default). A fresh
  # cluster asks for one over TCP, so localhost is trusted for that user: this is a test machine.
  if psql "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=3" -w -qtAc 'select 1' >/dev/null 2>&1; then
    return
  fi
  local hba
  hba="/etc/postgresql/$(pg_major)/main/pg_hba.conf"
  log "trusting the postgres user from localhost in ${hba}"
  sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(pg_major)" main reload
}

install_packages
start_postgres
start_redis
pgvector_available || install_pgvector
pgvector_available || { echo "pgvector did not install" >&2; exit 1; }
allow_local_postgres
log "PostgreSQL $(pg_major) with pgvector, and Redis, are up; Chromium is installed"
