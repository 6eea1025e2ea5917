#!/usr/bin/env bash
# A/B comparison of two `sohoa` binaries on SQLite (the embedded default), three workloads:
#
#   registry      audited look-ups `GET /api/v1/share/citizens/{cccd}?purpose=...`, driven by
#                 wrk with bench/share.lua (64 connections, 20 s), as bench/registry.sh does;
#   applications  durable submissions, bench/applications.py (128 clients, 15 s);
#   queue         the officers' queue, pages of 50, bench/queue.py (8 clients, 15 s).
#
#   bench/compare.sh BASE_BIN NEW_BIN [ROUNDS]        (ROUNDS defaults to 4)
#
# Each workload runs BASE, NEW, then NEW, BASE, and so on, ROUNDS times each, every run on a
# fresh server process started on the same starting data, so drift of the machine over the
# comparison, and the handicap of running second in a pair, fall on both binaries alike (use
# an even number of rounds). It prints each run's throughput and p50/p99, and how much of the CPU
# other processes took during it; then per binary the median and the spread (max - min over
# the median), and NEW's change against BASE in percent. Runs of one binary on this 2-core
# machine move by ±5-15% on a quiet machine (BENCHMARKS.md), far more beside a build: read a
# change smaller than the spread as noise, and add rounds rather than trust one pair.
#
# Time on this 2-core machine: about 15 s to prepare, then about 2 minutes a round (ROUNDS=1
# 2 min 20 s, ROUNDS=3 6 min 30 s), so up to ROUNDS=8 fits in 20 minutes. Sizes:
# - registry: 200,000 citizens (`sohoa generate --seed 2026`, once, shared), not the
#   14,000,000 of bench/registry.sh, whose import alone takes 2-3 minutes and 1.5 GB. The CSV is
#   imported once per binary, so each binary runs on a database its own migrations and import
#   made (the schema may differ between them); the agency, its API key and its grant are set
#   up then too. Each run starts on a fresh copy of that database, because every look-up
#   appends an audit entry and the audit log's size and index merges move the figures. At this
#   size the registry fits in memory: the figures say how the request path compares, not what
#   14 million citizens would give.
# - applications: the script's own 64 residents, on a fresh database each run.
# - queue: 100,000 applications in one agency, not BENCHMARKS.md's 1,000,000: bench/queue.py
#   seeds a fresh database every run, and seeding grows faster than the count (8 s for
#   100,000, 34 s for 300,000 here), so a million would take minutes per run. Pages are
#   keyset-paged over indexes: a page costs about the same at either size.
#
# The Python scripts drive the server with `sohoa bench load` of the binary under test, so a
# change to that load generator itself would show in the comparison too.
#
# Sizes and durations can be changed through SOHOA_COMPARE_CITIZENS, SOHOA_COMPARE_QUEUE,
# SOHOA_COMPARE_SECONDS (registry runs) and SOHOA_COMPARE_PY_SECONDS (the Python ones).
# Needs wrk (Debian package `wrk`), curl and python3. Nothing is built: pass release binaries.
# Every server listens on a port the kernel picks; servers and data are removed on exit.
set -euo pipefail

