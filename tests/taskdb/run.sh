#!/usr/bin/env bash
# taskdb, the task scheduler: its HTTP API and state machine (against a build
# with ASan + UBSan), lease expiry, attempts, bad input, and durability --
# kill -9 in the middle of a burst of writes and restart: every task that was
# acknowledged is still there, and the log is synced before the answer.
set -uo pipefail
SUITE=taskdb
source "$(dirname "$0")/../kvstore/common.sh"

for f in "$BIN/taskdb" "$TBIN/taskdb-asan"; do
    [ -x "$f" ] || { fail build "$f missing"; exit 0; }
done
command -v curl >/dev/null || { fail build "curl missing (make setup)"; exit 0; }

# req METHOD PATH [BODY]: prints "STATUS BODY".
req() {
    local out
    out=$(curl -s -m 5 -X "$1" -w '\n%{http_code}' ${3:+-d "$3"} "http://127.0.0.1:$P$2")
    echo "$(echo "$out" | tail -1) $(echo "$out" | sed '$d')"
}
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

P=$(free_port)
start taskdb-asan "$TBIN/taskdb-asan" --listen "127.0.0.1:$P" --registry none \
    --data "$WORK/api" --lease 1 --max-attempts 2
TDB=$LAST_PID
wait_port "$P" || { fail start "taskdb did not start: $(tail -3 "$WORK/taskdb-asan.log")"; exit 0; }

r1=$(req POST /task '{"type":"image","data":"in-1"}')
r2=$(req POST /task '{"type":"image","data":{"blob":"in-2"}}')
check "create" "got: $r1 / $r2" eval '[[ "$r1" == "201 "*"\"id\":1,"*"\"state\":\"created\""* ]] && [[ "$r2" == "201 "*"\"id\":2,"*blob*in-2* ]]'

r=$(req GET /task/next)
check "created is not leased" "got: $r" [ "$r" = "204 " ]

req POST /task/2/ready >/dev/null
r=$(req POST /task/1/ready)
check "ready" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"ready\""* ]]'

r=$(req GET /task/next)
check "next leases the oldest ready" "got: $r" \
    eval '[[ "$r" == "200 "*"\"id\":2,"*"\"state\":\"leased\",\"attempts\":1"* ]]'

r=$(req POST /task '{"type":"thumb","ready":true}')
r=$(req GET "/task/next?type=thumb")
check "next by type" "got: $r" eval '[[ "$r" == "200 "*"\"id\":3,"*"\"type\":\"thumb\""* ]]'
r=$(req GET "/task/next?type=nosuch")
check "next by type, none" "got: $r" [ "$r" = "204 " ]

r=$(req POST /task/3/finish)
r2=$(req POST /task/3/finish)
r3=$(req POST /task/3/fail)
check "finish" "got: $r / again: $r2 / fail after: $r3" \
    eval '[[ "$r" == "200 "*"\"state\":\"done\""* && "$r2" == "200 "*"\"state\":\"done\""* && "$r3" == "409 "* ]]'

sleep 1.4 # lease of task 2 (1 s) runs out
r=$(req GET /task/2)
check "lease expiry makes ready again" "got: $r" \
    eval '[[ "$r" == "200 "*"\"state\":\"ready\",\"attempts\":1"* ]]'

r=$(req GET /task/next)  # task 1 (oldest ready since the start)
r=$(req GET /task/next)  # task 2, attempt 2
check "second lease counts attempts" "got: $r" \
    eval '[[ "$r" == "200 "*"\"id\":2,"*"\"attempts\":2"* ]]'
sleep 1.4
r=$(req GET /task/2)
check "attempts used up: failed" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"failed\""* ]]'
r=$(req GET /task/1)
check "expired after one attempt: ready" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"ready\""* ]]'

req POST /task '{"type":"f","ready":true}' >/dev/null # task 4
req GET "/task/next?type=f" >/dev/null
r=$(req POST /task/4/fail)
check "fail with attempts left: ready" "got: $r" \
    eval '[[ "$r" == "200 "*"\"state\":\"ready\",\"attempts\":1"* ]]'
