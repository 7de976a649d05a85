#!/usr/bin/env bash
# needs: kvm
# uvmm's warm-pool mode (--wait-fd): a prepared VM waits for a request naming the
# program, its arguments and environment (and optionally its stdio fds), then runs
# it exactly as `uvmm IMAGE -- ARGS` would; a pool that lets it go gets a quiet exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
p=build/tests/pool/poolctl
hello=build/examples/hello
work=$(mktemp -d /tmp/uvmm-pool.XXXXXX)
trap 'rm -rf "$work"' EXIT

expect() { # NAME WANT_STATUS WANT_STDOUT -- CMD...
    local name=$1 want=$2 out=$3
    shift 4
    timeout 60 "$@" >"$work/out" 2>"$work/err" </dev/null
    local st=$?
    if [ "$st" != "$want" ]; then
        echo "FAIL pool/$name: status $st, want $want: $(head -c 300 "$work/err")"
    elif [ "$(cat "$work/out")" != "$out" ]; then
        echo "FAIL pool/$name: stdout $(head -c 200 "$work/out" | od -c | head -3)"
    else
        echo "PASS pool/$name"
    fi
}

for uvmm in build/bin/uvmm build/bin/uvmm-asan; do
    v=${uvmm##*/}
    expect $v/run 0 'Hello from a Uigniter unikernel!' -- $p -s $uvmm --mem 16 -- image=$hello
    expect $v/args 0 "$(printf 'Hello from a Uigniter unikernel!\nargv[1] = a b\nargv[2] = ')" \
        -- $p -s $uvmm --mem 16 -- image=$hello 'arg=a b' 'arg='
    expect $v/no-stdio 0 '' -- $p $uvmm --mem 16 -- image=$hello
    expect $v/released 0 '' -- $p -q $uvmm --mem 16 --
    expect $v/no-image 125 '' -- $p -s $uvmm --mem 16 -- arg=x
    expect $v/bad-field 125 '' -- $p -s $uvmm --mem 16 -- image=$hello nonsense
    expect $v/missing-image 125 '' -- $p -s $uvmm --mem 16 -- image=/nonexistent
    expect $v/exit-status 134 'before abort' -- $p -s $uvmm --mem 16 -- image=build/tests/conformance/crash_abort
done
# notify=1: "started" once, when the program starts; nothing without it.
for n in 1 0; do
    timeout 60 $p -s -n build/bin/uvmm --mem 16 -- image=$hello notify=$n >"$work/out" 2>"$work/err" </dev/null
    said=$(grep -c '^poolctl: said started$' "$work/err")
    others=$(grep -c '^poolctl: said' "$work/err")
    if [ "$(cat "$work/out")" != 'Hello from a Uigniter unikernel!' ]; then
        echo "FAIL pool/notify-$n: stdout $(head -c 200 "$work/out")"
    elif [ "$said" != "$n" ] || [ "$others" != "$n" ]; then
        echo "FAIL pool/notify-$n: uvmm said: $(grep said "$work/err" | head -3)"
    else
        echo "PASS pool/notify-$n"
    fi
done
# Environment: the command line's first, the request's may override it.
expect env 0 "$(printf 'A=request\nB=cmdline\n')" -- \
    $p -s build/bin/uvmm --env A=cmdline --env B=cmdline -- \
    image=build/tests/pool/showenv env=A=request
# SIGTERM to uvmm is the program's (mod_core.c): a handler runs, the default
# action ends it with 143 and no diagnostic, SIG_IGN keeps it running; a guest
# that never waits cannot take it: a second SIGTERM ends uvmm at once, and the
# first does after a grace of 1 s. A signal ignored when uvmm starts stays so.
term() { # NAME MODE WANT_STATUS WANT_STDOUT SIGNAL...
    local name=$1 mode=$2 want=$3 out=$4 pid st k
    shift 4
    # A background job starts with SIGINT ignored; env gives it the default
    # back unless the case is about that (keep_ignored=1).
    if [ "${keep_ignored:-}" = 1 ]; then
        build/bin/uvmm --mem 16 build/tests/pool/sigterm -- "$mode" > "$work/t.out" 2> "$work/t.err" < /dev/null &
    else
        env --default-signal=INT build/bin/uvmm --mem 16 build/tests/pool/sigterm -- "$mode" \
            > "$work/t.out" 2> "$work/t.err" < /dev/null &
    fi
    pid=$!
    for k in $(seq 600); do grep -q ready "$work/t.out" && break; sleep 0.1; done
    for sig in "$@"; do
        sleep 0.3
        kill "-$sig" "$pid" 2> /dev/null
    done
    for k in $(seq 200); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2> /dev/null; then
        kill -KILL "$pid"
        wait "$pid" 2> /dev/null
        echo "FAIL pool/$name: still running 20 s after SIG$*"
        return
    fi
    wait "$pid"
    st=$?
    if [ "$st" != "$want" ]; then
        echo "FAIL pool/$name: status $st, want $want: $(head -c 300 "$work/t.err")"
    elif [ "$(cat "$work/t.out")" != "$out" ]; then
        echo "FAIL pool/$name: stdout $(head -c 200 "$work/t.out" | tr '\n' '|')"
    elif [ -s "$work/t.err" ]; then
        echo "FAIL pool/$name: stderr $(head -c 200 "$work/t.err")"
    else
        echo "PASS pool/$name"
    fi
}
term sigterm-handled handle 0 "$(printf 'ready\ngot SIGTERM, exiting cleanly')" TERM
term sigterm-default default 143 ready TERM
term sigint-default default 130 ready INT
term sigterm-ignored-then-kill ignore 137 ready TERM KILL
term sigterm-twice-spinning spin 143 ready TERM TERM
term sigterm-spinning-grace spin 143 ready TERM
keep_ignored=1 term sigint-ignored-by-parent default 137 ready INT KILL

if build/bin/uvmm --wait-fd 3 build/examples/hello 2>"$work/err"; then
    echo "FAIL pool/image-on-command-line: accepted"
elif grep -q 'takes the image from the request' "$work/err"; then
    echo "PASS pool/image-on-command-line"
else
    echo "FAIL pool/image-on-command-line: $(cat "$work/err")"
fi
