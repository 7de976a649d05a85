#!/usr/bin/env bash
# kvstore, the registry: Debian's memccapable (27 tests of the text
# protocol), then behaviour the registry relies on -- expirations, noreply,
# cas, multi-get, flush, eviction, pipelining, many connections -- and
# malformed input, after which the server must still answer. The behaviour
# tests run against kvstore built with ASan + UBSan.
set -uo pipefail
SUITE=kvstore
source "$(dirname "$0")/common.sh"

for f in "$BIN/kvstore" "$TBIN/kvstore-asan" "$TBIN/mcsend"; do
    [ -x "$f" ] || { fail build "$f missing (make all build/tests/kvstore-asan build/tests/mcsend)"; exit 0; }
done

# ---- memccapable against the optimized binary -----------------------------
if command -v memccapable >/dev/null; then
    P=$(free_port)
    start kvstore "$BIN/kvstore" --listen "127.0.0.1:$P"
    KV=$LAST_PID
    if wait_port "$P"; then
        memccapable -a -h 127.0.0.1 -p "$P" >"$WORK/memccapable.out" 2>&1
        n=$(grep -c '\[pass\]' "$WORK/memccapable.out")
        check "memccapable -a" "$n/27 passed: $(grep FAIL "$WORK/memccapable.out" | tr -s ' ' | head -3 | tr '\n' ';')" \
            [ "$n" = 27 ]
    else
        fail "memccapable -a" "kvstore did not start: $(tail -1 "$WORK/kvstore.log")"
    fi
    stop "$KV"
    # The static musl build is what runs as a unikernel: same protocol.
    if [ -x "$ROOT/build/musl/bin/kvstore" ]; then
        P=$(free_port)
        start kvstore-musl "$ROOT/build/musl/bin/kvstore" --listen "127.0.0.1:$P"
        KV=$LAST_PID
        wait_port "$P"
        memccapable -a -h 127.0.0.1 -p "$P" >"$WORK/memccapable-musl.out" 2>&1
        n=$(grep -c '\[pass\]' "$WORK/memccapable-musl.out")
        check "memccapable -a (musl static build)" "$n/27 passed" [ "$n" = 27 ]
        stop "$KV"
    else
        fail "memccapable -a (musl static build)" "build/musl/bin/kvstore missing"
    fi
else
    fail "memccapable -a" "memccapable missing (make setup installs libmemcached-tools)"
fi

# ---- behaviour, against the sanitized binary --------------------------------
P=$(free_port)
start kvstore-asan "$TBIN/kvstore-asan" --listen "127.0.0.1:$P" --memory 2
KV=$LAST_PID
wait_port "$P" || { fail start "kvstore-asan did not start: $(tail -3 "$WORK/kvstore-asan.log")"; exit 0; }

r=$(printf 'set a 5 0 3\r\nabc\r\nset b 0 0 2\r\nxy\r\nget a b missing\r\n' | mc "$P")
check "set and multi-get" "got: $r" \
    [ "$r" = $'STORED\r\nSTORED\r\nVALUE a 5 3\r\nabc\r\nVALUE b 0 2\r\nxy\r\nEND\r' ]

r=$(printf 'get nothing here\r\n' | mc "$P")
check "multi-get all missing" "got: $r" [ "$r" = $'END\r' ]

r=$(printf 'set n1 0 0 1 noreply\r\n1\r\nadd n1 0 0 1 noreply\r\n2\r\nreplace n1 0 0 1 noreply\r\n3\r\nappend n1 0 0 1 noreply\r\n4\r\nprepend n1 0 0 1 noreply\r\n5\r\nincr n1 10 noreply\r\ndelete nx noreply\r\nget n1\r\n' | mc "$P")
check "noreply" "got: $r" [ "$r" = $'VALUE n1 0 3\r\n544\r\nEND\r' ]

cas=$(printf 'set c 0 0 1\r\n1\r\ngets c\r\n' | mc "$P" | sed -n 's/^VALUE c 0 1 \([0-9]*\).*/\1/p')
r=$(printf 'cas c 0 0 1 %s\r\n2\r\ncas c 0 0 1 %s\r\n3\r\ncas nope 0 0 1 1\r\n4\r\nget c\r\n' "$cas" "$cas" | mc "$P")
check "cas" "unique $cas, got: $r" [ "$r" = $'STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE c 0 1\r\n2\r\nEND\r' ]

now=$(date +%s)
printf 'set e1 0 1 1\r\nx\r\nset e2 0 -1 1\r\nx\r\nset e3 0 %s 1\r\nx\r\nset e4 0 1 1\r\nx\r\ntouch e4 10\r\nset e5 0 1 1\r\nx\r\n' $((now + 100)) | mc "$P" >/dev/null
r1=$(printf 'get e1 e2 e3\r\n' | mc "$P" | grep -c '^VALUE')
sleep 2.2
r2=$(printf 'get e1 e3 e4 e5\r\n' | mc "$P" | grep '^VALUE' | cut -d' ' -f2 | tr '\n' ' ')
check "expirations" "before: $r1 values (want 2), after 2 s: $r2(want e3 e4)" \
    [ "$r1" = 2 ] && [ "$r2" = "e3 e4 " ]

r=$(printf 'set g 0 1 1\r\nx\r\ngat 100 g\r\n' | mc "$P" | grep -c '^VALUE g')
sleep 1.5
r2=$(printf 'get g\r\n' | mc "$P" | grep -c '^VALUE g')
check "gat extends the expiry" "gat $r, after 1.5 s $r2" [ "$r" = 1 ] && [ "$r2" = 1 ]

