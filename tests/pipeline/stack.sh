# Shared by the image pipeline suites (sourced, not run): starts the whole
# application on 127.0.0.1 -- a registry (kvstore or Debian's memcached),
# taskdb, storage, master, workers, gateway -- each process by PID, ended by
# tests/kvstore/common.sh's cleanup, also when a suite fails half-way.
source "$(dirname "${BASH_SOURCE[0]}")/../kvstore/common.sh"

SBIN=${SBIN:-$BIN}   # which build of the services: build/bin or build/musl/bin
LEASE=${LEASE:-20}
WORKER_PIDS=()

# start_registry kvstore|memcached
start_registry() {
    REG_PORT=$(free_port)
    if [ "$1" = memcached ]; then
        start memcached memcached -u root -U 0 -t 1 -l 127.0.0.1 -p "$REG_PORT"
    else
        start kvstore "$SBIN/kvstore" --listen "127.0.0.1:$REG_PORT"
    fi
    REG_PID=$LAST_PID
    wait_port "$REG_PORT"
}

start_taskdb() {
    TDB_PORT=${TDB_PORT:-$(free_port)}
    start "taskdb.$RANDOM" "$SBIN/taskdb" --listen "127.0.0.1:$TDB_PORT" \
        --registry "127.0.0.1:$REG_PORT" --data "$WORK/taskdb" --lease "$LEASE" --ttl 3 "$@"
    TDB_PID=$LAST_PID
    wait_port "$TDB_PORT"
}

start_storage() {
    ST_PORT=${ST_PORT:-$(free_port)}
    start "storage.$RANDOM" "$SBIN/storage" --listen "127.0.0.1:$ST_PORT" \
        --registry "127.0.0.1:$REG_PORT" --data "$WORK/storage" --ttl 3 "$@"
    ST_PID=$LAST_PID
    wait_port "$ST_PORT"
}

# start_master [PORT]: sets M_PORT and M_PID (the last one started)
start_master() {
    M_PORT=${1:-$(free_port)}
    start "master.$M_PORT" "$SBIN/master" --listen "127.0.0.1:$M_PORT" \
        --registry "127.0.0.1:$REG_PORT" --ttl 3
    M_PID=$LAST_PID
    wait_port "$M_PORT"
}

# start_worker [FLAGS...]: appends to WORKER_PIDS; W_PORT is its /health port
start_worker() {
    W_PORT=$(free_port)
    start "worker.$W_PORT" "$SBIN/worker" --listen "127.0.0.1:$W_PORT" \
        --registry "127.0.0.1:$REG_PORT" --ttl 3 --poll-ms 100 "$@"
    WORKER_PIDS+=("$LAST_PID")
    wait_port "$W_PORT"
}

start_gateway() {
    GW_PORT=$(free_port)
    start gateway "${GATEWAY_BIN:-$SBIN/gateway}" --listen "127.0.0.1:$GW_PORT" --registry "127.0.0.1:$REG_PORT" \
        --web "$ROOT/web" --ttl 3 "$@"
    GW_PID=$LAST_PID
    wait_port "$GW_PORT"
    GW=http://127.0.0.1:$GW_PORT
}

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}

# master (at M_PORT) knows taskdb and storage; the gateway knows N masters.
master_sees_peers() {
    curl -s -m 2 "http://127.0.0.1:$M_PORT/health" | grep -q '"taskdb":[1-9].*"storage":[1-9]'
}
gateway_sees_masters() {
    curl -s -m 2 "$GW/gateway/health" | grep -q "\"service\":\"master\",\"replicas\":${1:-[1-9]}"
}

# stack_up REGISTRY NWORKERS: everything, ready for traffic.
stack_up() {
    start_registry "$1"
    start_taskdb
    start_storage
    start_master
    local i
    for ((i = 0; i < $2; i++)); do start_worker; done
    start_gateway
    wait_for 10 master_sees_peers && wait_for 10 gateway_sees_masters && return 0
    echo "stack_up: master: $(curl -s -m 2 "http://127.0.0.1:$M_PORT/health")" \
        "gateway: $(curl -s -m 2 "$GW/gateway/health")" >&2
    tail -n 5 "$WORK"/*.log >&2
    return 1
}

# upload_all DIR OUT: POSTs every image of DIR through the gateway (4 at a
# time) and writes "ID FILE" lines to OUT. Fails when an upload fails.
upload_all() {
    local dir=$1 out=$2
    : >"$out"
    ls "$dir" | xargs -P 4 -I{} sh -c '
        r=$(curl -s -m 30 -F "image=@$1/$2" "$3/task") || exit 1
        id=$(echo "$r" | sed -n "s/.*\"id\":\([0-9]*\).*/\1/p")
        [ -n "$id" ] || { echo "upload $2: $r" >&2; exit 1; }
        echo "$id $2" >> "$4"' _ "$dir" {} "$GW" "$out"
}

# done_count: tasks done, through the gateway.
done_count() {
    curl -s -m 5 "$GW/tasks?state=done&limit=100000" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'
}
all_done() { [ "$(done_count)" = "$1" ]; }

# compare_results IDS REFDIR: every result equals REFDIR/FILE.png; prints
# the mismatches (nothing when all are identical).
compare_results() {
    local id f
    while read -r id f; do
        if ! curl -s -m 10 -o "$WORK/got.png" "$GW/task/$id/result" ||
            ! cmp -s "$WORK/got.png" "$2/${f%.*}.png"; then
            echo -n "task $id ($f) differs; "
        fi
    done <"$1"
}

# make_refs IMGDIR REFDIR: the reference run of the filter.
make_refs() {
    mkdir -p "$2"
    local args=() f
    for f in $(ls "$1"); do args+=("$1/$f" "$2/${f%.*}.png"); done
    "$TBIN/filter_ref" "${args[@]}"
}
