# Shared by the image pipeline suites (sourced, not run): starts the whole
# application on 127.0.0.1 -- a registry (kvstore or Debian's memcached),
# taskdb, storage, master, workers, gateway -- each process by PID, ended by
# tests/kvstore/common.sh's cleanup, also when a suite fails half-way.
source "$(dirname "${BASH_SOURCE[0]}")/../kvstore/common.sh"

SBIN=${SBIN:-$BIN}   # which build of the services: build/bin or build/musl/bin
LEASE=${LEASE:-20}
WORKER_PIDS=()

# wait_listening PORT PID: until PID itself listens on 127.0.0.1:PORT (5 s at
# most); fails at once if PID died (its port was taken meanwhile, say).
wait_listening() {
    for _ in $(seq 100); do
        ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$2," && return 0
        alive "$2" || return 1
        sleep 0.05
    done
    return 1
}

# serve NAME VAR PORT CMD...: starts CMD, in which @PORT@ stands for the port,
# and waits until it listens; sets VAR to the port and SERVE_PID. PORT "" picks
# a free one, and another if that one was taken before CMD could bind it (free
# ports are only free when asked); a given PORT (a restart) is kept.
serve() {
    local name=$1 var=$2 fixed=$3 try port a args
    shift 3
    for try in 1 2 3 4; do
        port=${fixed:-$(free_port)}
        args=()
        for a in "$@"; do args+=("${a//@PORT@/$port}"); done
        start "$name.$port" "${args[@]}"
        SERVE_PID=$LAST_PID
        if wait_listening "$port" "$SERVE_PID"; then
            printf -v "$var" %s "$port"
            return 0
        fi
        echo "serve: $name did not listen on $port: $(tail -1 "$WORK/$name.$port.log")" >&2
        stop "$SERVE_PID" KILL
        [ -z "$fixed" ] || sleep 0.5
    done
    return 1
}

# start_registry kvstore|memcached
start_registry() {
    if [ "$1" = memcached ]; then
        serve memcached REG_PORT "" memcached -u root -U 0 -t 1 -l 127.0.0.1 -p @PORT@
    else
        serve kvstore REG_PORT "" "$SBIN/kvstore" --listen "127.0.0.1:@PORT@"
    fi
    REG_PID=$SERVE_PID
}

# start_taskdb [FLAGS...]: a restart keeps TDB_PORT (unset it for a new one)
start_taskdb() {
    serve taskdb TDB_PORT "${TDB_PORT:-}" "$SBIN/taskdb" --listen "127.0.0.1:@PORT@" \
        --registry "127.0.0.1:$REG_PORT" --data "$WORK/taskdb" --lease "$LEASE" --ttl 3 "$@"
    TDB_PID=$SERVE_PID
}

start_storage() {
    serve storage ST_PORT "${ST_PORT:-}" "$SBIN/storage" --listen "127.0.0.1:@PORT@" \
        --registry "127.0.0.1:$REG_PORT" --data "$WORK/storage" --ttl 3 "$@"
    ST_PID=$SERVE_PID
}

# start_master: sets M_PORT and M_PID (the last one started)
start_master() {
    serve master M_PORT "" "$SBIN/master" --listen "127.0.0.1:@PORT@" \
        --registry "127.0.0.1:$REG_PORT" --ttl 3 "$@"
    M_PID=$SERVE_PID
}

# start_worker [FLAGS...]: appends to WORKER_PIDS; W_PORT is its /health port
start_worker() {
    serve worker W_PORT "" "$SBIN/worker" --listen "127.0.0.1:@PORT@" \
        --registry "127.0.0.1:$REG_PORT" --ttl 3 --poll-ms 100 "$@"
    WORKER_PIDS+=("$SERVE_PID")
}

start_gateway() {
    serve gateway GW_PORT "" "${GATEWAY_BIN:-$SBIN/gateway}" --listen "127.0.0.1:@PORT@" \
        --registry "127.0.0.1:$REG_PORT" --web "$ROOT/web" --ttl 3 "$@"
    GW_PID=$SERVE_PID
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
