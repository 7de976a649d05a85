#!/usr/bin/env bash
# storage, the blob store: its API against an ASan + UBSan build (PUT, GET,
# HEAD, DELETE, ETag = sha256, If-None-Match, key validation against path
# tricks, limits), 64 MiB streamed both ways without holding it in memory,
# and durability: kill -9 right after an acknowledged PUT keeps the blob; a
# PUT cut off mid-body leaves neither a blob nor a temporary file.
set -uo pipefail
SUITE=storage
source "$(dirname "$0")/../kvstore/common.sh"

for f in "$BIN/storage" "$ROOT/build/musl/bin/storage" "$TBIN/storage-asan"; do
    [ -x "$f" ] || { fail build "$f missing"; exit 0; }
done

P=$(free_port)
S=http://127.0.0.1:$P
D=$WORK/data
start storage-asan "$TBIN/storage-asan" --listen "127.0.0.1:$P" --registry none --data "$D" \
    --max-blob 1000000
SP=$LAST_PID
wait_port "$P" || { fail start "$(tail -3 "$WORK/storage-asan.log")"; exit 0; }

# req METHOD PATH [CURL ARGS...]: "STATUS BODY"
req() {
    local m=$1 p=$2 out
    shift 2
    out=$(curl -s -m 10 --path-as-is -X "$m" -w '\n%{http_code}' "$@" "$S$p")
    echo "$(echo "$out" | tail -1) $(echo "$out" | sed '$d' | tr -d '\n')"
}

printf 'hello, blob' >"$WORK/small"
sha=$(sha256sum "$WORK/small" | cut -c1-64)
r=$(req PUT /blob/a.b-c_1 --data-binary "@$WORK/small" -H 'Content-Type: text/plain')
check "put" "got: $r" eval '[[ "$r" == "201 "*"\"size\":11,\"sha256\":\"$sha\""* ]]'
h=$(curl -s -D - -o "$WORK/got" "$S/blob/a.b-c_1" | tr -d '\r')
check "get: same bytes, ETag is the sha256, content type kept" "$h" \
    eval 'cmp -s "$WORK/got" "$WORK/small" && [[ "$h" == *"ETag: \"$sha\""* && "$h" == *"Content-Type: text/plain"* ]]'
r=$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$S/blob/a.b-c_1")
h=$(curl -s -I "$S/blob/a.b-c_1" | tr -d '\r' | grep -i content-length)
check "head" "got: $r / $h" eval '[ "$r" = "200 0" ] && [ "$h" = "Content-Length: 11" ]'
r=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$sha\"" "$S/blob/a.b-c_1")
check "if-none-match: 304" "got $r" [ "$r" = 304 ]
r=$(req PUT /blob/a.b-c_1 --data-binary "second version")
r2=$(curl -s "$S/blob/a.b-c_1")
check "put replaces" "got $r2" [ "$r2" = "second version" ]
r=$(req PUT /blob/empty --data-binary "")
r2=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$S/blob/empty")
check "empty blob" "put: $r get: $r2" eval '[[ "$r" == "201 "*"\"size\":0"* ]] && [ "$r2" = "200 0" ]'
r=$(printf 'chunked body' | curl -s -m 5 -X PUT -H 'Transfer-Encoding: chunked' --data-binary @- "$S/blob/ch")
r2=$(curl -s "$S/blob/ch")
check "chunked upload" "put: $r get: $r2" [ "$r2" = "chunked body" ]
r=$(req DELETE /blob/ch)
r2=$(req GET /blob/ch)
r3=$(req DELETE /blob/ch)
check "delete" "delete: $r / get: $r2 / again: $r3" \
    eval '[ "$r" = "204 " ] && [[ "$r2" == "404 "* && "$r3" == "404 "* ]]'

bad=""
for k in ../etc/passwd ..%2Fx %2e%2e .hidden . .. a/b "a%00b" "a%20b" "a%0ab" "$(head -c 201 /dev/zero | tr '\0' k)" ""; do
    for m in PUT GET DELETE; do
        r=$(req "$m" "/blob/$k" --data-binary x)
        case "$r" in 400\ *\"error\"* | 404\ *\"error\"*) ;; *) bad+="$m /blob/$k -> $r; " ;; esac
    done
done
check "keys cannot escape the store" "$bad" [ -z "$bad" ]
left=$(cd "$D" && find . -type f | grep -v '^./blobs/\(a.b-c_1\|empty\)$' | tr '\n' ' ')
check "nothing written outside blobs/" "found: $left" [ -z "$left" ]
r=$(req PUT /blob/big --data-binary "@/dev/null" -H 'Content-Length: 2000000')
check "content-length over --max-blob: 413" "got $r" eval '[[ "$r" == "413 "* ]]'
head -c 1500000 /dev/zero >"$WORK/over"
r=$(curl -s -m 5 -X PUT -H 'Transfer-Encoding: chunked' --data-binary "@$WORK/over" -w ' %{http_code}' "$S/blob/big")
check "chunked body over --max-blob: 413, nothing kept" "got $r, tmp: $(ls "$D/tmp")" \
    eval '[[ "$r" == *" 413" ]] && [ -z "$(ls "$D/tmp")" ] && [ ! -e "$D/blobs/big" ]'
