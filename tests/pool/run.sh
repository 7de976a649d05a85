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
if build/bin/uvmm --wait-fd 3 build/examples/hello 2>"$work/err"; then
    echo "FAIL pool/image-on-command-line: accepted"
elif grep -q 'takes the image from the request' "$work/err"; then
    echo "PASS pool/image-on-command-line"
else
    echo "FAIL pool/image-on-command-line: $(cat "$work/err")"
fi
