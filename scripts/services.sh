#!/usr/bin/env bash
# Local PostgreSQL and Redis for development and tests: project-local data, own ports,
# never touching a system instance.
#   scripts/services.sh up|down|status|env|stop-postgres|start-postgres|stop-redis|start-redis
#   scripts/services.sh citus-build|citus-up|citus-down|cluster-up|cluster-down (make test-scale)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_port="${BILLING_PG_PORT:-54329}"
redis_port="${BILLING_REDIS_PORT:-63799}"
pg_user="billing"
databases=(billing billing_test)
local_dir="$root/.local"
run_dir="$local_dir/run"
log_dir="$local_dir/log"
redis_dir="$local_dir/redis"

log() { echo "services: $*" >&2; }

# shellcheck source=scripts/lib/detached.sh
. "$root/scripts/lib/detached.sh"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] || { log "PostgreSQL binaries not found"; exit 1; }
  echo "$dir"
}

install_missing() {
  local wanted=() pkg
  for pkg in postgresql redis-server libpq-dev libhiredis-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || wanted+=("$pkg")
  done
  [ ${#wanted[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || { log "missing packages: ${wanted[*]} (install them with apt-get as root)"; exit 1; }
  log "installing ${wanted[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
}

# The data directory must be reachable by the user that runs PostgreSQL; a checkout under
# a private home directory is not, so the cluster then lives under /var/tmp instead.
pg_data_dir() {
  local dir="$local_dir/pg"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
    dir="/var/tmp/billing-service-$(echo "$root" | cksum | cut -d' ' -f1)/pg"
  fi
  echo "$dir"
}

pg_socket_dir() { echo "$(dirname "$(pg_data_dir)")/run"; }

pg_running() {
  "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres 2>/dev/null
}

start_postgres() {
  local bin data sock
  bin="$(pg_bin)"; data="$(pg_data_dir)"; sock="$(pg_socket_dir)"
  mkdir -p "$(dirname "$data")" "$sock" "$log_dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$(dirname "$data")" "$sock"; fi
  if [ ! -s "$data/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $data"
    if [ "$(id -u)" = 0 ]; then install -d -o postgres -m 700 "$data"; else install -d -m 700 "$data"; fi
    as_pg "$bin/initdb" -D "$data" -U "$pg_user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$sock'
shared_buffers = 256MB
# Bulk work (the monthly reset writes millions of rows) must not checkpoint every few seconds.
max_wal_size = 4GB
checkpoint_timeout = 15min
log_min_messages = warning
CONF
  fi
  if ! pg_running; then
    rm -f "$data/postmaster.pid"
    # The whole test suite runs in parallel (each app with its pool and lanes, some tests
    # start real servers): 400 connections was reached at its peak.
    detached as_pg "$bin/pg_ctl" -D "$data" -l "$(dirname "$data")/postgres.log" -o "-c max_connections=1000" \
      -w -t 60 start >/dev/null
    log "PostgreSQL up on 127.0.0.1:$pg_port"
  fi
  local name
  for name in "${databases[@]}"; do
    if ! psql_cmd -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
      psql_cmd -d postgres -qc "CREATE DATABASE $name" >/dev/null
    fi
  done
}

stop_postgres() {
  local data
  data="$(pg_data_dir)"
  [ -s "$data/PG_VERSION" ] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  log "PostgreSQL stopped"
}

psql_cmd() { psql -X -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$@"; }

redis_running() { redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; }

start_redis() {
  mkdir -p "$redis_dir" "$run_dir" "$log_dir"
  if redis_running; then
    [ -S "$run_dir/redis.sock" ] && return 0
    # Started before it listened on its socket too: a cache, so a restart costs nothing.
    stop_redis
  fi
  # A cache only: no persistence, so a restart starts empty, as after a real outage.
  # Also on a Unix socket: a co-located server skips the TCP/IP stack (`print_env`).
  detached redis-server --bind 127.0.0.1 --port "$redis_port" --unixsocket "$run_dir/redis.sock" --unixsocketperm 700 \
    --daemonize yes --dir "$redis_dir" --pidfile "$run_dir/redis.pid" --logfile "$log_dir/redis.log" --save "" \
    --appendonly no >/dev/null
  local i
  for i in $(seq 1 50); do redis_running && break; sleep 0.1; done
  redis_running || { log "Redis did not start; see $log_dir/redis.log"; exit 1; }
  log "Redis up on 127.0.0.1:$redis_port"
}

stop_redis() {
  redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  log "Redis stopped"
}

print_env() {
  cat <<ENV
export PGHOST=127.0.0.1 PGPORT=$pg_port PGUSER=$pg_user PGDATABASE=billing
export BILLING_TEST_DATABASE=billing_test
export REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port
export PG_SOCKET_DIR=$(pg_socket_dir) REDIS_SOCKET=$run_dir/redis.sock
ENV
}

status() {
  if pg_running; then echo "postgres: up (127.0.0.1:$pg_port, data $(pg_data_dir))"; else echo "postgres: down"; fi
  if redis_running; then echo "redis: up (127.0.0.1:$redis_port)"; else echo "redis: down"; fi
}

case "${1:-}" in
  up) install_missing; start_postgres; start_redis ;;
  down) stop_redis; stop_postgres ;;
  status) status ;;
  env) print_env ;;
  start-postgres) start_postgres ;;
  stop-postgres) stop_postgres ;;
  start-redis) start_redis ;;
  stop-redis) stop_redis ;;
  # The scale-out engines (make test-scale): a Citus coordinator and two workers, a Redis Cluster.
  citus-build) "$root/scripts/citus.sh" build ;;
  citus-up) "$root/scripts/citus.sh" up ;;
  citus-down) "$root/scripts/citus.sh" down ;;
  cluster-up) "$root/scripts/redis-cluster.sh" up ;;
  cluster-down) "$root/scripts/redis-cluster.sh" down ;;
  *) echo "usage: $0 up|down|status|env|start-postgres|stop-postgres|start-redis|stop-redis|citus-build|citus-up|citus-down|cluster-up|cluster-down" >&2; exit 2 ;;
esac