req GET "/task/next?type=f" >/dev/null
r=$(req POST /task/4/fail)
check "fail with no attempts left: failed" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"failed\""* ]]'
req POST /task '{"type":"g","ready":true}' >/dev/null # task 5
req GET "/task/next?type=g" >/dev/null
r=$(req POST "/task/5/fail?final=1")
check "final fail" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"failed\",\"attempts\":1"* ]]'
r=$(req GET /task/next)
r=$(req POST /task/1/fail)
check "fail at the last attempt: failed" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"failed\""* ]]'
r=$(req POST /task/1/ready)
check "failed task retried by hand" "got: $r" \
    eval '[[ "$r" == "200 "*"\"state\":\"ready\",\"attempts\":0"* ]]'

r=$(req GET "/tasks?state=failed")
check "list by state" "got: $r" eval '[[ "$r" == "200 "*"\"count\":3"* && "$r" == *"\"id\":2,"* ]]'
r=$(req GET "/tasks?type=image&limit=1")
check "list by type with a limit" "got: $r" eval '[[ "$r" == "200 "*"\"count\":1"* ]]'

bad=""
for c in "GET /task/99 404" "GET /task/abc 404" "GET /task/0 404" "DELETE /task 405" \
    "GET /task/1/finish 405" "POST /task/1/bogus 404" "GET /nowhere 404" "GET /tasks?state=odd 400" \
    "GET /task/next?type=bad%20type 400"; do
    set -- $c
    r=$(req "$1" "$2")
    [ "${r%% *}" = "$3" ] && [[ "$r" == *'"error":'* ]] || bad+="$1 $2 -> $r; "
done
r=$(req POST /task 'not json'); [ "${r%% *}" = 400 ] || bad+="bad json -> $r; "
r=$(req POST /task '{"type":"a b"}'); [ "${r%% *}" = 400 ] || bad+="bad type -> $r; "
r=$(req POST /task "{\"data\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}"); [ "${r%% *}" = 413 ] || bad+="big data -> $r; "
check "bad requests get JSON errors" "$bad" [ -z "$bad" ]

big=$(head -c 20000 /dev/zero | tr '\0' h)
r=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$P/health")
r2=$(req GET /health)
check "huge headers: 431, still serving" "got $r, then $r2" eval '[ "$r" = 431 ] && [[ "$r2" == "200 "* ]]'


r=$(curl -s -m 5 "http://127.0.0.1:$P/task/1" "http://127.0.0.1:$P/task/2" "http://127.0.0.1:$P/health" -w '%{num_connects}\n' | grep -c '"id"\|"status"')
check "keep-alive requests" "got $r answers" [ "$r" = 3 ]

# The long poll of GET /health: held while the counts are the caller's, answered
# as soon as a task arrives, or when wait_ms runs out; a client that goes away
# while held costs nothing.
h=$(req GET /health)
hr=$(echo "$h" | field ready) hl=$(echo "$h" | field leased)
t0=$(date +%s%N)
curl -s -m 10 "http://127.0.0.1:$P/health?wait_ms=8000&ready=$hr&leased=$hl" > "$WORK/lp.out" &
lp=$!
sleep 0.5
req POST /task '{"type":"lp","ready":true}' >/dev/null
wait "$lp"
ms=$((($(date +%s%N) - t0) / 1000000))
got=$(field ready < "$WORK/lp.out")
check "health long poll: answered when work arrives" "after $ms ms: $(cat "$WORK/lp.out")" \
    eval '[ "$ms" -ge 400 ] && [ "$ms" -lt 5000 ] && [ "$got" = $((hr + 1)) ]'