r=$(req POST /blob/x --data-binary x)
r2=$(req GET /nothing)
check "wrong method 405, unknown path 404" "got $r / $r2" eval '[[ "$r" == "405 "* && "$r2" == "404 "* ]]'
big=$(head -c 20000 /dev/zero | tr '\0' h)
r=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$S/blob/empty")
check "huge headers 431" "got $r" [ "$r" = 431 ]

# a PUT cut off in the middle: no blob, no temporary file left
exec 3<>"/dev/tcp/127.0.0.1/$P"
printf 'PUT /blob/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' >&3
head -c 50000 /dev/zero >&3
sleep 0.3
exec 3>&-
sleep 0.3
check "a cut-off upload leaves nothing" "blobs: $(ls "$D/blobs" | tr '\n' ' ') tmp: $(ls "$D/tmp")" \
    eval '[ ! -e "$D/blobs/cut" ] && [ -z "$(ls "$D/tmp")" ]'
# a chunked upload whose framing breaks mid-body: 400, and nothing left behind
exec 3<>"/dev/tcp/127.0.0.1/$P"
printf 'PUT /blob/badchunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n' >&3
r=$(timeout 5 head -1 <&3 | tr -d '\r')
exec 3>&-
sleep 0.2
check "a malformed chunked upload: 400, no temporary file left" "got '$r', tmp: $(ls "$D/tmp")" \
    eval '[[ "$r" == "HTTP/1.1 400"* ]] && [ -z "$(ls "$D/tmp")" ] && [ ! -e "$D/blobs/badchunk" ]'
r=$(req GET /health)
check "health" "got $r" eval '[[ "$r" == "200 "*"\"blobs\":2"* ]]'
check "server survived" "storage-asan died" alive "$SP"
# Idle, every connection closed: the server's deadline sweep stops too.
sleep 1.2
w=$(wakeups "$SP" 2.5)
check "idle: no wake-ups" "$w wake-ups in 2.5 s" [ "$w" -le 1 ]
stop "$SP"
if grep -q 'AddressSanitizer\|runtime error' "$WORK/storage-asan.log"; then
    fail sanitizers "$(grep -m1 'AddressSanitizer\|runtime error' "$WORK/storage-asan.log")"
else
    pass sanitizers
fi

# ---- 64 MiB, streamed, with the gcc and the musl build -----------------------------
head -c $((64 << 20)) /dev/urandom >"$WORK/big"
bigsha=$(sha256sum "$WORK/big" | cut -c1-64)
for build in "$BIN" "$ROOT/build/musl/bin"; do
    name=gcc
    [ "$build" = "$BIN" ] || name=musl
    start "storage-$name" "$build/storage" --listen "127.0.0.1:$P" --registry none --data "$WORK/d-$name"
    SP=$LAST_PID
    wait_port "$P"
    r=$(curl -s -m 60 -T "$WORK/big" "$S/blob/big")
    curl -s -m 60 -o "$WORK/big.got" "$S/blob/big"
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SP/status")
    check "64 MiB round trip ($name build)" "put: $r" \
        eval '[[ "$r" == *"\"sha256\":\"$bigsha\""* ]] && cmp -s "$WORK/big" "$WORK/big.got"'
    check "64 MiB without holding it in memory ($name build)" "peak RSS ${hwm} kB" [ "${hwm:-999999}" -lt 16384 ]
    stop "$SP"
    rm -f "$WORK/big.got"
done

# ---- durability: kill -9 right after acknowledged writes -------------------------------
start storage-k1 "$BIN/storage" --listen "127.0.0.1:$P" --registry none --data "$WORK/dur"
SP=$LAST_PID
wait_port "$P"
acked=0
for i in $(seq 50); do
    printf 'blob number %d' "$i" >"$WORK/b"
    r=$(curl -s -m 5 -X PUT --data-binary "@$WORK/b" "$S/blob/k$i")
    [[ "$r" == *'"sha256"'* ]] && acked=$i
done
# one more PUT cut off by the kill in the middle of its body
exec 3<>"/dev/tcp/127.0.0.1/$P"
printf 'PUT /blob/torn HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' >&3
head -c 30000 /dev/zero >&3
sleep 0.2
stop "$SP" KILL
exec 3>&-
start storage-k2 "$BIN/storage" --listen "127.0.0.1:$P" --registry none --data "$WORK/dur"
SP=$LAST_PID
wait_port "$P"
lost=""
for i in $(seq "$acked"); do
    [ "$(curl -s -m 5 "$S/blob/k$i")" = "blob number $i" ] || lost+="k$i "
done
check "kill -9: every acknowledged blob is there, whole" "acked $acked, lost: $lost" \
    eval '[ "$acked" = 50 ] && [ -z "$lost" ]'
r=$(req GET /blob/torn)
check "kill -9: the torn upload is not a blob, its temporary file is gone" \
    "get: $r, tmp: $(ls "$WORK/dur/tmp")" eval '[[ "$r" == "404 "* ]] && [ -z "$(ls "$WORK/dur/tmp")" ]'
stop "$SP"
exit 0
