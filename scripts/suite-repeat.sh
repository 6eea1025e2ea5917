#!/usr/bin/env bash
# Runs the whole workspace suite N times in a row, at cargo's default parallelism, and says
# how each run ended: the evidence that the suite does not flake (a flaky test shows up as
# one red run among green ones). The build is done once before the first run, so each run's
# time is the suite's own.
#
#   scripts/suite-repeat.sh 10                 # SQLite, 10 runs
#   scripts/suite-repeat.sh 5 postgres         # PostgreSQL on 127.0.0.1:5432 (database test)
#
# Each run's output is kept in target/suite-repeat/<backend>-<n>.log; a failed run's
# failing tests are printed. Exits non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-10}"
backend="${2:-sqlite}"
case "$backend" in
    sqlite) unset SOHOA_TEST_DATABASE_URL ;;
    postgres) export SOHOA_TEST_DATABASE_URL="${SOHOA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" ;;
    *) echo "backend: sqlite or postgres" >&2; exit 2 ;;
esac
export CARGO_TERM_COLOR=never
logs=target/suite-repeat
mkdir -p "$logs"

echo "building the tests once"
cargo test --workspace --no-run --quiet 2>&1 | tail -n 5

failed=0
for i in $(seq 1 "$runs"); do
    log="$logs/$backend-$i.log"
    start=$(date +%s.%N)
    cargo test --workspace >"$log" 2>&1
    code=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    counts=$(awk '/^test result:/ { for (j = 1; j <= NF; j++) { if ($(j) ~ /^passed;?$/) p += $(j-1); if ($(j) ~ /^failed;?$/) f += $(j-1) } }
                  END { printf "%d passed, %d failed", p, f }' "$log")
    if [ "$code" -eq 0 ]; then
        printf 'run %2d/%d on %s: green, %s, %.0f s\n' "$i" "$runs" "$backend" "$counts" "$secs"
    else
        failed=$((failed + 1))
        printf 'run %2d/%d on %s: RED (exit %d), %s, %.0f s; log %s\n' "$i" "$runs" "$backend" "$code" "$counts" "$secs" "$log"
        grep -E '^(test .* FAILED|---- .* stdout ----)' "$log" | sed 's/^/    /'
    fi
done
echo "$backend: $((runs - failed)) of $runs runs green"
[ "$failed" -eq 0 ]
