#!/usr/bin/env bash
# The image pipeline end to end, natively on 127.0.0.1: 100 images through
# gateway -> master -> taskdb/storage -> workers, every result byte-identical
# to the reference run of the same filter code (build/tests/filter_ref).
# Twice: with kvstore as the registry and the gcc builds, then with Debian's
# memcached in its place (the report's "module replacement") and the static
# musl builds that run as unikernels. Then master's and the gateway's
# answers to bad input, and the gateway's balancing and ejection.
set -uo pipefail
SUITE=pipeline
source "$(dirname "$0")/stack.sh"

for f in "$BIN"/{kvstore,taskdb,storage,master,worker,gateway} \
    "$ROOT"/build/musl/bin/{kvstore,taskdb,storage,master,worker,gateway} \
    "$TBIN/filter_ref" "$TBIN/mkimg" "$TBIN/master-asan" "$TBIN/gateway-asan"; do
    [ -x "$f" ] || { fail build "$f missing"; exit 0; }
done
command -v memcached >/dev/null || { fail build "memcached missing (make setup)"; exit 0; }

IMG=$WORK/images REF=$WORK/ref
mkdir -p "$IMG"
"$TBIN/mkimg" "$IMG" 100 || { fail images "mkimg failed"; exit 0; }
make_refs "$IMG" "$REF" || { fail reference "filter_ref failed"; exit 0; }

# ---- end to end, twice -------------------------------------------------------
end_to_end() { # NAME REGISTRY BINDIR STORAGE_REPLICAS
    local name=$1
    SBIN=$3
    WORKER_PIDS=()
    rm -rf "$WORK/taskdb" "$WORK/storage" "$WORK/storage2"
    unset TDB_PORT ST_PORT
    if ! stack_up "$2" 2; then
        fail "$name: start" "stack did not come up (see the suite's stderr)"
        return
    fi
    if [ "$4" = 2 ]; then # a second storage with its own disk: blobs spread over both
        local p2
        serve storage2 p2 "" "$SBIN/storage" --listen "127.0.0.1:@PORT@" \
            --registry "127.0.0.1:$REG_PORT" --data "$WORK/storage2" --ttl 3
        two_storages() { curl -s -m 2 "http://127.0.0.1:$M_PORT/health" | grep -q '"storage":2'; }
        wait_for 10 two_storages || fail "$name: second storage" "master does not see it"
    fi
    local t0=$SECONDS
    if ! upload_all "$IMG" "$WORK/ids.$name" 2>"$WORK/upload.err"; then
        fail "$name: 100 uploads" "$(head -3 "$WORK/upload.err")"
        return
    fi
    local nids
    nids=$(cut -d" " -f1 "$WORK/ids.$name" | sort -u | wc -l)
    check "$name: 100 uploads" "got $nids distinct ids" [ "$nids" = 100 ]
    if wait_for 60 all_done 100; then
        pass "$name: all 100 done ($((SECONDS - t0)) s)"
    else
        fail "$name: all 100 done" "only $(done_count) after 60 s"
    fi
    local diff
    diff=$(compare_results "$WORK/ids.$name" "$REF")
    check "$name: results byte-identical to the reference" "$diff" [ -z "$diff" ]
    if [ "$4" = 2 ]; then
        local n1 n2
        n1=$(ls "$WORK/storage/blobs" | wc -l)
        n2=$(ls "$WORK/storage2/blobs" | wc -l)
        check "$name: blobs spread over two storage replicas" "$n1 and $n2 blobs" \
            eval '[ "$n1" -gt 20 ] && [ "$n2" -gt 20 ] && [ $((n1 + n2)) = 200 ]'
    fi
    local w1
    w1=$(curl -s "http://127.0.0.1:$W_PORT/health" | sed -n 's/.*"done":\([0-9]*\).*/\1/p')
    check "$name: both workers pulled work" "last worker did ${w1:-?} tasks" \
        eval '[ "${w1:-0}" -gt 0 ] && [ "${w1:-0}" -lt 100 ]'
    # everything down before the next round
    for p in "${PIDS[@]}"; do stop "$p"; done
    PIDS=()
}
end_to_end "kvstore registry, gcc builds, 2 storages" kvstore "$BIN" 2
end_to_end "memcached registry, musl builds" memcached "$ROOT/build/musl/bin" 1

# ---- master's API and bad input (ASan + UBSan build of master) -----------------
SBIN=$BIN
WORKER_PIDS=()
rm -rf "$WORK/taskdb" "$WORK/storage"
unset TDB_PORT ST_PORT
start_registry kvstore
start_taskdb
start_storage
serve master-asan M_PORT "" "$TBIN/master-asan" --listen "127.0.0.1:@PORT@" \
    --registry "127.0.0.1:$REG_PORT" --max-image 300000 --ttl 3
