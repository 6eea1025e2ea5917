#!/usr/bin/env bash
# Starts, on this one machine, a cluster shaped like production (see README.md beside this
# file): etcd; two PostgreSQL nodes managed by Patroni with synchronous replication;
# HAProxy sending database connections to whichever node Patroni says is the primary, and
# spreading HTTP requests over three `sohoa serve` processes. Everything lives under
# $CLUSTER_DIR (default /tmp/sohoa-cluster); `down.sh` stops it all.
#
# Needs the Debian packages etcd-server, patroni, haproxy and postgresql (15), and a built
# sohoa ($SOHOA_BIN, default target/release/sohoa, else target/debug/sohoa).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/ports.sh"

dir="${CLUSTER_DIR:-/tmp/sohoa-cluster}"
bin="${SOHOA_BIN:-}"
if [ -z "$bin" ]; then
    bin="$root/target/release/sohoa"
    [ -x "$bin" ] || bin="$root/target/debug/sohoa"
fi
pg_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)}"
export CLUSTER_DIR="$dir" PG_BIN="$pg_bin"
servers="${SOHOA_SERVERS:-3}"

missing=()
for c in etcd patroni haproxy; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]} (apt-get install etcd-server patroni haproxy)" >&2
    exit 1
fi
[ -x "$bin" ] || { echo "no sohoa binary at $bin (cargo build --release)" >&2; exit 1; }

mkdir -p "$dir"
[ -e "$dir/etcd.pid" ] && { echo "a cluster already runs in $dir (down.sh first)" >&2; exit 1; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2; shift 2
    for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    echo "timed out waiting for $what" >&2
    return 1
}

echo "etcd on 127.0.0.1:$ETCD_PORT"
etcd --name e1 --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "e1=http://127.0.0.1:$ETCD_PEER_PORT" >"$dir/etcd.log" 2>&1 &
echo $! >"$dir/etcd.pid"
wait_for 30 etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

for n in 1 2; do
    "$here/start-node.sh" "$n"
    # The first node bootstraps the cluster; the second then copies it as a standby.
    [ "$n" = 1 ] && wait_for 120 "pg1 to lead" curl -fsS "http://127.0.0.1:$PATRONI_PORT/primary"
done
wait_for 120 "a synchronous standby" sh -c \
    "curl -fsS http://127.0.0.1:$PATRONI_PORT/cluster http://127.0.0.1:$((PATRONI_PORT + 1))/cluster | grep -q sync_standby"

sed -e "s|@DIR@|$dir|g" -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    -e "s|@PG_PORT@|$PG_PORT|g" -e "s|@PG_PORT2@|$((PG_PORT + 1))|g" \
    -e "s|@API_PORT@|$PATRONI_PORT|g" -e "s|@API_PORT2@|$((PATRONI_PORT + 1))|g" \
    "$here/haproxy.cfg.in" >"$dir/haproxy.cfg"
for i in $(seq 1 "$servers"); do
    echo "    server s$i 127.0.0.1:$((HTTP_PORT + i)) check" >>"$dir/haproxy.cfg"
done
echo "HAProxy: PostgreSQL's primary on 127.0.0.1:$DB_PORT, sohoa on 127.0.0.1:$HTTP_PORT"
haproxy -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
echo $! >"$dir/haproxy.pid"
wait_for 60 "the primary through HAProxy" "$pg_bin/psql" -h 127.0.0.1 -p "$DB_PORT" -U postgres -Atc 'select 1'
"$pg_bin/psql" -h 127.0.0.1 -p "$DB_PORT" -U postgres -Atc "select 1 from pg_database where datname = 'sohoa'" | grep -q 1 \
    || "$pg_bin/psql" -h 127.0.0.1 -p "$DB_PORT" -U postgres -qc 'CREATE DATABASE sohoa'

export SOHOA_DATABASE_URL="postgres://postgres@127.0.0.1:$DB_PORT/sohoa"
# One data directory for every server: its data key (the same key seals and opens on each)
# and the uploaded files; on real hosts, a shared volume and a key file given to each.
export SOHOA_DATA_DIR="$dir/data"
export SOHOA_ADMIN_TOKEN="${SOHOA_ADMIN_TOKEN:-cluster-admin-token-0123456789}"
"$bin" migrate >"$dir/migrate.log" 2>&1
for i in $(seq 1 "$servers"); do
    port=$((HTTP_PORT + i))
    echo "sohoa serve s$i on 127.0.0.1:$port"
    "$bin" serve --listen "127.0.0.1:$port" --log-format json --db-wait 5 >"$dir/sohoa-$i.log" 2>&1 &
    echo $! >"$dir/sohoa-$i.pid"
done
for i in $(seq 1 "$servers"); do
    wait_for 60 "sohoa s$i" curl -fsS "http://127.0.0.1:$((HTTP_PORT + i))/readyz"
done
wait_for 30 "sohoa through HAProxy" curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz"
echo "up: http://127.0.0.1:$HTTP_PORT (admin token in SOHOA_ADMIN_TOKEN), state in $dir"
