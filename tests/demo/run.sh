#!/usr/bin/env bash
# needs: kvm
# README's first command, make demo, as a user runs it (scripts/demo.sh), with
# fault injection: deploy/pipeline.json as unikernels under uigniterd in the
# demo's own namespace, UIGNITER_DEMO_IMAGES (default 500) images through the
# gateway while random worker, taskdb, storage and master VMs are SIGKILLed.
# Checks that the daemon replaced every victim, that every task was done
# exactly once (an extra task only where an upload's answer was lost with a
# master, and done too), that no input or result blob was lost and every result
# is byte-identical to the native reference filter, that the workers scaled up
# from 0 and back to 0, and that the demo left no VM, tap, namespace, process
# or file behind. Then the demo's bad arguments.
# Prints one "PASS demo/<case>" or "FAIL demo/<case>: <why>" line per case.
set -uo pipefail
cd "$(dirname "$0")/../.."
SUITE=demo
source tests/lib.sh

need_tools ip curl jq shuf
need_built build/bin/uigniterd build/bin/uigniterctl build/bin/uvmm build/uk.elf \
    build/tests/mkimg build/tests/filter_ref \
    build/images/{kvstore,taskdb,storage,master,worker,gateway}.img
[ -c /dev/kvm ] || { fail setup "/dev/kvm is missing (tests/run.sh runs this suite in scripts/kvmlab)"; exit 0; }

n=${UIGNITER_DEMO_IMAGES:-500}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
report=$tmp/report
before_uvmm=$(pgrep -c -x uvmm)

t0=$SECONDS
scripts/demo.sh --chaos --images "$n" --report "$report" > "$tmp/out" 2> "$tmp/err"
rc=$?
echo "demo: --chaos --images $n took $((SECONDS - t0)) s" >&2
cat "$tmp/out" >&2
if [ "$rc" = 0 ]; then pass run; else fail run "status $rc: $(tail -3 "$tmp/err" | tr '\n' '|')"; fi
[ -s "$report" ] || { fail report "no report written: $(tail -5 "$tmp/err" | tr '\n' '|')"; exit 0; }
r() { sed -n "s/^$1=//p" "$report"; }
check() { # NAME WHY CONDITION...
    local name=$1 why=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

check uploads "$(r uploads) of $n uploads answered" [ "$(r uploads)" = "$n" ]
check results_identical "$(r identical) of $n results identical to filter_ref" [ "$(r identical)" = "$n" ]
check inputs_intact "$(r inputs_intact) of $n input blobs intact" [ "$(r inputs_intact)" = "$n" ]
check none_failed "$(r failed) tasks failed" [ "$(r failed)" = 0 ]
check none_pending "ready $(r ready_left), leased $(r leased_left) left" \
    [ "$(r ready_left)" = 0 -a "$(r leased_left)" = 0 ]
check exactly_once "$(r done) done for $n uploads, extras not from retried uploads: $(r extra_not_retried)" \
    [ "$(r done)" = $((n + $(r extra_tasks))) -a -z "$(r extra_not_retried)" ]
for k in worker taskdb storage master; do
    check "killed_$k" "$(r killed_$k) $k VMs killed" [ "$(r "killed_$k")" -ge 1 ]
    check "recovered_$k" "$(r killed_$k) killed, $(r recovered_$k) restarted or replaced" \
        [ "$(r "recovered_$k")" -ge "$(r "killed_$k")" ]
done
check deployment_ready "state $(r deployment_state) after the run" [ "$(r deployment_state)" = ready ]
check scaled_up "at most $(r max_workers) workers" [ "$(r max_workers)" -ge 2 ]
check scaled_down "$(r final_workers) workers at the end" [ "$(r final_workers)" = 0 ]
check summary "no summary table" grep -q 'images/s' "$tmp/out"

# Nothing left: the namespace, its processes, the demo's files.
check no_namespace "$(ip netns list)" sh -c '! ip netns list | grep -qw uig-demo'
check no_files "/run/uigniter-demo is still there" [ ! -e /run/uigniter-demo ]
check no_uvmm "$(pgrep -c -x uvmm) uvmm processes (were $before_uvmm)" [ "$(pgrep -c -x uvmm)" -le "$before_uvmm" ]

# --keep: left running, the web UI published on this namespace's loopback
# (--publish-netns), the daemon reachable on its Unix socket; --down ends it.
port=18080
scripts/demo.sh --keep --images 8 --port "$port" > "$tmp/keep.out" 2> "$tmp/keep.err"
check keep_run "status $?: $(tail -3 "$tmp/keep.err" | tr '\n' '|')" grep -q "Web UI: http://127.0.0.1:$port/" "$tmp/keep.out"
check keep_web_ui "GET / on 127.0.0.1:$port" sh -c "curl -s -m 10 http://127.0.0.1:$port/ | grep -q 'id=\"tasks\"'"
check keep_tasks "GET /tasks through the published port" \
    sh -c "curl -s -m 10 'http://127.0.0.1:$port/tasks?state=done' | grep -q '\"count\":8'"
check keep_status "uigniterctl status over the Unix socket" \
    sh -c "build/bin/uigniterctl --host /run/uigniter-demo/state/uigniterd.sock status pipeline | grep -q '^gateway '"
check keep_twice "a second demo while one is up" sh -c '! scripts/demo.sh --images 1 > /dev/null 2>&1'
scripts/demo.sh --down > "$tmp/down.out" 2>&1
check down "status $?: $(tail -2 "$tmp/down.out" | tr '\n' '|')" grep -q ended "$tmp/down.out"
check down_port "127.0.0.1:$port still answers" sh -c "! curl -s -m 5 -o /dev/null http://127.0.0.1:$port/"
check down_nothing_left "$(ip netns list | tr '\n' ' ') $(ls /run/uigniter-demo 2>&1 | head -1)" \
    sh -c '! ip netns list | grep -qw uig-demo && [ ! -e /run/uigniter-demo ]'
check down_no_uvmm "$(pgrep -c -x uvmm) uvmm processes" [ "$(pgrep -c -x uvmm)" -le "$before_uvmm" ]

# Bad arguments: a clear message, nothing started.
bad() { # CASE ARGS...
    local c=$1
    shift
    scripts/demo.sh "$@" > "$tmp/bad.out" 2>&1
    local st=$?
    check "bad_$c" "status $st: $(head -2 "$tmp/bad.out" | tr '\n' '|')" \
        eval '[ "$st" != 0 ] && grep -q "^demo: " "$tmp/bad.out" && ! ip netns list | grep -qw uig-demo'
}
bad images_zero --images 0
bad images_word --images many
bad port --port 70000
bad unknown --colour
bad chaos_many --chaos --images 5000
bad down_nothing --down
exit 0
