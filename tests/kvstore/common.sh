# Shared by the kvstore, registry and taskdb suites (sourced, not run).
# Starts processes, remembers their PIDs and ends exactly those on exit,
# also when a suite fails half-way. Traffic stays on 127.0.0.1.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
TBIN=$ROOT/build/tests
WORK=$(mktemp -d /tmp/uig-test.XXXXXX)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS $SUITE $1"; }
fail() { echo "FAIL $SUITE $1: $2"; }
# check NAME WHY CONDITION...: runs the condition, reports.
check() {
    local name=$1 why=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# A TCP port nobody listens on right now.
# Below the kernel's ephemeral range (32768 and up), so an outgoing
# connection of another test cannot hold the port, and not in use by any
# TCP socket at all.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# start NAME CMD...: runs CMD in the background with its output in
# $WORK/NAME.log; the PID is in $LAST_PID and remembered for cleanup.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# stop PID [SIGNAL]: ends one process we started.
stop() {
    kill "-${2:-TERM}" "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

alive() { kill -0 "$1" 2>/dev/null; }

# wakeups PID SECONDS: how often PID's main thread went to sleep and woke again
# within SECONDS (voluntary context switches): an idle event loop has none.
wakeups() {
    local c0 c1
    c0=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$1/status")
    sleep "$2"
    c1=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$1/status")
    echo $((c1 - c0))
}

# mc PORT [QUIET_MS]: stdin to the server, its answer on stdout.
mc() { "$TBIN/mcsend" "127.0.0.1:$1" "${2:-200}"; }