t0=$(date +%s%N)
r=$(req GET "/health?wait_ms=600&ready=$got&leased=$hl")
ms=$((($(date +%s%N) - t0) / 1000000))
check "health long poll: answered at wait_ms" "after $ms ms: $r" eval '[ "$ms" -ge 550 ] && [[ "$r" == "200 "* ]]'
r=$(req GET "/health?wait_ms=5000&ready=999999&leased=0")
check "health long poll: counts differ, at once" "got: $r" eval '[[ "$r" == "200 "*"\"ready\":$got"* ]]'
curl -s -m 0.3 "http://127.0.0.1:$P/health?wait_ms=60000&ready=$got&leased=$hl" > /dev/null
r=$(req GET "/health?wait_ms=-1"); r2=$(req GET "/health?wait_ms=600001")
check "health long poll: bad wait_ms" "got: $r / $r2" eval '[[ "$r" == "400 "* && "$r2" == "400 "* ]]'

check "server survived" "taskdb-asan died: $(tail -5 "$WORK/taskdb-asan.log" | tr '\n' ' ')" alive "$TDB"
stop "$TDB"
if grep -q 'AddressSanitizer\|runtime error' "$WORK/taskdb-asan.log"; then
    fail sanitizers "$(grep -m1 'AddressSanitizer\|runtime error' "$WORK/taskdb-asan.log")"
else
    pass sanitizers
fi

# ---- restart keeps every state -------------------------------------------------
snapshot() { curl -s -m 5 "http://127.0.0.1:$P/tasks?limit=100000" | sed 's/"lease_deadline":[0-9]*,//g'; }
start taskdb-r1 "$BIN/taskdb" --listen "127.0.0.1:$P" --registry none --data "$WORK/api" --lease 1 --max-attempts 2
TDB=$LAST_PID
wait_port "$P"
before=$(snapshot)
stop "$TDB"
start taskdb-r2 "$BIN/taskdb" --listen "127.0.0.1:$P" --registry none --data "$WORK/api" --lease 1 \
    --max-attempts 2 --compact
TDB=$LAST_PID
wait_port "$P"
after=$(snapshot)
check "restart and compaction keep the state" "before: $before after: $after" [ "$before" = "$after" ]
# Idle (no lease running, no long poll held): no timer, so no wake-ups at all.
sleep 1.2 # any lease left from before the restart ends
w=$(wakeups "$TDB" 1)
check "idle: no wake-ups" "$w wake-ups in 1 s" [ "$w" -le 1 ]
stop "$TDB"

