#!/usr/bin/env bash
# Starts PostgreSQL node N (1 or 2) under Patroni, as the postgres user (PostgreSQL refuses
# to run as root): at first start from its template, later to rejoin the cluster after it
# died (Patroni rewinds it and follows the new primary).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/ports.sh"
n=$1
dir="${CLUSTER_DIR:-/tmp/sohoa-cluster}"
pg_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)}"
node="$dir/pg$n"
pg_port=$((PG_PORT + n - 1)); api_port=$((PATRONI_PORT + n - 1))
mkdir -p "$node"
sed -e "s|@NAME@|pg$n|g" -e "s|@DIR@|$node|g" -e "s|@PG_PORT@|$pg_port|g" \
    -e "s|@API_PORT@|$api_port|g" -e "s|@ETCD_PORT@|$ETCD_PORT|g" -e "s|@PG_BIN@|$pg_bin|g" \
    "$here/patroni.yml.in" >"$node/patroni.yml"
chown -R postgres: "$node"
# setpriv and env exec: the pid recorded is Patroni's own.
setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql \
    patroni "$node/patroni.yml" >>"$node/patroni.log" 2>&1 &
echo $! >"$node/patroni.pid"
echo "PostgreSQL node pg$n on 127.0.0.1:$pg_port (Patroni REST on $api_port)"
