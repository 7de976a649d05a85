#!/usr/bin/env bash
# Faults in the image pipeline, natively on 127.0.0.1:
#  - kill -9 a worker in the middle of a task: its lease runs out and another
#    worker completes it, with the same bytes;
#  - kill -9 taskdb and storage in the middle of a run of 100 uploads and
#    restart them on their data: no upload fails, no task or blob is lost,
#    every task ends done with a result identical to the reference.
set -uo pipefail
SUITE=pipeline_faults
source "$(dirname "$0")/../pipeline/stack.sh"

for f in "$BIN"/{kvstore,taskdb,storage,master,worker,gateway} "$TBIN/filter_ref" "$TBIN/mkimg"; do
    [ -x "$f" ] || { fail build "$f missing"; exit 0; }
done
IMG=$WORK/images REF=$WORK/ref
mkdir -p "$IMG"
"$TBIN/mkimg" "$IMG" 100 && make_refs "$IMG" "$REF" || { fail reference "mkimg/filter_ref failed"; exit 0; }

# ---- a worker killed mid-task -------------------------------------------------------
LEASE=2
start_registry kvstore
start_taskdb
start_storage
start_master
start_gateway
wait_for 10 master_sees_peers && wait_for 10 gateway_sees_masters || fail start "stack did not come up"
start_worker --delay-ms 60000 # filters, then holds the result for a minute
SLOW=${WORKER_PIDS[0]}
SLOW_PORT=$W_PORT
r=$(curl -s -m 10 -F "image=@$IMG/img-005.png" "$GW/task")
id=$(echo "$r" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
mid_task() { curl -s -m 2 "http://127.0.0.1:$SLOW_PORT/health" | grep -q "\"state\":\"filtering\",\"task\":$id"; }
if wait_for 10 mid_task; then
    stop "$SLOW" KILL
    pass "worker holds task $id when killed"
else
    fail "worker holds the task when killed" "upload: $r; worker: $(curl -s "http://127.0.0.1:$SLOW_PORT/health")"
fi
start_worker
task_done() { curl -s -m 2 "$GW/task/$id" | grep -q '"state":"done"'; }
check "another worker completes it after the lease" "task: $(curl -s "$GW/task/$id")" wait_for 20 task_done
t=$(curl -s "$GW/task/$id")
check "it took a second lease" "task: $t" eval '[[ "$t" == *"\"attempts\":2,"* ]]'
curl -s -m 10 -o "$WORK/res.png" "$GW/task/$id/result"
check "its result is identical to the reference" "differs" cmp -s "$WORK/res.png" "$REF/img-005.png"
for p in "${PIDS[@]}"; do stop "$p" KILL; done
PIDS=()
WORKER_PIDS=()

# ---- taskdb and storage killed mid-run and restarted ------------------------------------
LEASE=3
rm -rf "$WORK/taskdb" "$WORK/storage"
unset TDB_PORT ST_PORT
stack_up kvstore 2 || fail start "stack did not come up"
mkdir -p "$WORK/first" "$WORK/second"
for f in $(ls "$IMG"); do
    case $f in img-0[0-4]*) cp "$IMG/$f" "$WORK/first/" ;; *) cp "$IMG/$f" "$WORK/second/" ;; esac
done
upload_all "$WORK/first" "$WORK/ids1" 2>"$WORK/upload.err"
some_done() { [ "$(done_count)" -ge 10 ] 2>/dev/null; }
wait_for 30 some_done
upload_all "$WORK/second" "$WORK/ids2" 2>>"$WORK/upload.err" & # runs into the outage
UPL=$!
sleep 0.2
before=$(done_count)
stop "$TDB_PID" KILL
stop "$ST_PID" KILL
alive "$UPL" && during=yes || during=no
sleep 1
start_taskdb # same port, same data directory
start_storage
wait "$UPL"
upl=$?
cat "$WORK/ids1" "$WORK/ids2" >"$WORK/ids"
check "uploads during the outage all succeed" "status $upl: $(head -3 "$WORK/upload.err" | tr '\n' ' ')" \
    eval '[ "$upl" = 0 ] && [ "$(cut -d" " -f1 "$WORK/ids" | sort -u | wc -l)" = 100 ]'
check "uploads were under way at the kill" "they had ended" [ "$during" = yes ]
pass "killed taskdb and storage with $before of 100 done"
if wait_for 90 all_done 100; then
    pass "all 100 tasks done after the restarts"
else
    fail "all 100 tasks done after the restarts" "only $(done_count): $(curl -s "$GW/tasks?state=ready&limit=3")"
fi
diff=$(compare_results "$WORK/ids" "$REF")
check "no task or blob lost: every result identical to the reference" "$diff" [ -z "$diff" ]
inputs=0
while read -r id f; do
    curl -s -m 10 -o "$WORK/in" "$GW/task/$id/download" && cmp -s "$WORK/in" "$IMG/$f" && inputs=$((inputs + 1))
done <"$WORK/ids"
check "every input blob kept" "$inputs of 100 inputs intact" [ "$inputs" = 100 ]
exit 0
