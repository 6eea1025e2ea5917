#!/usr/bin/env bash
# A neighbour on the same disk, for measuring how the audited look-ups fare when fdatasync is
# slow: writes MIB mebibytes to a file beside the database and syncs them, over and over,
# pausing PAUSE seconds between rounds, until stopped (Ctrl-C or kill).
#
#   bench/disk_noise.sh DIR [MIB] [PAUSE]      (defaults: 8 MiB, 0.2 s)
#
# On an ext4 virtual disk an fdatasync commits the journal, which waits for every file's
# ordered data: the neighbour's writes land in the audit commit's sync. 8 MiB every 0.2 s
# is a mild neighbour; 32 MiB without a pause is a hostile one (BENCHMARKS.md).
set -euo pipefail
DIR="${1:?usage: bench/disk_noise.sh DIR [MIB] [PAUSE]}"
MIB="${2:-8}"
PAUSE="${3:-0.2}"
FILE="$DIR/disk-noise.tmp"
trap 'rm -f "$FILE"' EXIT
trap 'exit 0' INT TERM
while :; do
    dd if=/dev/zero of="$FILE" bs=1M count="$MIB" conv=fdatasync status=none
    sleep "$PAUSE"
done
