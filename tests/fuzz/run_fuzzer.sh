#!/usr/bin/env bash
# run_fuzzer.sh - runs one libFuzzer target for a fixed time.
#
# Usage: run_fuzzer.sh BINARY CORPUS_DIR WORK_DIR SECONDS
#
# The seed corpus is copied into WORK_DIR/corpus, so the fuzzer grows its
# corpus there and never touches the repository's copy. Crash, leak,
# timeout and OOM inputs land in WORK_DIR/ (artifact prefix). Exits
# non-zero when the fuzzer fails or leaves any artifact, and prints a
# one-line summary either way.
set -euo pipefail

if [[ $# -ne 4 ]]; then
    echo "usage: $0 BINARY CORPUS_DIR WORK_DIR SECONDS" >&2
    exit 2
fi

binary=$1
seeds=$2
work=$3
seconds=$4
name=$(basename "$binary")

if [[ ! -x $binary ]]; then
    echo "$name: not an executable: $binary" >&2
    exit 2
fi
if [[ ! -d $seeds ]]; then
    echo "$name: no seed corpus directory: $seeds" >&2
    exit 2
fi
if [[ ! $seconds =~ ^[0-9]+$ ]] || [[ $seconds -eq 0 ]]; then
    echo "$name: SECONDS must be a positive integer, got '$seconds'" >&2
    exit 2
fi

mkdir -p "$work/corpus"
# Artifacts of an earlier run would otherwise fail this one.
rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* \
    "$work"/slow-unit-*
cp -R "$seeds"/. "$work/corpus/"

log=$work/fuzz.log
status=0
"$binary" \
    -max_total_time="$seconds" \
    -rss_limit_mb=2048 \
    -timeout=10 \
    -print_final_stats=1 \
    -artifact_prefix="$work/" \
    "$work/corpus" >"$log" 2>&1 || status=$?

shopt -s nullglob
artifacts=("$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*)
shopt -u nullglob
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
units=$(find "$work/corpus" -type f | wc -l)

if [[ $status -ne 0 || ${#artifacts[@]} -ne 0 ]]; then
    tail -n 60 "$log" >&2
    echo "$name: FAILED (exit $status) after ${runs:-?} runs;" \
        "artifacts: ${artifacts[*]:-none}; log: $log"
    exit 1
fi
echo "$name: ok, ${runs:-?} runs in ${seconds}s, corpus $units files"