# ---- durability: kill -9 during a burst of writes ---------------------------------
D="$WORK/dur"
start taskdb-d1 "$BIN/taskdb" --listen "127.0.0.1:$P" --registry none --data "$D" --lease 60
TDB=$LAST_PID
wait_port "$P"
writer() { # appends "id data" for every acknowledged task (few forks: fast)
    local i code body
    for i in $(seq 2000); do
        code=$(curl -s -m 2 -o "$WORK/w$1.body" -w '%{http_code}' -X POST \
            -d "{\"type\":\"dur\",\"data\":\"w$1-$i\",\"ready\":true}" "http://127.0.0.1:$P/task")
        [ "$code" = 201 ] || break
        body=$(<"$WORK/w$1.body")
        [[ $body =~ \"id\":([0-9]+) ]] && echo "${BASH_REMATCH[1]} w$1-$i"
    done >"$WORK/acked.$1"
}
leaser() { # leases and finishes; appends ids whose finish was acknowledged
    local code body id
    for _ in $(seq 2000); do
        code=$(curl -s -m 2 -o "$WORK/l.body" -w '%{http_code}' "http://127.0.0.1:$P/task/next?type=dur")
        [ "$code" = 200 ] || { [ "$code" = 204 ] && { sleep 0.05; continue; }; break; }
        body=$(<"$WORK/l.body")
        [[ $body =~ \"id\":([0-9]+) ]] || break
        id=${BASH_REMATCH[1]}
        [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P/task/$id/finish")" = 200 ] || break
        echo "$id"
    done >"$WORK/finished"
}
writer 1 & W1=$!
writer 2 & W2=$!
writer 3 & W3=$!
leaser & L=$!
sleep 3
stop "$TDB" KILL
wait $W1 $W2 $W3 $L 2>/dev/null
nacked=$(cat "$WORK"/acked.* | wc -l)
nfin=$(wc -l <"$WORK/finished")
start taskdb-d2 "$BIN/taskdb" --listen "127.0.0.1:$P" --registry none --data "$D" --lease 60
TDB=$LAST_PID
wait_port "$P"
curl -s -m 10 "http://127.0.0.1:$P/tasks?limit=100000" | tr '{' '\n' >"$WORK/after"
lost=""
while read -r id data; do
    grep -q "^\"id\":$id,.*\"data\":\"$data\"" "$WORK/after" || lost+="$id($data) "
done < <(cat "$WORK"/acked.*)
notdone=""
while read -r id; do
    grep -q "^\"id\":$id,.*\"state\":\"done\"" "$WORK/after" || notdone+="$id "
done <"$WORK/finished"
dups=$(cat "$WORK"/acked.* | cut -d' ' -f1 | sort | uniq -d | tr '\n' ' ')
check "kill -9 loses no acknowledged task" "$nacked acknowledged, lost: ${lost:-none}, duplicate ids: ${dups:-none}" \
    [ "$nacked" -gt 20 ] && [ -z "$lost" ] && [ -z "$dups" ]
check "kill -9 loses no acknowledged finish" "$nfin finished, not done after restart: ${notdone:-none}" \
    [ -z "$notdone" ]

# A torn record at the end of the log (a write cut by the crash) is dropped.
stop "$TDB" KILL
printf '\x40\x00\x00\x00garbage' >>"$D/taskdb.log"
start taskdb-d3 "$BIN/taskdb" --listen "127.0.0.1:$P" --registry none --data "$D"
TDB=$LAST_PID
wait_port "$P"
n=$(curl -s -m 10 "http://127.0.0.1:$P/tasks?limit=100000" | tr '{' '\n' | grep -c '"id":')
r=$(req POST /task '{"type":"after"}')
check "torn tail is cut off" "tasks after restart: $n (want >= $nacked), create: $r, log: $(grep -c cutting "$WORK/taskdb-d3.log")" \
    eval '[ "$n" -ge "$nacked" ] && [[ "$r" == "201 "* ]] && grep -q cutting "$WORK/taskdb-d3.log"'
stop "$TDB"

# The answer leaves only after fdatasync.
if command -v strace >/dev/null; then
    strace -f -o "$WORK/strace.out" -e trace=fdatasync,write,writev,sendto \
        "$BIN/taskdb" --listen "127.0.0.1:$P" --registry none --data "$WORK/st" >/dev/null 2>&1 &
    ST=$!
    PIDS+=("$ST")
    wait_port "$P"
    req POST /task '{"type":"sync"}' >/dev/null
    for c in $(pgrep -P "$ST"); do kill "$c"; done # taskdb itself; strace follows
    stop "$ST"
    order=$(grep -E 'fdatasync|HTTP/1.1 201' "$WORK/strace.out" | sed -n 's/.*\(fdatasync\).*/\1/p; s/.*\(HTTP\/1.1 201\).*/201/p' | tr '\n' ' ')
    check "fdatasync before the answer" "order seen: $order" [ "$order" = "fdatasync 201 " ]
else
    fail "fdatasync before the answer" "strace missing (make setup)"
fi

# The static musl build (what runs as a unikernel) reads the same log.
if [ -x "$ROOT/build/musl/bin/taskdb" ]; then
    start taskdb-musl "$ROOT/build/musl/bin/taskdb" --listen "127.0.0.1:$P" --registry none --data "$D"
    TDB=$LAST_PID
    wait_port "$P"
    n=$(curl -s -m 10 "http://127.0.0.1:$P/tasks?limit=100000" | tr '{' '\n' | grep -c '"id":')
    r=$(req POST /task '{"type":"musl"}')
    check "musl static build" "tasks: $n (want >= $nacked), create: $r" \
        eval '[ "$n" -ge "$nacked" ] && [[ "$r" == "201 "* ]]'
    stop "$TDB"
else
    fail "musl static build" "build/musl/bin/taskdb missing"
fi

r=$("$BIN/taskdb" --lease 0 2>&1; echo "status $?")
check "bad flag" "got: $r" [ "$r" = $'taskdb: --lease: expected seconds between 1 and 86400, got \'0\'\nstatus 1' ]
exit 0
