#!/usr/bin/env bash
# kvstore against Debian's memcached -t 1 under memcaslap: 16 connections for
# 10 s each (90% get, 10% set, memcaslap's default mix), in the same run, on
# loopback. Prints the ops/s of each and the ratio kvstore / memcached.
#
# usage: bench/kvstore.sh [SECONDS] [ROUNDS]    (defaults 10 and 1)
# With several rounds the servers alternate who goes first and the best
# round of each is reported (less noise from the other tenant of the CPU).
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
secs=${1:-10}
rounds=${2:-1}
for t in build/bin/kvstore memcaslap memcached; do
    command -v "$t" >/dev/null || [ -x "$t" ] || { echo "bench: $t missing (make && make setup)" >&2; exit 1; }
done

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT


# Both get the same memory, enough that nothing is evicted.
KP=$(free_port)
build/bin/kvstore --listen "127.0.0.1:$KP" --memory 1024 --log-level warn &
pids+=($!)
MP=$(free_port)
memcached -u root -t 1 -m 1024 -l 127.0.0.1 -p "$MP" -U 0 &
pids+=($!)
wait_port "$KP" && wait_port "$MP" || { echo "bench: servers did not start" >&2; exit 1; }

# run PORT: prints the TPS memcaslap reports.
run() {
    memcaslap -s "127.0.0.1:$1" -c 16 -n 1 -T 1 -t "${secs}s" 2>&1 |
        sed -n 's/.*TPS: \([0-9]*\).*/\1/p' | tail -1
}

best_k=0
best_m=0
for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then m=$(run "$MP"); k=$(run "$KP"); else k=$(run "$KP"); m=$(run "$MP"); fi
    echo "round $r: memcached ${m:-?} ops/s, kvstore ${k:-?} ops/s"
    [ "${m:-0}" -gt "$best_m" ] && best_m=$m
    [ "${k:-0}" -gt "$best_k" ] && best_k=$k
done
[ "$best_m" -gt 0 ] && [ "$best_k" -gt 0 ] || { echo "bench: memcaslap reported nothing" >&2; exit 1; }
echo "memcached -t 1: $best_m ops/s"
echo "kvstore:        $best_k ops/s"
awk -v k="$best_k" -v m="$best_m" 'BEGIN { printf "ratio kvstore/memcached: %.2fx\n", k / m }'
