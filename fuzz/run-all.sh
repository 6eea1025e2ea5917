#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECS seconds each (default 60), one after
# another, and prints one summary line per target: executions, libFuzzer's last status line
# (cov/ft) and the first line of any crash.
#
#   fuzz/run-all.sh [SECS] [TARGET...]
#
# Builds once with the stable toolchain (RUSTC_BOOTSTRAP=1), one job at a time, into
# $CARGO_TARGET_DIR (default /work/fuzz-target), then runs the built binaries directly, so an
# edit to the crates during the run cannot rebuild or break the later targets. Each target
# runs on a scratch copy of its seeds, so libFuzzer's generated inputs never land in
# corpus/; crashes are written to artifacts/<target>/. Extra libFuzzer flags can be given in
# FUZZ_FLAGS (e.g. FUZZ_FLAGS="-fork=1 -ignore_crashes=1" to go on after a crash).
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/fuzz-target}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
logs="${FUZZ_LOGS:-$(mktemp -d /tmp/sohoa-fuzz-logs.XXXXXX)}"
mkdir -p "$logs"
cargo fuzz build -a || exit 1
bin="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"
echo "logs in $logs"
for t in "${targets[@]}"; do
    scratch=$(mktemp -d "/tmp/sohoa-fuzz-$t.XXXXXX")
    cp corpus/"$t"/* "$scratch"/
    mkdir -p "artifacts/$t"
    # shellcheck disable=SC2086
    "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -print_final_stats=1 \
        ${FUZZ_FLAGS:-} "$scratch" >"$logs/$t.log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -n1)
    crash=$(grep -E -m1 -A1 'panicked at' "$logs/$t.log" | tr '\n' ' ')
    printf '%-22s rc=%s execs=%s | %s | %s\n' "$t" "$rc" "${execs:-?}" "$last" "${crash:-no crash}"
    rm -rf "$scratch"
done