M_PID=$SERVE_PID
MLOG=$WORK/master-asan.$M_PORT.log
wait_for 10 master_sees_peers || fail "api: start" "master-asan: $(tail -3 "$MLOG" | tr '\n' ' ')"
M=http://127.0.0.1:$M_PORT
# req METHOD PATH [CURL ARGS...]: "STATUS BODY"
req() {
    local m=$1 p=$2 out
    shift 2
    out=$(curl -s -m 10 -X "$m" -w '\n%{http_code}' "$@" "$M$p")
    echo "$(echo "$out" | tail -1) $(echo "$out" | sed '$d' | tr -d '\n')"
}
P0=$IMG/img-000.png
r=$(req POST /task -F "image=@$P0")
check "api: multipart upload" "got: $r" eval '[[ "$r" == "201 "*"\"id\":1"* ]]'
r=$(req POST /task --data-binary "@$IMG/img-003.jpg" -H 'Content-Type: image/jpeg')
check "api: raw upload" "got: $r" eval '[[ "$r" == "201 "*"\"id\":2"* ]]'
r=$(req POST /task -F "note=hello" -F "file=@$P0;filename=x.png")
check "api: a file part not named image is taken" "got: $r" eval '[[ "$r" == "201 "*"\"id\":3"* ]]'
r=$(req GET /task/1)
check "api: task" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"ready\""*"img-000.png"* ]]'
r=$(req GET /task/1/ready)
check "api: ready before done" "got: $r" eval '[[ "$r" == "200 "*"\"ready\":false"* ]]'
curl -s -o "$WORK/dl.png" "$M/task/1/download"
check "api: download gives the input" "differs" cmp -s "$WORK/dl.png" "$P0"
r=$(req GET /task/1/result)
check "api: no result before done" "got: $r" eval '[[ "$r" == "409 "* ]]'
r=$(req GET /task/next)
check "api: next leases the oldest" "got: $r" eval '[[ "$r" == "200 "*"\"id\":1,"*"\"leased\""* ]]'
r=$(req POST /task/1/finish --data-binary "@$REF/img-000.png" -H 'Content-Type: image/png')
check "api: finish with the result" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"done\""* ]]'
r=$(req GET /task/1/ready)
check "api: ready after done" "got: $r" eval '[[ "$r" == "200 "*"\"ready\":true"* ]]'
curl -s -o "$WORK/res.png" "$M/task/1/result"
check "api: result" "differs" cmp -s "$WORK/res.png" "$REF/img-000.png"
r=$(req POST /task/2/finish --data-binary "x")
check "api: finish of a task never leased" "got: $r" eval '[[ "$r" == "409 "*"not leased"* ]]'
r=$(req GET /task/next)
r=$(req POST /task/2/fail)
check "api: fail is final" "got: $r" eval '[[ "$r" == "200 "*"\"state\":\"failed\""* ]]'
r=$(req GET "/tasks?state=done")
check "api: list" "got: $r" eval '[[ "$r" == "200 "*"\"count\":1"* ]]'

bad=""
expect() { # STATUS WHAT METHOD PATH [CURL ARGS...]
    local want=$1 what=$2 r
    shift 2
    r=$(req "$@")
    [ "${r%% *}" = "$want" ] && [[ "$r" == *'"error":'* ]] || bad+="$what -> $r; "
}
printf -- '--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG\r\n\x1a\nabc' >"$WORK/trunc"
expect 400 "truncated multipart" POST /task --data-binary "@$WORK/trunc" -H 'Content-Type: multipart/form-data; boundary=XyZ'
printf -- '--XyZ\r\nContent-Disposition: form-data; name="image"\r\n\r\n\x89PNG\r\n\x1a\nabc\r\n--XyZ--\r\n' >"$WORK/ok"
expect 400 "multipart without boundary" POST /task --data-binary "@$WORK/ok" -H 'Content-Type: multipart/form-data'
expect 400 "multipart with an over-long boundary" POST /task --data-binary "@$WORK/ok" \
    -H "Content-Type: multipart/form-data; boundary=$(head -c 71 /dev/zero | tr '\0' b)"
printf -- '--XyZ\r\nContent-Disposition: form-data; name="image"\r\n\r\n\x89PNG\r\n\x1a\nabc\r\n--XyZgarbage' >"$WORK/garb"
expect 400 "garbage after a boundary" POST /task --data-binary "@$WORK/garb" -H 'Content-Type: multipart/form-data; boundary=XyZ'
expect 400 "form without an image" POST /task -F "note=hello"
expect 400 "empty body" POST /task --data-binary ""
expect 415 "text instead of an image" POST /task --data-binary "hello, world"
head -c 400000 /dev/zero >"$WORK/big"
expect 413 "image over --max-image (raw)" POST /task --data-binary "@$WORK/big"
expect 413 "image over --max-image (multipart)" POST /task -F "image=@$WORK/big" -H 'Expect:'
expect 404 "unknown task" GET /task/999999
expect 404 "unknown task download" GET /task/999999/download
expect 404 "unknown task result" GET /task/999999/result
expect 404 "unknown task ready" GET /task/999999/ready
expect 404 "id zero" GET /task/0
expect 404 "id not a number" GET /task/abc
expect 404 "id too large" GET /task/99999999999999999999999
expect 404 "unknown action" GET /task/1/nothing
expect 405 "wrong method" DELETE /task/1
expect 404 "unknown path" GET /nowhere
check "api: bad input gets clear JSON errors" "$bad" [ -z "$bad" ]
big=$(head -c 20000 /dev/zero | tr '\0' h)
r=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$M/task/1")
check "api: huge headers 431" "got $r" [ "$r" = 431 ]

