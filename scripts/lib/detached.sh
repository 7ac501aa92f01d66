# Sourced by scripts/services.sh and scripts/redis-cluster.sh.
# Runs a command that leaves a daemon behind with every inherited descriptor above 2
# closed: a daemon holding its starter's pipe open (a test runner's, say) would keep that
# starter waiting for end-of-file forever.
detached() {
  (
    for fd in $(ls /proc/self/fd); do
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
    done
    "$@"
  )
}
