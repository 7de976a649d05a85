#!/usr/bin/env bash
# Runs every test suite and ends with the line "N passed, N failed".
#
# A suite is an executable tests/<name>/run.sh that prints one line per case:
#   PASS <case>            or     FAIL <case>: <why>
# and exits 0 (its exit status is only used to detect a suite that died).
# A suite whose file contains the line "# needs: kvm" uses /dev/kvm. Such suites run
# here when /dev/kvm exists; otherwise all of them run together inside scripts/kvmlab
# (Debian's kernel under QEMU with an emulated SVM CPU, so still real KVM).
# UIGNITER_KVM=host forces the first, UIGNITER_KVM=lab the second.
#
# usage: tests/run.sh [--only kvm|host] [SUITE...]
set -uo pipefail
cd "$(dirname "$0")/.."
only=""
if [ "${1:-}" = --only ]; then only=$2; shift 2; fi
logdir=build/tests/logs
mkdir -p "$logdir"

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=($(ls tests/*/run.sh 2>/dev/null | xargs -n1 dirname | xargs -n1 basename))
needs_kvm() { grep -q '^# needs: kvm' "tests/$1/run.sh"; }

host_suites=(); kvm_suites=()
for s in "${suites[@]}"; do
    [ -x "tests/$s/run.sh" ] || { echo "FAIL suite $s: tests/$s/run.sh missing or not executable"; continue; }
    if needs_kvm "$s"; then kvm_suites+=("$s"); else host_suites+=("$s"); fi
done

tally=$logdir/tally.$$
: > "$tally"
run_suite() {
    local s=$1 t0 rc
    t0=$(date +%s)
    echo "== $s"
    "tests/$s/run.sh" 2>"$logdir/$s.stderr" | tee "$logdir/$s.out" | grep -E '^(PASS|FAIL) '
    rc=${PIPESTATUS[0]}
    grep -E '^(PASS|FAIL) ' "$logdir/$s.out" >> "$tally"
    if [ "$rc" != 0 ]; then
        echo "FAIL suite $s: exited with status $rc (stderr in $logdir/$s.stderr)" | tee -a "$tally"
        tail -5 "$logdir/$s.stderr" | sed 's/^/    /'
    elif ! grep -qE '^(PASS|FAIL) ' "$logdir/$s.out"; then
        echo "FAIL suite $s: reported no cases" | tee -a "$tally"
    fi
    echo "   ($s: $(( $(date +%s) - t0 )) s)"
}

if [ "$only" != kvm ]; then
    for s in "${host_suites[@]}"; do run_suite "$s"; done
fi
if [ "$only" != host ] && [ ${#kvm_suites[@]} -gt 0 ]; then
    mode=${UIGNITER_KVM:-auto}
    if [ "$mode" = auto ]; then
        if [ -c /dev/kvm ] && [ -r /dev/kvm ]; then mode=host; else mode=lab; fi
    fi
    if [ "$mode" = host ] || [ -n "${KVMLAB:-}" ]; then
        if [ ! -c /dev/kvm ]; then
            for s in "${kvm_suites[@]}"; do echo "FAIL suite $s: /dev/kvm is missing" | tee -a "$tally"; done
        else
            for s in "${kvm_suites[@]}"; do run_suite "$s"; done
        fi
    else
        # One lab per suite, each under its own time limit, so that a lab that
        # stops making progress costs one suite, not the run.
        echo "== /dev/kvm is missing here: running the KVM suites inside scripts/kvmlab"
        # The lab's Debian kernel, on its emulated CPU, now and then panics under
        # many VMs (scripts/kvmlab exits 122): that suite runs once more, in a
        # new lab, and the panic is kept in build/tests/logs.
        for s in "${kvm_suites[@]}"; do
            for attempt in 1 2; do
                timeout "${UIGNITER_KVMLAB_TIMEOUT:-900}" scripts/kvmlab -- tests/run.sh --only kvm "$s" |
                    tee "$logdir/kvmlab-$s.out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
                rc=${PIPESTATUS[0]}
                [ "$rc" = 122 ] && [ "$attempt" = 1 ] || break
                cp build/kvmlab-console.log "$logdir/kvmlab-$s-panic.log" 2>/dev/null
                echo "== $s: the lab's kernel panicked ($logdir/kvmlab-$s-panic.log); the suite runs again in a new lab"
            done
            grep -E '^(PASS|FAIL) ' "$logdir/kvmlab-$s.out" >> "$tally"
            if [ "$rc" = 122 ]; then
                echo "FAIL suite $s: the lab's kernel panicked twice (build/kvmlab-console.log)" | tee -a "$tally"
            elif [ "$rc" = 125 ] || [ "$rc" = 124 ] ||
                ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$logdir/kvmlab-$s.out"; then
                echo "FAIL suite $s: the KVM lab did not finish (status $rc)" | tee -a "$tally"
            fi
        done
    fi
fi

passed=$(grep -c '^PASS ' "$tally")
failed=$(grep -c '^FAIL ' "$tally")
rm -f "$tally"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