usage() { echo "usage: $0 BASE_BIN NEW_BIN [ROUNDS]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
BASE_BIN=$(realpath "$1")
NEW_BIN=$(realpath "$2")
ROUNDS=${3:-4}
[ -x "$BASE_BIN" ] && [ -x "$NEW_BIN" ] || { echo "not executable: $BASE_BIN or $NEW_BIN" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || usage
for tool in wrk curl python3 setsid; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (wrk: apt-get install wrk)" >&2; exit 2; }
done

CITIZENS=${SOHOA_COMPARE_CITIZENS:-200000}
QUEUE_COUNT=${SOHOA_COMPARE_QUEUE:-100000}
WRK_SECONDS=${SOHOA_COMPARE_SECONDS:-20}
PY_SECONDS=${SOHOA_COMPARE_PY_SECONDS:-15}
TOKEN=bench-admin-token-0123456789
BENCH=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sohoa-compare.XXXXXX")
RESULTS="$WORK/results.tsv"
# The Python scripts make their databases with tempfile: keeping them under $WORK means the
# trap removes them too if a run is cut short.
mkdir -p "$WORK/tmp"
export TMPDIR="$WORK/tmp"

# Every long-running child gets a session of its own (setsid), so that the trap can end it
# together with the servers it started (the Python scripts' servers are their children), by
# its process group id, and only those.
LIVE=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pg in "${LIVE[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
    for pg in "${LIVE[@]}"; do
        for _ in $(seq 1 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pg" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget() { local pg; local keep=(); for pg in "${LIVE[@]}"; do [ "$pg" = "$1" ] || keep+=("$pg"); done; LIVE=("${keep[@]}"); }

# Runs a command in a session of its own and waits for it; `wait` (rather than a foreground
# command) lets a signal reach the trap at once.
run() {
    setsid "$@" &
    local pid=$! rc=0
    LIVE+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}

# The machine is shared (builds, the other engineer's tests), and another process taking CPU
# during a run is the usual cause of an outlier. cpu_mark and others_pct give the share of
# the machine's CPU (over all cores, steal and idle aside) that other processes used
# during a run. Not counted as others: this script and the children it has reaped (by the end
# of a run, its server and load generator), and kernel threads (the disk's and the network's
# work, most of it done for the run itself).
cpu_ticks() {
    python3 - "$$" <<'PY'
import os, sys
cpu = [int(x) for x in open("/proc/stat").readline().split()[1:]]
def times(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[1]), sum(int(x) for x in f[11:15])  # ppid; utime, stime, cutime, cstime
kernel = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        ppid, t = times(pid)
    except (OSError, IndexError):
        continue
    if pid == "2" or ppid == 2:
        kernel += t
# user, nice, system, irq, softirq: a task's ticks in interrupts count in its own time too
print(sum(cpu[0:3]) + cpu[5] + cpu[6], sum(cpu), times(sys.argv[1])[1], kernel)
PY
}
cpu_mark() { read -r MARK_BUSY MARK_TOTAL MARK_OURS MARK_KERNEL <<< "$(cpu_ticks)"; }
others_pct() {
    local busy total ours kernel
    read -r busy total ours kernel <<< "$(cpu_ticks)"
    local pct=$(( 100 * ((busy - MARK_BUSY) - (ours - MARK_OURS) - (kernel - MARK_KERNEL)) / (total - MARK_TOTAL) ))
    # Ticks of a child reaped just after the mark count in `ours` but not in `busy` of the
    # window: a quiet run can come out a point below zero, which means none.
    echo $(( pct < 0 ? 0 : pct ))
}

# start_server BIN DATA_DIR: sets SERVER (its pid and process group) and URL. The server binds
# port 0 and logs the address the kernel gave it; its request log (sohoa_web, info) stays off,
# as in bench/registry.sh, since writing it would cost the server a share of the cores.
start_server() {
    local bin=$1 dir=$2 log="$2.log" addr=""
    SOHOA_ADMIN_TOKEN=$TOKEN SOHOA_DATA_DIR=$dir setsid "$bin" --db-max-connections 16 serve \
        --listen 127.0.0.1:0 --log-format json --log 'warn,sohoa=info,sohoa_web=warn' --rate-limit 0 \
        >/dev/null 2>"$log" &
    SERVER=$!
    LIVE+=("$SERVER")
    for _ in $(seq 1 300); do
        addr=$(grep -so '"addr":"[^"]*"' "$log" | head -n 1 | cut -d'"' -f4 || true)
        [ -n "$addr" ] && break
        kill -0 "$SERVER" 2>/dev/null || { echo "server $bin did not start:" >&2; cat "$log" >&2; exit 1; }
        sleep 0.2
    done
    [ -n "$addr" ] || { echo "server $bin gave no address:" >&2; cat "$log" >&2; exit 1; }
    URL="http://$addr"
    for _ in $(seq 1 100); do curl -fs "$URL/readyz" >/dev/null && return 0; sleep 0.1; done
    echo "server $bin not ready at $URL" >&2; exit 1
}

stop_server() {
    kill -TERM -- "-$SERVER" 2>/dev/null || true
    wait "$SERVER" || true
    forget "$SERVER"
}

# record WORKLOAD LABEL ROUND PER_SECOND P50_MS P99_MS OTHERS_PCT
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"
    printf '  %-12s %-4s round %-2s %10.0f req/s   p50 %7.2f ms   p99 %7.2f ms   CPU of other processes: %s%%\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}

label_bin() { if [ "$1" = BASE ]; then echo "$BASE_BIN"; else echo "$NEW_BIN"; fi; }

# Which binary runs first in round R: BASE in odd rounds, NEW in even ones. The second run of
# a pair is slower than the first more often than not (the first run's writes are still
# reaching the disk, its memory still being handed back): with BASE always first, NEW lost
# 5-15% to two identical binaries' worth of code (19th session, BENCHMARKS.md). Alternating
# the order gives both the same share of second places; use an even number of rounds.
pair_order() { if [ $(( $1 % 2 )) -eq 1 ]; then echo "BASE NEW"; else echo "NEW BASE"; fi; }

echo "BASE: $BASE_BIN ($(sha256sum "$BASE_BIN" | cut -c1-12))"
echo "NEW:  $NEW_BIN ($(sha256sum "$NEW_BIN" | cut -c1-12))"
echo "rounds: $ROUNDS; citizens: $CITIZENS; queue: $QUEUE_COUNT applications; $(nproc) CPUs"
T0=$(date +%s)

# ---- registry: audited look-ups by CCCD (wrk + bench/share.lua)
echo "== registry: preparing $CITIZENS citizens"
run "$BASE_BIN" generate --citizens "$CITIZENS" --enterprises 1000 --parcels 1000 --seed 2026 \
    --out "$WORK/gen" >/dev/null
# 10,000 CCCDs spread evenly through the file (bench/registry.sh takes every 97th of the first
# 970,000 rows; at this size that would be 2,000).
python3 - "$WORK/gen/citizens.csv" "$WORK/ids.txt" <<'PY'
import csv, sys
with open(sys.argv[1], encoding="utf-8") as f:
    rows = [row[0] for i, row in enumerate(csv.reader(f)) if i > 0]
step = max(1, len(rows) // 10000)
open(sys.argv[2], "w").write("\n".join(rows[::step][:10000]) + "\n")
PY
api() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
for L in BASE NEW; do
    bin=$(label_bin "$L")
    SOHOA_DATA_DIR="$WORK/golden-$L" run "$bin" import citizens "$WORK/gen/citizens.csv" >/dev/null 2>"$WORK/import-$L.log" \
        || { cat "$WORK/import-$L.log" >&2; exit 1; }
    start_server "$bin" "$WORK/golden-$L"
    api -X POST "$URL/api/v1/agencies" \
        -d '{"code":"BENCH","name_vi":"Cơ quan đo","name_en":"Bench agency","level":"city","unit_code":"79"}' >/dev/null
    api -X POST "$URL/api/v1/agencies/BENCH/keys" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' > "$WORK/key-$L"
    api -X POST "$URL/api/v1/agencies/BENCH/grants" \
        -d '{"registry":"citizens","purpose":"building-permit","fields":["full_name","permanent_address"],"legal_basis":"bench"}' >/dev/null
    stop_server
    rm -f "$WORK/golden-$L.log"
    echo "  $L: imported and set up ($(du -sh "$WORK/golden-$L" | cut -f1))"
done

echo "== registry: audited look-ups, wrk -t2 -c64 -d${WRK_SECONDS}s -s bench/share.lua"
for r in $(seq 1 "$ROUNDS"); do
    for L in $(pair_order "$r"); do
        bin=$(label_bin "$L")
        rm -rf "$WORK/run"
        cp -a "$WORK/golden-$L" "$WORK/run"
        # The copy leaves dirty pages: let them reach the disk before a run whose every
        # response waits for an fdatasync (bench/registry.sh syncs after its import likewise).
        sync
        cpu_mark
        start_server "$bin" "$WORK/run"
        run wrk -t2 -c64 -d"${WRK_SECONDS}s" -s "$BENCH/share.lua" "$URL" -- "$(cat "$WORK/key-$L")" "$WORK/ids.txt" \
            > "$WORK/wrk.out"
        stop_server
        others=$(others_pct)
        rm -rf "$WORK/run" "$WORK/run.log"
        python3 - "$WORK/wrk.out" > "$WORK/parsed" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
errors = int(re.search(r"non-2xx or errors: (\d+)", out).group(1))
if errors:
    sys.exit("wrk saw %d errors:\n%s" % (errors, out))
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
p50 = float(re.search(r"^p50: ([\d.]+) ms", out, re.M).group(1))
p99 = float(re.search(r"^p99: ([\d.]+) ms", out, re.M).group(1))
print(rps, p50, p99)
PY
        read -r rps p50 p99 < "$WORK/parsed"
        record registry "$L" "$r" "$rps" "$p50" "$p99" "$others"
    done
done
rm -rf "$WORK/gen" "$WORK/golden-BASE" "$WORK/golden-NEW"

# ---- applications and queue: the repository's Python scripts, each run on a fresh database.
# py_workload NAME SCRIPT ARGS...: the scripts print one summary line ("..., N/s, p50 X ms,
# p99 Y ms ...") which is the figure taken.
py_workload() {
    local name=$1 script=$2; shift 2
    echo "== $name: python3 bench/$script $*"
    for r in $(seq 1 "$ROUNDS"); do
        for L in $(pair_order "$r"); do
            local bin others line
            bin=$(label_bin "$L")
            cpu_mark
            run python3 "$BENCH/$script" --binary "$bin" "$@" > "$WORK/py.out" 2>&1 \
                || { echo "bench/$script failed with $bin:" >&2; cat "$WORK/py.out" >&2; exit 1; }
            others=$(others_pct)
            line=$(grep -E '/s, p50 [0-9.]+ ms, p99 [0-9.]+ ms' "$WORK/py.out" | tail -n 1)
            [[ "$line" =~ ([0-9.]+)/s,\ p50\ ([0-9.]+)\ ms,\ p99\ ([0-9.]+)\ ms ]] \
                || { echo "no figure in bench/$script's output:" >&2; cat "$WORK/py.out" >&2; exit 1; }
            record "$name" "$L" "$r" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "$others"
        done
    done
}
py_workload applications applications.py --clients 128 --seconds "$PY_SECONDS"
py_workload queue queue.py --count "$QUEUE_COUNT" --seconds "$PY_SECONDS"

# ---- summary
echo
echo "== summary: median of each binary's runs (spread: (max - min) / median); change: NEW against BASE"
python3 - "$RESULTS" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
disturbed = []
for line in open(sys.argv[1]):
    w, label, rnd, *figures, others = line.rstrip("\n").split("\t")
    runs[w][label].append([float(x) for x in figures])
    if int(others) >= 10:
        disturbed.append(f"{w} {label} round {rnd} ({others}%)")

def cell(xs, fmt):
    med = statistics.median(xs)
    text = fmt % med
    if len(xs) > 1:
        text += " (spread %.0f%%)" % ((max(xs) - min(xs)) / med * 100)
    return med, text

row = "%-12s %-7s %-22s %-22s %-22s"
print(row % ("workload", "binary", "req/s", "p50 ms", "p99 ms"))
for w, by_label in runs.items():
    medians = {}
    for label in ("BASE", "NEW"):
        cells = [cell([r[i] for r in by_label[label]], fmt) for i, fmt in enumerate(("%.0f", "%.2f", "%.2f"))]
        medians[label] = [c[0] for c in cells]
        print(row % (w, label, *[c[1] for c in cells]))
    change = ["%+.1f%%" % ((b - a) / a * 100) for a, b in zip(medians["BASE"], medians["NEW"])]
    print(row % (w, "change", *change))
print("req/s: + is faster. p50, p99: + is slower.")
if disturbed:
    print("Other processes took 10% or more of the CPU in: " + ", ".join(disturbed)
          + ". Those figures are suspect: run again on a quiet machine.")
PY
echo "total: $(( $(date +%s) - T0 )) s"
