#!/usr/bin/env bash
# The registry helpers of lib/ (register with a TTL, refresh, expire, replica
# lists kept with gets/cas, round-robin watch) against kvstore and against
# Debian's memcached in its place -- the report's "module replacement".
set -uo pipefail
SUITE=registry
source "$(dirname "$0")/../kvstore/common.sh"

for f in "$BIN/kvstore" "$BIN/taskdb" "$TBIN/regtool" "$TBIN/mcsend"; do
    [ -x "$f" ] || { fail build "$f missing"; exit 0; }
done

# wait_registered LOG...: until every log says "registered" (5 s at most).
wait_registered() {
    for _ in $(seq 100); do
        local all=1
        for l in "$@"; do grep -q '^registered' "$l" 2>/dev/null || all=0; done
        [ $all = 1 ] && return 0
        sleep 0.05
    done
    return 1
}

lookup() { "$TBIN/regtool" --registry "127.0.0.1:$RP" lookup "$1" 2>&1 | sort | tr '\n' ' '; }

run_backend() {
    local backend=$1
    local T="$backend"
    RP=$(free_port)
    if [ "$backend" = kvstore ]; then
        start reg-kvstore "$BIN/kvstore" --listen "127.0.0.1:$RP"
    else
        if ! command -v memcached >/dev/null; then
            fail "$T backend" "memcached missing (make setup installs it)"
            return
        fi
        start reg-memcached memcached -u root -t 1 -l 127.0.0.1 -p "$RP" -U 0
    fi
    local REG=$LAST_PID
    wait_port "$RP" || {
        fail "$T backend" "$backend did not start on port $RP: $(tail -c 600 "$WORK/reg-$backend.log" 2>/dev/null | tr '\n' ' ')"
        return
    }

    local a=() logs=()
    for i in 1 2 3; do
        start "$T-a$i" "$TBIN/regtool" --registry "127.0.0.1:$RP" register svca "127.0.0.1:900$i" 2
        a+=("$LAST_PID")
        logs+=("$WORK/$T-a$i.log")
    done
    wait_registered "${logs[@]}"
    local r
    r=$(lookup svca)
    check "$T register" "lookup gave: $r" [ "$r" = "127.0.0.1:9001 127.0.0.1:9002 127.0.0.1:9003 " ]

    stop "${a[1]}" KILL
    sleep 3 # longer than the TTL: the dead one expires, the live ones were refreshed
    r=$(lookup svca)
    check "$T expire and refresh" "3 s after killing 9002 (ttl 2 s) lookup gave: $r" \
        [ "$r" = "127.0.0.1:9001 127.0.0.1:9003 " ]
    r=$(printf 'get svc:svca\r\n' | mc "$RP")
    check "$T dead replica pruned from the list" "list is: $r" eval '! echo "$r" | grep -q 9002'

    r=$("$TBIN/regtool" --registry "127.0.0.1:$RP" watch svca 600 2>&1 | tr '\n' ' ')
    check "$T watch round-robin" "watch handed out: $r" \
        eval '[ "$r" = "127.0.0.1:9001 127.0.0.1:9003 127.0.0.1:9001 127.0.0.1:9003 " ] || [ "$r" = "127.0.0.1:9003 127.0.0.1:9001 127.0.0.1:9003 127.0.0.1:9001 " ]'

    # Ten instances registering at the same moment: cas keeps every one.
    local b=() blogs=() want=""
    for i in $(seq 10 19); do
        start "$T-b$i" "$TBIN/regtool" --registry "127.0.0.1:$RP" register svcb "127.0.0.1:80$i" 5
        b+=("$LAST_PID")
        blogs+=("$WORK/$T-b$i.log")
        want+="127.0.0.1:80$i "
    done
    wait_registered "${blogs[@]}"
    r=$(lookup svcb)
    check "$T concurrent registrations" "lookup gave: $r" [ "$r" = "$want" ]

    # A real service registers itself.
    local TP
    TP=$(free_port)
    start "$T-taskdb" "$BIN/taskdb" --listen "127.0.0.1:$TP" --registry "127.0.0.1:$RP" \
        --data "$WORK/$T-taskdb" --ttl 2
    local TDB=$LAST_PID
    wait_port "$TP"
    sleep 0.3
    r=$(lookup taskdb)
    check "$T taskdb registers itself" "lookup gave: $r" [ "$r" = "127.0.0.1:$TP " ]
    stop "$TDB"

    r=$(lookup nosuchservice)
    check "$T unknown service" "lookup gave: $r" [ -z "$r" ]

    # The registry restarts empty: refreshes put everyone back.
    stop "$REG" KILL
    if [ "$backend" = kvstore ]; then
        start reg-kvstore2 "$BIN/kvstore" --listen "127.0.0.1:$RP"
    else
        start reg-memcached2 memcached -u root -t 1 -l 127.0.0.1 -p "$RP" -U 0
    fi
    REG=$LAST_PID
    wait_port "$RP"
    sleep 2
    r=$(lookup svca)
    check "$T registry restart" "2 s after the restart lookup gave: $r" \
        [ "$r" = "127.0.0.1:9001 127.0.0.1:9003 " ]

    for p in "${a[@]}" "${b[@]}" "$REG"; do stop "$p" KILL; done
    if grep -l 'AddressSanitizer\|runtime error' "$WORK"/$T-*.log >/dev/null 2>&1; then
        fail "$T sanitizers" "$(grep -h -m1 'AddressSanitizer\|runtime error' "$WORK"/$T-*.log)"
    else
        pass "$T sanitizers"
    fi
}

run_backend kvstore
run_backend memcached
exit 0
