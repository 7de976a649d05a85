# tests/lib.sh -- what the shell suites have in common; sourced, not run.
#   SUITE=name; source tests/lib.sh
# gives pass/fail lines in the form tests/run.sh counts ("PASS SUITE/case",
# "FAIL SUITE/case: why"), a failure counter, set-up checks that fail the
# suite with the fix in the message, polling, and ending a process we started.

: "${SUITE:?set SUITE before sourcing tests/lib.sh}"
failures=0
pass() { echo "PASS $SUITE/$1"; }
fail() {
    echo "FAIL $SUITE/$1: $2"
    failures=$((failures + 1))
}

# need_tools CMD...: every CMD is on PATH; else FAIL setup and the suite ends.
need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" > /dev/null || { fail setup "$t is missing (make setup installs it)"; exit 0; }
    done
}

# need_built FILE...: every FILE exists; else FAIL setup and the suite ends.
need_built() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || { fail setup "$f is not built (make test-deps)"; exit 0; }
    done
}

# wait_for SECONDS CMD...: until CMD succeeds (its output discarded); 1 if it never did.
wait_for() {
    local n=$(($1 * 10))
    shift
    while [ $n -gt 0 ]; do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# end_pid PID SIGNAL SECONDS: sends SIGNAL to a child of ours, SIGKILL if it still
# runs after SECONDS, and reaps it; its exit status is in $end_rc.
end_pid() {
    local pid=$1 sig=$2 i
    end_rc=""
    kill "-$sig" "$pid" 2> /dev/null
    for i in $(seq 1 $(($3 * 10))); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2> /dev/null; then
        echo "$SUITE: process $pid still runs $3 s after SIG$sig: SIGKILL" >&2
        kill -KILL "$pid" 2> /dev/null
    fi
    wait "$pid" 2> /dev/null
    end_rc=$?
}

# ns_clear NS: kills whatever still lives in network namespace NS (everything in
# it was started by the suite that made it) and deletes the namespace.
ns_clear() {
    local p
    for p in $(ip netns pids "$1" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
    ip netns del "$1" 2> /dev/null
}
