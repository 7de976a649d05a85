#!/usr/bin/env bash
# What the pipeline's services cost when nothing happens: each of them (the same
# static binaries the unikernels run) as a host process with a kvstore registry on
# loopback, left alone, and Debian's memcached beside them as the anchor. Prints,
# per process, how often its main thread slept and woke again in SECONDS
# (voluntary context switches; in a VM each one is a UH_POLL exit of uvmm) and
# the CPU it used.
#
# usage: bench/idle.sh [SECONDS] [--workers N]    (defaults 10 and 0)
# With workers, each one asks master for a task every 500 ms when idle, and
# master asks taskdb: that is what the deployment's autoscaler avoids by taking
# idle workers to 0.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
secs=10 workers=0
while [ $# -gt 0 ]; do
    case $1 in
    --workers) workers=${2:?--workers N}; shift 2 ;;
    [0-9]*) secs=$1; shift ;;
    *) echo "usage: bench/idle.sh [SECONDS] [--workers N]" >&2; exit 2 ;;
    esac
done
for t in build/bin/kvstore build/bin/taskdb build/bin/storage build/bin/master build/bin/gateway \
    build/bin/worker memcached; do
    command -v "$t" > /dev/null || [ -x "$t" ] || { echo "bench: $t missing (make && make setup)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-idle.XXXXXX")
pids=() names=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

start() { # NAME COMMAND...
    local name=$1
    shift
    "$@" > "$tmp/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
}

reg=$(free_port)
start kvstore build/bin/kvstore --listen "127.0.0.1:$reg"
wait_port "$reg" || { echo "bench: kvstore did not start: $(tail -2 "$tmp/kvstore.log")" >&2; exit 1; }
R=127.0.0.1:$reg
start taskdb build/bin/taskdb --listen "127.0.0.1:$(free_port)" --registry "$R" --data "$tmp/taskdb"
start storage build/bin/storage --listen "127.0.0.1:$(free_port)" --registry "$R" --data "$tmp/storage"
mport=$(free_port)
start master build/bin/master --listen "127.0.0.1:$mport" --registry "$R"
start gateway build/bin/gateway --listen "127.0.0.1:$(free_port)" --registry "$R"
for i in $(seq "$workers"); do
    start "worker$i" build/bin/worker --listen "127.0.0.1:$(free_port)" --registry "$R"
done
start memcached memcached -t 1 -l 127.0.0.1 -p "$(free_port)" -U 0 $([ "$(id -u)" = 0 ] && echo -u root)
# Until master has found taskdb and storage, then a few seconds for start-up
# work (registrations, first look-ups, idle keep-alive connections) to settle.
for _ in $(seq 100); do
    h=$(curl -s -m 1 "http://127.0.0.1:$mport/health") && [[ $h == *'"taskdb":1'*'"storage":1'* ]] && break
    sleep 0.1
done
sleep 3

# Voluntary context switches of every thread, and utime + stime, per process.
sample() {
    local p=$1 cs=0 t
    for t in /proc/"$p"/task/*/status; do
        cs=$((cs + $(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "$t")))
    done
    echo "$cs $(awk '{ print $14 + $15 }' "/proc/$p/stat")"
}
declare -A cs0 cpu0
for i in "${!pids[@]}"; do read -r cs0[$i] cpu0[$i] <<< "$(sample "${pids[$i]}")"; done
sleep "$secs"
hz=$(getconf CLK_TCK)
printf '%-10s %12s %10s\n' process wakeups/s "CPU %"
for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2> /dev/null || { printf '%-10s %12s\n' "${names[$i]}" "(exited)"; continue; }
    read -r cs cpu <<< "$(sample "${pids[$i]}")"
    awk -v n="${names[$i]}" -v c=$((cs - cs0[$i])) -v t=$((cpu - cpu0[$i])) -v s="$secs" -v hz="$hz" \
        'BEGIN { printf "%-10s %12.1f %10.3f\n", n, c / s, 100 * t / hz / s }'
done
echo "(${secs} s, memcached -t 1 is the anchor: its clock ticks once a second and its"
echo " LRU maintainer and crawler threads wake on their own)"