# an image that passes the magic check but does not decode: the worker fails it
printf '\x89PNG\r\n\x1a\nthis is not really a png' >"$WORK/broken.png"
r=$(req POST /task -F "image=@$WORK/broken.png")
bid=$(echo "$r" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
start_worker
broken_failed() { curl -s "$M/task/$bid" | grep -q '"state":"failed"'; }
check "api: undecodable image ends failed" "task $bid: $(curl -s "$M/task/$bid")" wait_for 10 broken_failed
r=$(req GET "/task/$bid/result")
check "api: no result for a failed task" "got: $r" eval '[[ "$r" == "409 "*failed* ]]'
check "api: master survived" "master-asan died" alive "$M_PID"
stop "${WORKER_PIDS[0]}"
stop "$M_PID"
if grep -q 'AddressSanitizer\|runtime error' "$MLOG"; then
    fail "api: sanitizers" "$(grep -m1 'AddressSanitizer\|runtime error' "$MLOG")"
else
    pass "api: sanitizers"
fi

# ---- the gateway (ASan + UBSan build): balancing, ejection, limits, web files ------
GATEWAY_BIN=$TBIN/gateway-asan
start_master
MA=$M_PORT
MA_PID=$M_PID
start_master
MB=$M_PORT
start_gateway --max-body 2000000 --timeout 1000 --retry 2000
wait_for 10 gateway_sees_masters 2 || fail "gateway: start" "the gateway does not see two masters"
ups=$(for i in 1 2 3 4 5 6; do curl -s -D - -o /dev/null "$GW/task/1" | sed -n 's/^X-Upstream: \([0-9.:]*\).*/\1/p'; done | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
check "gateway: round-robin over two masters" "per replica: $ups" [ "$ups" = "3 3 " ]
stop "$MA_PID" KILL
ok=0
for i in $(seq 10); do
    [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$GW/task/1")" = 200 ] && ok=$((ok + 1))
done
check "gateway: a killed replica is ejected, requests retried" "$ok of 10 answered" [ "$ok" = 10 ]
r=$(curl -s -m 5 -F "image=@$P0" "$GW/task")
check "gateway: upload through the surviving master" "got: $r" eval '[[ "$r" == *"\"id\":"* ]]'
head -c 3000000 /dev/zero >"$WORK/huge"
r=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --data-binary "@$WORK/huge" "$GW/task")
r2=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary "@$WORK/huge" "$GW/task")
check "gateway: body over --max-body is 413" "got $r, chunked $r2" eval '[ "$r" = 413 ] && [ "$r2" = 413 ]'
head -c 1500000 /dev/urandom >"$WORK/mid"
r=$(curl -s -m 10 -w ' %{http_code}' --data-binary "@$WORK/mid" "$GW/task")
check "gateway: large body streamed to master (answered 415)" "got $r" eval '[[ "$r" == *"PNG or JPEG"*" 415" ]]'
r=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$GW/task/1")
check "gateway: huge headers 431" "got $r" [ "$r" = 431 ]
r=$(curl -s -m 5 "$GW/" | grep -c 'id="tasks"')
r2=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{content_type}' "$GW/app.js")
check "gateway: serves the web UI" "index: $r, app.js: $r2" eval '[ "$r" = 1 ] && [[ "$r2" == "200 text/javascript"* ]]'
badweb=""
for p in /../Makefile /%2e%2e/Makefile /.git/config /web/../../etc/passwd //etc/passwd /nothing.html; do
    c=$(curl -s -m 5 --path-as-is -o /dev/null -w '%{http_code}' "$GW$p")
    [ "$c" = 404 ] || badweb+="$p -> $c; "
done
check "gateway: no path tricks on the web files" "$badweb" [ -z "$badweb" ]
kill -STOP "$M_PID" # accepts (the kernel does) but never answers
r=$(curl -s -m 10 -w ' %{http_code}' "$GW/task/1")
kill -CONT "$M_PID"
check "gateway: a silent replica is a JSON 504 after --timeout" "got: $r" \
    eval '[[ "$r" == *'"'"'"error":'"'"'*" 504" ]]'
stop "$M_PID" KILL
r=$(curl -s -m 10 -w ' %{http_code}' "$GW/task/1")
check "gateway: no replica left is a JSON 50x" "got: $r" eval '[[ "$r" == *'"'"'"error":'"'"'*" 50"[234] ]]'
check "gateway: survived" "gateway died" alive "$GW_PID"
stop "$GW_PID"
if grep -q 'AddressSanitizer\|runtime error' "$WORK/gateway.$GW_PORT.log"; then
    fail "gateway: sanitizers" "$(grep -m1 'AddressSanitizer\|runtime error' "$WORK/gateway.$GW_PORT.log")"
else
    pass "gateway: sanitizers"
fi
exit 0
