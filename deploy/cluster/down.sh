#!/usr/bin/env bash
# Stops what up.sh started, and (with --purge) removes its state.
set -uo pipefail
dir="${CLUSTER_DIR:-/tmp/sohoa-cluster}"
stop() { # stop PIDFILE SIGNAL
    [ -f "$1" ] || return 0
    local pid; pid=$(cat "$1")
    kill "-$2" "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$1"
}
for f in "$dir"/sohoa-*.pid; do stop "$f" TERM; done
stop "$dir/haproxy.pid" TERM
for n in "$dir"/pg*; do
    [ -d "$n" ] || continue
    stop "$n/patroni.pid" TERM
    # A node killed by a test may have left its PostgreSQL running.
    if [ -f "$n/data/postmaster.pid" ]; then
        kill -QUIT "$(head -n1 "$n/data/postmaster.pid")" 2>/dev/null
    fi
done
stop "$dir/etcd.pid" TERM
if [ "${1:-}" = "--purge" ]; then rm -rf "$dir"; fi
echo "down"