r=$(printf 'set i 0 0 20\r\n18446744073709551615\r\nincr i 1\r\nset d 0 0 1\r\n3\r\ndecr d 5\r\nincr missing 1\r\nincr d x\r\nset s 0 0 1\r\na\r\nincr s 1\r\n' | mc "$P")
check "incr and decr" "got: $r" \
    [ "$r" = $'STORED\r\n0\r\nSTORED\r\n0\r\nNOT_FOUND\r\nCLIENT_ERROR invalid numeric delta argument\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r' ]

r=$(printf 'set f 0 0 1\r\nx\r\nflush_all 1\r\nget f\r\n' | mc "$P" | grep -c '^VALUE f')
sleep 1.3
r2=$(printf 'get f\r\n' | mc "$P")
check "delayed flush_all" "before: $r, after: $r2" [ "$r" = 1 ] && [ "$r2" = $'END\r' ]

# Malformed input: every line gets its error and the connection goes on.
long=$(head -c 251 /dev/zero | tr '\0' k)
r=$(printf 'bogus\r\nset k x 0 1\r\nset k 0 0 -5\r\nset k 0 0 2\r\nabcd\r\nget %s\r\ndelete\r\n\r\nget\r\nversion\r\n' "$long" | mc "$P")
want=$'ERROR\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nERROR\r\nERROR\r\nVERSION 1.6.0-uigniter\r'
check "malformed commands" "got: $(echo "$r" | tr '\r\n' '|~')" [ "$r" = "$want" ]

# Found by fuzz_memcache: a bad key in the first get of a connection crashed
# the server (the reply buffer was still unallocated).
r=$(printf 'get a\001b\r\n' | mc "$P"; printf 'get ok \002\r\nversion\r\n' | mc "$P")
check "control character in a key" "got: $(echo "$r" | tr '\r\n' '|~')" \
    [ "$r" = $'CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nVERSION 1.6.0-uigniter\r' ]

r=$( { printf 'set big 0 0 2000000\r\n'; head -c 2000000 /dev/zero; printf '\r\nget big\r\nversion\r\n'; } | mc "$P" 500)
check "object too large is skipped" "got: $(echo "$r" | tr '\r\n' '|~')" \
    [ "$r" = $'SERVER_ERROR object too large for cache\r\nEND\r\nVERSION 1.6.0-uigniter\r' ]

r=$(head -c 10000 /dev/zero | tr '\0' 'z' | mc "$P" 500; echo "status $?")
check "line too long closes" "got: $r" [ "$r" = $'CLIENT_ERROR line too long\r\nstatus 3' ]

r=$(head -c 65536 /dev/urandom | mc "$P" 300 >/dev/null; printf 'version\r\n' | mc "$P")
check "binary garbage" "server answered: $r" [ "$r" = $'VERSION 1.6.0-uigniter\r' ]

r=$(printf 'quit\r\nversion\r\n' | mc "$P"; echo "status $?")
check "quit closes" "got: $r" [ "$r" = "status 3" ]

# Pipelining: 2000 commands in one write, 2000 replies in order.
for i in $(seq 1000); do printf 'set p%d 0 0 %d\r\n%d\r\n' "$i" ${#i} "$i"; done >"$WORK/pipe.in"
for i in $(seq 1000); do printf 'get p%d\r\n' "$i"; done >>"$WORK/pipe.in"
mc "$P" 500 <"$WORK/pipe.in" >"$WORK/pipe.out"
n_stored=$(grep -c '^STORED' "$WORK/pipe.out")
last=$(grep -A1 '^VALUE p1000 ' "$WORK/pipe.out" | tail -1 | tr -d '\r')
check "pipelined batch" "$n_stored STORED, p1000=$last" [ "$n_stored" = 1000 ] && [ "$last" = 1000 ]

# Eviction: 2 MiB of memory, 4 MiB of values: the oldest go, the newest stay.
v=$(head -c 1000 /dev/zero | tr '\0' v)
for i in $(seq 4000); do printf 'set ev%d 0 0 1000 noreply\r\n%s\r\n' "$i" "$v"; done | mc "$P" 500 >/dev/null
r=$(printf 'get ev1 ev4000\r\nstats\r\n' | mc "$P")
ev=$(echo "$r" | sed -n 's/^STAT evictions \([0-9]*\).*/\1/p')
check "lru eviction" "evictions=$ev, newest kept: $(echo "$r" | grep -c 'VALUE ev4000'), oldest kept: $(echo "$r" | grep -c 'VALUE ev1 ')" \
    [ "${ev:-0}" -gt 0 ] && echo "$r" | grep -q 'VALUE ev4000' && ! echo "$r" | grep -q 'VALUE ev1 '

# Many clients at once.
for c in $(seq 100); do
    ( printf 'set conn%d 0 0 2\r\nok\r\nget conn%d\r\n' "$c" "$c" | mc "$P" 500 >"$WORK/conn$c.out" ) &
done
wait $(jobs -p | grep -v "^$KV$") 2>/dev/null
n=$(cat "$WORK"/conn*.out | grep -c '^ok')
check "100 concurrent clients" "$n of 100 read back their value" [ "$n" = 100 ]

check "server survived" "kvstore-asan died: $(tail -5 "$WORK/kvstore-asan.log" | tr '\n' ' ')" alive "$KV"
stop "$KV"
if grep -q 'ERROR: AddressSanitizer\|runtime error' "$WORK/kvstore-asan.log"; then
    fail sanitizers "$(grep -m1 'ERROR: AddressSanitizer\|runtime error' "$WORK/kvstore-asan.log")"
else
    pass sanitizers
fi

r=$("$BIN/kvstore" --memory abc 2>&1; echo "status $?")
check "bad flag" "got: $r" [ "$r" = $'kvstore: --memory: not a size in MiB: abc\nstatus 1' ]
exit 0
