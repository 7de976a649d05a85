#!/usr/bin/env bash
# Runs every libFuzzer target tests/fuzz/fuzz_<x>.c for a bounded time and prints
# "PASS fuzz/<x>" or "FAIL fuzz/<x>: <why>" (see tests/run.sh; rules in fuzz.mk).
#
# The corpus of each target lives in build/tests/fuzz/corpus/<x>/ and grows from run
# to run; seed_<x> (if there is one) writes fresh seeds into it first, and a
# committed tests/fuzz/corpus/<x>/ (text inputs only) is read as well. A crash leaves
# its input in build/tests/fuzz/artifacts/ and the log in build/tests/fuzz/<x>.log.
#
# UIGNITER_FUZZ_SECONDS   time per target (default 12)
set -uo pipefail
cd "$(dirname "$0")/../.."

B=build
out=$B/tests/fuzz
secs=${UIGNITER_FUZZ_SECONDS:-12}
mkdir -p "$out/artifacts"

targets=()
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] && targets+=("$(basename "$src" .c)")
done
if [ ${#targets[@]} = 0 ]; then
    echo "FAIL fuzz/targets: no tests/fuzz/fuzz_*.c"
    exit 0
fi

if ! env -u MAKEFLAGS -u MFLAGS make --no-print-directory -s fuzz-targets >&2; then
    echo "FAIL fuzz/build: make fuzz-targets failed"
    exit 0
fi

# UBSan findings must stop the run like ASan's do.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# One target: prints its PASS or FAIL line.
fuzz_one() {
    local t=$1 x=${1#fuzz_} corpus log rc runs why art extra=()
    corpus=$out/corpus/$x
    log=$out/$x.log
    mkdir -p "$corpus"
    if [ -x "$out/seed_$x" ] && ! "$out/seed_$x" "$corpus" 2> "$log"; then
        echo "FAIL fuzz/$x: seed_$x failed: $(tail -1 "$log")"
        return
    fi
    [ -d "tests/fuzz/corpus/$x" ] && extra+=("tests/fuzz/corpus/$x")
    "$out/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$x-" "$corpus" "${extra[@]}" > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" = 0 ]; then
        echo "PASS fuzz/$x (${runs:-?} runs in ${secs}s)"
    else
        why=$(grep -m1 -E 'ERROR: |SUMMARY: |runtime error:' "$log" | sed 's/^==[0-9]*==//')
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "FAIL fuzz/$x: status $rc: ${why:-see $log}${art:+ (input: $art)}"
        tail -30 "$log" >&2
    fi
}

# As many targets at a time as there are cores; each line is printed whole.
jobs=$(nproc 2> /dev/null || echo 1)
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    fuzz_one "$t" > "$out/$t.result" &
done
wait
for t in "${targets[@]}"; do cat "$out/$t.result"; done
exit 0
