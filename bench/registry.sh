#!/usr/bin/env bash
# Registry benchmark: generate N citizens, import them (time and peak RSS), then measure over
# HTTP with wrk (Debian package `wrk`): the trivial-route ceiling, audited once-only look-ups
# by CCCD, and name searches. Loopback only; every run is bounded in time.
#
#   bench/registry.sh [CITIZENS] [sqlite|postgres]     (defaults: 14000000 sqlite)
#
# PostgreSQL: a database `sohoa_bench` is created on SOHOA_BENCH_POSTGRES_URL's server
# (default postgres://postgres@127.0.0.1:5432/test) and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-14000000}"
BACKEND="${2:-sqlite}"
WORK="${SOHOA_BENCH_DIR:-/tmp/sohoa-bench}"
TOKEN=bench-admin-token-0123456789
PORT=18097
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
mkdir -p "$WORK"
cargo build --release --quiet
BIN="$PWD/target/release/sohoa"

if [ ! -s "$WORK/gen-$N/citizens.csv" ]; then
    "$BIN" generate --citizens "$N" --enterprises 1000 --parcels 1000 --seed 2026 --out "$WORK/gen-$N"
fi

if [ "$BACKEND" = postgres ]; then
    ADMIN_URL="${SOHOA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
    psql "$ADMIN_URL" -qc 'DROP DATABASE IF EXISTS sohoa_bench WITH (FORCE)' -c 'CREATE DATABASE sohoa_bench'
    export SOHOA_DATABASE_URL="${ADMIN_URL%/*}/sohoa_bench"
else
    rm -rf "$WORK/data"
    export SOHOA_DATA_DIR="$WORK/data"
fi

echo "== import $N citizens ($BACKEND)"
/usr/bin/time -v "$BIN" import citizens "$WORK/gen-$N/citizens.csv" 2> "$WORK/import.time" | tail -n 1
grep -E 'indexes built|Elapsed|Maximum resident' "$WORK/import.time"
# The import leaves gigabytes for the kernel to write back: let that finish before the HTTP
# runs, whose audit commits each wait on the disk.
sync

SOHOA_ADMIN_TOKEN=$TOKEN "$BIN" --db-max-connections 16 serve --listen 127.0.0.1:$PORT --log warn --rate-limit 0 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 1; done
api() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
api -X POST "http://127.0.0.1:$PORT/api/v1/agencies" \
    -d '{"code":"BENCH","name_vi":"Cơ quan đo","name_en":"Bench agency","level":"city","unit_code":"79"}' >/dev/null
KEY=$(api -X POST "http://127.0.0.1:$PORT/api/v1/agencies/BENCH/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
api -X POST "http://127.0.0.1:$PORT/api/v1/agencies/BENCH/grants" \
    -d '{"registry":"citizens","purpose":"building-permit","fields":["full_name","permanent_address"],"legal_basis":"bench"}' >/dev/null

# 10,000 CCCDs spread over the file, and 2,000 name searches of the kinds people type.
python3 - "$WORK/gen-$N/citizens.csv" "$WORK" <<'PY'
import csv, random, sys, urllib.parse
random.seed(5)
src, out = sys.argv[1], sys.argv[2]
rows = []
with open(src, encoding="utf-8") as f:
    r = csv.reader(f); next(r)
    for i, row in enumerate(r):
        if i % 97 == 0:
            rows.append(row)
        if len(rows) >= 10000:
            break
open(f"{out}/ids.txt", "w").write("\n".join(r[0] for r in rows) + "\n")
paths = []
for row in rows[:2000]:
    name, parts = row[1], row[1].split()
    k = random.random()
    q = name if k < 0.4 else " ".join(parts[:2]) if k < 0.7 else name[:-1] if k < 0.85 else parts[0]
    unit = "" if random.random() < 0.7 else "&unit=" + row[5]
    paths.append("/api/v1/registry/citizens?purpose=bench&limit=20&q=" + urllib.parse.quote(q) + unit)
open(f"{out}/search_paths.txt", "w").write("\n".join(paths) + "\n")
PY

echo "== ceiling: GET /healthz, 64 connections"
wrk -t2 -c64 -d20s "http://127.0.0.1:$PORT/healthz" | grep -E 'Requests/sec|Latency'
echo "== audited look-ups by CCCD, 64 connections"
wrk -t2 -c64 -d30s -s bench/share.lua "http://127.0.0.1:$PORT" -- "$KEY" "$WORK/ids.txt" | grep -E 'Requests/sec|requests:|p50|p90|p99'
for c in 4 16; do
    echo "== name search, $c connections"
    wrk -t2 -c$c -d30s -s bench/search.lua "http://127.0.0.1:$PORT" -- "$TOKEN" "$WORK/search_paths.txt" | grep -E 'Requests/sec|requests:|p50|p90|p99'
done
kill $SERVER; wait $SERVER || true
if [ "$BACKEND" = postgres ]; then
    psql "$ADMIN_URL" -qc 'DROP DATABASE sohoa_bench WITH (FORCE)'
fi
