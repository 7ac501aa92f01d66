#!/usr/bin/env bash
# A local Citus cluster for the scale-out work (issue 20; docs/scaling.md): a coordinator
# and two workers on loopback ports, data in .local/citus/. Builds Citus from the vendored
# tarball (../shared/vendor/citus-13.2.2.tar.gz) when it is not installed. Not used by
# `make test`.
#   scripts/citus.sh build|up|down|env|stop-worker N|start-worker N
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ports=(54340 54341 54342)         # coordinator, worker 1, worker 2
names=(coordinator worker1 worker2)
user=billing
tarball="${CITUS_TARBALL:-$root/../shared/vendor/citus-13.2.2.tar.gz}"
base="$root/.local/citus"

log() { echo "citus: $*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }
installed() { [ -f "$("$(pg_bin)/pg_config" --pkglibdir)/citus.so" ]; }

build() {
  installed && { log "citus is installed"; return 0; }
  [ "$(id -u)" = 0 ] || { log "building Citus needs root (apt-get, make install)"; exit 1; }
  [ -f "$tarball" ] || { log "no tarball at $tarball"; exit 1; }
  log "installing build dependencies (this may upgrade the PostgreSQL packages: restart clusters after)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-server-dev-15 liblz4-dev libzstd-dev \
    libkrb5-dev flex bison >/dev/null
  local work
  work="$(mktemp -d)"
  tar xzf "$tarball" -C "$work"
  log "building Citus (about 4 minutes on 2 cores)"
  (cd "$work"/citus-* && ./configure --without-libcurl >/dev/null && make -j"$(nproc)" >/dev/null && make install >/dev/null)
  rm -rf "$work"
  log "citus installed"
}

node_dir() { echo "$base/$1"; }

up() {
  installed || build
  local bin index name port data
  bin="$(pg_bin)"
  mkdir -p "$base"
  [ "$(id -u)" = 0 ] && chown postgres: "$base"
  for index in 0 1 2; do
    name="${names[$index]}"; port="${ports[$index]}"; data="$(node_dir "$name")"
    if [ ! -s "$data/PG_VERSION" ]; then
      if [ "$(id -u)" = 0 ]; then install -d -o postgres -m 700 "$data"; else install -d -m 700 "$data"; fi
      as_pg "$bin/initdb" -D "$data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
      cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base'
shared_preload_libraries = 'citus'
max_connections = 1000
max_prepared_transactions = 200
shared_buffers = 128MB
max_wal_size = 2GB
log_min_messages = warning
# Two-phase commits stay listed in pg_dist_transaction for a while: the scale tests count them.
citus.recover_2pc_interval = '10min'
CONF
    fi
    if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      as_pg "$bin/pg_ctl" -D "$data" -l "$base/$name.log" -w -t 60 start >/dev/null
      log "$name up on 127.0.0.1:$port"
    fi
    for db in billing billing_test; do
      psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" \
        | grep -q 1 || psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -c "CREATE DATABASE $db"
      psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -c "CREATE EXTENSION IF NOT EXISTS citus" >/dev/null
    done
  done
  for db in billing billing_test; do
    local coordinator=(psql -X -q -h 127.0.0.1 -p "${ports[0]}" -U "$user" -d "$db")
    "${coordinator[@]}" -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" >/dev/null
    for port in "${ports[1]}" "${ports[2]}"; do
      "${coordinator[@]}" -tAc "SELECT 1 FROM pg_dist_node WHERE nodeport = $port" | grep -q 1 \
        || "${coordinator[@]}" -c "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
    done
  done
  log "coordinator 127.0.0.1:${ports[0]}, workers ${ports[1]} and ${ports[2]}"
}

down() {
  local name bin
  bin="$(pg_bin)"
  for name in "${names[@]}"; do
    [ -s "$(node_dir "$name")/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$(node_dir "$name")" -m fast -w stop >/dev/null 2>&1 || true
  done
  log "stopped"
}

# One worker (1 or 2) stopped at once or started again: the scale tests' worker restart.
stop_worker() {
  as_pg "$(pg_bin)/pg_ctl" -D "$(node_dir "worker$1")" -m immediate -w stop >/dev/null
  log "worker$1 stopped"
}
start_worker() {
  as_pg "$(pg_bin)/pg_ctl" -D "$(node_dir "worker$1")" -l "$base/worker$1.log" -w -t 60 start >/dev/null
  log "worker$1 up"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  stop-worker) stop_worker "${2:?worker 1 or 2}" ;;
  start-worker) start_worker "${2:?worker 1 or 2}" ;;
  env) echo "export PGHOST=127.0.0.1 PGPORT=${ports[0]} PGUSER=$user PGDATABASE=billing BILLING_TEST_DATABASE=billing_test PG_SOCKET_DIR=$base" ;;
  *) echo "usage: $0 build|up|down|env|stop-worker N|start-worker N" >&2; exit 2 ;;
esac
