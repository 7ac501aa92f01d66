#!/usr/bin/env bash
# A local Redis Cluster for the scale-out work (issue 20; docs/scaling.md): three masters on
# loopback ports 53801–53803, no replicas, no persistence, data in .local/redis-cluster/.
# A master that is down leaves its slots unserved; the others keep serving theirs
# (cluster-require-full-coverage no): for the cache, that node's keys are misses. Not used
# by `make test`.
#   scripts/redis-cluster.sh up|down|env|stop-node N|start-node N
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ports=(53801 53802 53803)   # the cluster bus adds 10,000
base="$root/.local/redis-cluster"

log() { echo "redis-cluster: $*" >&2; }
running() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }
# Whether the node's log, past its first $2 lines, says its port could not be bound.
port_taken() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -q "Address already in use"; }

# shellcheck source=scripts/lib/detached.sh
. "$root/scripts/lib/detached.sh"

start_node() {
  local port="$1" dir="$base/$1" attempt seen
  mkdir -p "$dir"
  running "$port" && return 0
  # The ports lie in Linux's ephemeral range: a client socket may hold one, and after it
  # closes its TIME_WAIT keeps the port for a minute ("bind: Address already in use", seen
  # once). Such a start is tried again for up to ~80 s.
  for attempt in $(seq 1 40); do
    seen=0
    [ -f "$dir/redis.log" ] && seen=$(wc -l <"$dir/redis.log")
    detached redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir" \
      --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 \
      --cluster-require-full-coverage no \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do
      running "$port" && return 0
      port_taken "$dir/redis.log" "$seen" && break
      sleep 0.1
    done
    port_taken "$dir/redis.log" "$seen" || break
    [ "$attempt" = 1 ] && log "node $port: the port is held by another socket; trying again for up to 80 s"
    sleep 2
  done
  log "node $port did not start; see $dir/redis.log"
  exit 1
}

stop_node() { redis-cli -h 127.0.0.1 -p "$1" shutdown nosave >/dev/null 2>&1 || true; }

up() {
  local port
  for port in "${ports[@]}"; do start_node "$port"; done
  if ! redis-cli -h 127.0.0.1 -p "${ports[0]}" cluster info | grep -q "cluster_state:ok"; then
    if redis-cli -h 127.0.0.1 -p "${ports[0]}" cluster info | grep -q "cluster_known_nodes:1"; then
      redis-cli --cluster create $(for port in "${ports[@]}"; do printf '127.0.0.1:%s ' "$port"; done) \
        --cluster-replicas 0 --cluster-yes >/dev/null
    fi
    for _ in $(seq 1 100); do
      redis-cli -h 127.0.0.1 -p "${ports[0]}" cluster info | grep -q "cluster_state:ok" && break
      sleep 0.1
    done
  fi
  redis-cli -h 127.0.0.1 -p "${ports[0]}" cluster info | grep -q "cluster_state:ok" \
    || { log "the cluster is not ok"; exit 1; }
  log "masters on 127.0.0.1:${ports[0]}, ${ports[1]}, ${ports[2]}"
}

down() {
  local port
  for port in "${ports[@]}"; do stop_node "$port"; done
  rm -rf "$base"
  log "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "export REDIS_CLUSTER_NODES=$(IFS=,; for port in "${ports[@]}"; do printf '127.0.0.1:%s,' "$port"; done | sed 's/,$//')" ;;
  stop-node) stop_node "${ports[$(( ${2:?node 1-3} - 1 ))]}" ;;
  start-node) start_node "${ports[$(( ${2:?node 1-3} - 1 ))]}" ;;
  *) echo "usage: $0 up|down|env|stop-node N|start-node N" >&2; exit 2 ;;
esac
