#!/usr/bin/env bash
# demo — the whole image pipeline as unikernel microVMs (make demo).
#
# In a network namespace of its own it starts uigniterd, loads the six service
# images, deploys deploy/pipeline.json (registry, taskdb and storage on volumes,
# master, autoscaled workers, the gateway), uploads generated sample images
# through the gateway, waits until every task is done, checks every result
# against the native reference filter (build/tests/filter_ref, the worker's own
# filter code run on the host) and prints a summary: each VM's boot time, pool
# hit and RSS, images/s, and how the workers scaled from 0 and back. Then it
# undeploys, stops the daemon and removes the namespace, the state and the
# files it made.
#
# usage: scripts/demo.sh [--keep] [--images N] [--size WxH] [--port P] [--workers W] [--chaos]
#                       [--report FILE]
#        scripts/demo.sh --down
#   --keep         leave the deployment running; the web UI is published on the
#                  host's 127.0.0.1:P (needs /dev/kvm on this machine)
#   --images N     sample images to push through the pipeline (default 100)
#   --size WxH     their size, varied by up to a quarter (default 160x120)
#   --port P       the host port of the web UI with --keep (default 8080)
#   --workers W    W worker replicas throughout instead of autoscaling from 0
#                  (bench/pipeline-vm compares throughput by worker count)
#   --native       the anchor: the same static musl binaries (build/musl/bin) as
#                  host processes in the namespace, W workers (default 4), the
#                  same client and checks; no daemon, no VMs
#   --chaos        fault injection: while the images flow, SIGKILL a random
#                  worker, taskdb, storage or master VM again and again (each
#                  kind at least once), and check that the daemon replaced them,
#                  that every task was done exactly once and that no input or
#                  result blob was lost
#   --report FILE  also write the results as KEY=VALUE lines to FILE
#   --down         end a demo left running by --keep
# The demo keeps its state in /run/uigniter-demo (UIGNITER_DEMO_DIR overrides)
# and removes it at the end.
# As root. Without /dev/kvm the demo runs inside scripts/kvmlab (real KVM on an
# emulated CPU: everything works, the timings are the emulator's).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# The demo's state (the daemon's Unix socket, images, volumes) and files, on a
# file system that has sockets (not kvmlab's 9p view of the tree).
work=${UIGNITER_DEMO_DIR:-/run/uigniter-demo}
state=$work/state
ns=uig-demo
subnet=10.98.0.0/24
CTL=$root/build/bin/uigniterctl
DAEMON=$root/build/bin/uigniterd

die() { echo "demo: $*" >&2; exit 1; }
say() { printf '%s\n' "$*"; }
now_ms() { date +%s%3N; }

keep=0 nimages=100 port=8080 down=0 chaos=0 report= workers= size=160x120 native=0
while [ $# -gt 0 ]; do
    case "$1" in
    --keep) keep=1; shift ;;
    --images) nimages=${2:-}; shift 2 || die "--images needs a number" ;;
    --port) port=${2:-}; shift 2 || die "--port needs a number" ;;
    --down) down=1; shift ;;
    --chaos) chaos=1; shift ;;
    --native) native=1; shift ;;
    --size) size=${2:-}; shift 2 || die "--size needs WxH" ;;
    --workers) workers=${2:-}; shift 2 || die "--workers needs a number" ;;
    --report) report=${2:-}; shift 2 || die "--report needs a file" ;;
    -h | --help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$nimages" =~ ^[0-9]+$ ]] && [ "$nimages" -ge 1 ] && [ "$nimages" -le 10000 ] ||
    die "--images $nimages: want a number from 1 to 10000"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
    die "--port $port: want a port number"
[[ "$size" =~ ^([0-9]{1,4})x([0-9]{1,4})$ ]] && [ "${BASH_REMATCH[1]}" -ge 16 ] && [ "${BASH_REMATCH[2]}" -ge 16 ] ||
    die "--size $size: want WxH, each from 16 to 9999"
[ -z "$workers" ] || { [[ "$workers" =~ ^[0-9]+$ ]] && [ "$workers" -ge 1 ] && [ "$workers" -le 64 ]; } ||
    die "--workers $workers: want a number from 1 to 64"
[ "$native" = 0 ] || { [ "$chaos" = 0 ] && [ "$keep" = 0 ]; } || die "--native goes with neither --chaos nor --keep"
[ "$native" = 0 ] || [ -n "$workers" ] || workers=4
[ "$chaos" = 0 ] || [ "$nimages" -le 1000 ] || die "--chaos checks at most 1000 images"
[ -z "$report" ] || report=$(realpath -m "$report")
[ "$(id -u)" = 0 ] || die "run as root (it creates a network namespace, a bridge and taps)"

# The daemon's pid, from the lock file it keeps in its state directory.
daemon_pid() { [ -r "$state/uigniterd.lock" ] && head -1 "$state/uigniterd.lock" 2> /dev/null; }

# end_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS; waits for the end.
end_pid() {
    local p=$1 t=$(($2 * 10))
    kill -TERM "$p" 2> /dev/null || return 0
    while kill -0 "$p" 2> /dev/null && [ $t -gt 0 ]; do sleep 0.1; t=$((t - 1)); done
    kill -KILL "$p" 2> /dev/null
    while kill -0 "$p" 2> /dev/null; do sleep 0.1; done
}

# Everything a demo leaves: its processes (by the PIDs in its namespace, all
# started by the demo), the namespace with its bridge and taps, its files.
teardown() {
    local p
    if ip netns list 2> /dev/null | grep -qw "^$ns"; then
        p=$(daemon_pid)
        if [ -n "$p" ] && ip netns pids "$ns" 2> /dev/null | grep -qx "$p"; then
            end_pid "$p" 20 # stops the VMs and removes the taps itself
        fi
        for p in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
        ip netns del "$ns" 2> /dev/null
    fi
    rm -rf "$work"
}

if [ "$down" = 1 ]; then
    ip netns list 2> /dev/null | grep -qw "^$ns" || [ -d "$work" ] || die "no demo is running"
    teardown
    say "demo: ended; no VM, tap, namespace or file of it is left"
    exit 0
fi

for f in "$DAEMON" "$CTL" build/bin/uvmm build/uk.elf build/tests/mkimg build/tests/filter_ref \
    build/images/{kvstore,taskdb,storage,master,worker,gateway}.img; do
    [ -e "$f" ] || die "$f is missing (make demo builds it)"
done
for t in ip curl jq; do command -v $t > /dev/null || die "$t missing (make setup installs it)"; done

if [ -z "${UIG_DEMO_INNER:-}" ]; then
    if [ "$native" = 0 ] && { ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ]; }; then
        [ "$keep" = 0 ] || die "--keep needs /dev/kvm on this machine: in scripts/kvmlab the demo ends with the lab"
        echo "demo: this machine has no /dev/kvm; running inside scripts/kvmlab (timings are the emulator's)" >&2
        exec scripts/kvmlab -- "$root/scripts/demo.sh" --images "$nimages" \
            $([ "$chaos" = 1 ] && echo --chaos) ${report:+--report "$report"} ${workers:+--workers "$workers"} --size "$size" $([ "$native" = 1 ] && echo --native)
    fi
    if ip netns list 2> /dev/null | grep -qw "^$ns"; then
        [ -d "$work" ] && die "a demo is up already (scripts/demo.sh --down ends it)"
        teardown # what a demo killed half-way left
    fi
    rm -rf "$work"
    mkdir -p "$work" || die "cannot create $work"
    ip netns add "$ns" || die "ip netns add $ns failed"
    # Ctrl-C reaches both halves; this one cleans up once the inner one has.
    trap 'teardown; exit 130' INT TERM
    ip -n "$ns" link set lo up
    # The inner half runs in the namespace; published ports listen in ours.
    ip netns exec "$ns" env UIG_DEMO_INNER=1 UIG_DEMO_HOSTNS="/proc/$$/ns/net" \
        bash "$0" --images "$nimages" --port "$port" $([ "$keep" = 1 ] && echo --keep) \
        $([ "$chaos" = 1 ] && echo --chaos) ${report:+--report "$report"} ${workers:+--workers "$workers"} --size "$size" $([ "$native" = 1 ] && echo --native)
    rc=$?
    if [ "$rc" != 0 ] || [ "$keep" = 0 ]; then
        teardown
        [ "$rc" = 0 ] && say "demo: cleaned up: no VM, tap, namespace or file of the demo is left"
    fi
    exit $rc
fi

# ---- inside the namespace ------------------------------------------------------------
export UIGNITER_HOST=127.0.0.1:6666
api=http://$UIGNITER_HOST
t_start=$(now_ms)
mkdir -p "$state" "$work/in" "$work/ref" "$work/out"
dlog=$state/uigniterd.log # the daemon writes here once detached
bg=() # background samplers and the chaos loop
NPIDS=() # the services' processes with --native
finish() {
    local p
    for p in "${bg[@]}" "${NPIDS[@]}"; do kill "$p" 2> /dev/null; done
    if [ "$keep" = 0 ] || [ "${ok:-0}" != 1 ]; then
        if [ -n "$(daemon_pid)" ]; then
            "$CTL" undeploy pipeline > /dev/null 2>&1
            end_pid "$(daemon_pid)" 20
        fi
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# hget HOST PORT PATH: a GET with bash's own /dev/tcp, the body in HBODY and the
# status in HSTATUS; 1 when there is no answer within 10 s. The loops below poll
# with it rather than with a curl and a jq each time: in scripts/kvmlab every
# process start costs a third of a second of emulated CPU.
hget() {
    local fd r=""
    HBODY="" HSTATUS=000
    exec {fd}<> "/dev/tcp/$1/$2" 2> /dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$3" "$1" >&$fd
    IFS= read -r -d '' -t 10 -u $fd r
    exec {fd}>&-
    [[ $r =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] || return 1
    HSTATUS=${BASH_REMATCH[1]}
    HBODY=${r#*$'\r\n\r\n'}
}
# native_up: the anchor of bench/pipeline-vm: the services as host processes in
# this namespace, on its loopback, with the arguments the deployment gives them.
native_start() { # NAME CMD...
    local n=$1
    shift
    "$@" > "$work/native-$n.log" 2>&1 &
    NPIDS+=($!)
}
native_up() {
    local nb=$root/build/musl/bin reg=127.0.0.1:11211 i k
    for i in kvstore taskdb storage master worker gateway; do
        [ -x "$nb/$i" ] || die "$nb/$i is missing (make demo builds it)"
    done
    mkdir -p "$work/native"
    say "== the same services natively: static musl builds as processes, $workers workers"
    t0=$(now_ms)
    native_start registry "$nb/kvstore" --listen 127.0.0.1:11211 --memory 16
    for k in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/11211) 2> /dev/null && break; sleep 0.1; done
    native_start taskdb "$nb/taskdb" --listen 127.0.0.1:8001 --registry $reg --data "$work/native/taskdb"
    native_start storage "$nb/storage" --listen 127.0.0.1:8002 --registry $reg --data "$work/native/storage"
    native_start master "$nb/master" --listen 127.0.0.1:8000 --registry $reg
    for i in $(seq "$workers"); do
        native_start "worker$i" "$nb/worker" --listen "127.0.0.1:$((8100 + i))" --registry $reg
    done
    native_start gateway "$nb/gateway" --listen 127.0.0.1:8080 --registry $reg --web "$root/web"
    for k in $(seq 300); do
        hget 127.0.0.1 8000 /health && [[ $HBODY =~ \"taskdb\":[1-9].*\"storage\":[1-9] ]] && break
        sleep 0.1
    done
    t_deployed=$(now_ms)
}

if [ "$native" = 1 ]; then
    native_up
else
    # Four prepared VMs of the workers' 128 MiB, so scaling up from 0 takes only pool
    # hand-outs; the others' sizes have a few each.
    publish=()
    [ "$keep" = 1 ] && publish=(--publish-netns "$UIG_DEMO_HOSTNS")
    "$DAEMON" --state-dir "$state" --subnet "$subnet" --pool-mem 32:4,64:2,128:4 \
        --stop-timeout 5 "${publish[@]}" 2> "$work/start.err" ||
        die "uigniterd did not start: $(tail -3 "$work/start.err")"
    for i in kvstore taskdb storage master worker gateway; do
        "$CTL" load "build/images/$i.img" > /dev/null || die "uigniterctl load build/images/$i.img failed"
    done

    spec=$work/pipeline.json
    # With --chaos, workers killed mid-task give their tasks back after 5 s rather
    # than taskdb's 20, a task survives more than 3 lost leases, and each worker
    # holds each result 100 ms, so that on fast hardware too the run lasts long
    # enough for every kind of VM to be killed while tasks are in flight.
    jq --arg p "127.0.0.1:$port:8080" --argjson chaos "$chaos" --arg w "$workers" '
        (.services[] | select(.name == "gateway") | .ports) = [$p] |
        if $w != "" then (.services[] | select(.name == "worker")) |= (del(.autoscale) | .replicas = ($w | tonumber)) else . end |
        if $chaos == 1 then (.services[] | select(.name == "taskdb") | .args) += ["--lease", "5", "--max-attempts", "20"] |
            (.services[] | select(.name == "worker") | .args) += ["--delay-ms", "100"] else . end' \
        deploy/pipeline.json > "$spec" || die "cannot read deploy/pipeline.json"
    say "== deploying deploy/pipeline.json: six services as unikernel microVMs"
    t0=$(now_ms)
    "$CTL" deploy --wait 300 "$spec" || die "the deployment did not get ready (uigniterctl status pipeline)"
    t_deployed=$(now_ms)
fi

dep() { curl -s -m 30 "$api/deployments/pipeline"; }
# dep_ready: every replica of every service ready (the status' last field)
dep_ready() { hget 127.0.0.1 6666 /deployments/pipeline && [[ $HBODY =~ \"state\":\"ready\"\}[[:space:]]*$ ]]; }
wait_dep_ready() { local k; for k in $(seq 1200); do dep_ready && return 0; sleep 0.25; done; return 1; }
# svc_ips SERVICE: the addresses of its replicas
svc_ips() { dep | jq -r --arg s "$1" '.services[] | select(.name == $s) | .vms[].ip_address // empty'; }
if [ "$native" = 1 ]; then gw_ip=127.0.0.1; else gw_ip=$(svc_ips gateway | head -1); fi
[ -n "$gw_ip" ] || die "no gateway address"
GW=http://$gw_ip:8080
sees_master() { hget "$gw_ip" 8080 /gateway/health && [[ $HBODY =~ \"service\":\"master\",\"replicas\":[1-9] ]]; }
for _ in $(seq 300); do sees_master && break; sleep 0.1; done
sees_master || die "the gateway does not see master: $HBODY"
# tdb_counts: taskdb's own counts in T_done, T_ready, T_leased, T_failed and the
# whole answer in T_health, wherever taskdb runs now (looked up again when it
# does not answer).
tdb_ip=""
[ "$native" = 1 ] && tdb_ip=127.0.0.1
tdb_counts() {
    if [ -z "$tdb_ip" ] || ! hget "$tdb_ip" 8001 /health || [ "$HSTATUS" != 200 ]; then
        [ "$native" = 1 ] || tdb_ip=$(svc_ips taskdb | head -1)
        [ -n "$tdb_ip" ] && hget "$tdb_ip" 8001 /health && [ "$HSTATUS" = 200 ] || return 1
    fi
    T_health=$HBODY
    [[ $HBODY =~ \"done\":([0-9]+) ]] && T_done=${BASH_REMATCH[1]} || return 1
    [[ $HBODY =~ \"ready\":([0-9]+) ]] && T_ready=${BASH_REMATCH[1]} || return 1
    [[ $HBODY =~ \"leased\":([0-9]+) ]] && T_leased=${BASH_REMATCH[1]} || return 1
    [[ $HBODY =~ \"failed\":([0-9]+) ]] && T_failed=${BASH_REMATCH[1]} || return 1
}

say "== $nimages sample images of about $size (PNG RGB/RGBA/gray and JPEG) and their native reference results"
build/tests/mkimg "$work/in" "$nimages" "${size%x*}" "${size#*x}" || die "mkimg failed"
refargs=()
for f in $(ls "$work/in"); do refargs+=("$work/in/$f" "$work/ref/${f%.*}.png"); done
build/tests/filter_ref "${refargs[@]}" || die "filter_ref failed"

# The workers' replica count, sampled from the daemon's metrics while the images
# flow: "MS DECLARED READY QUEUE-READY" at each change.
(
    last=""
    pre='uigniter_deployment_replicas\{deployment="pipeline",service="worker",kind='
    qpre='uigniter_autoscale_queue\{deployment="pipeline",service="worker",kind="ready"\} '
    while :; do
        if hget 127.0.0.1 6666 /metrics; then
            l=""
            [[ $HBODY =~ ${pre}\"declared\"\}\ ([0-9]+) ]] && l=${BASH_REMATCH[1]}
            [[ $HBODY =~ ${pre}\"ready\"\}\ ([0-9]+) ]] && l+=" ${BASH_REMATCH[1]}"
            [[ $HBODY =~ ${qpre}([0-9]+) ]] && l+=" ${BASH_REMATCH[1]}" || l+=" -"
            if [ "$l" != "$last" ]; then echo "$(now_ms) $l"; last=$l; fi
        fi
        sleep 0.1
    done
) > "$work/timeline" 2> /dev/null &
bg+=($!)

# --chaos: once the deployment is whole again, wait 0.5-2 s and SIGKILL one running
# VM of the next kind, in a new random order of the four kinds each round; then
# wait until it runs again (another uvmm under the same name: restarted in place
# or replaced) and the deployment is ready. Each kill is a line of $kills:
# "KILL-MS KIND NAME BACK-MS back|scaled-down|lost". Stops before the next kill
# once $work/chaos.stop exists.
kills=$work/kills
: > "$kills"
# back_again NAME OLDPID: 0 when NAME runs under another pid and all is ready;
# 2 when NAME is gone and all is ready (an autoscaled worker not wanted now)
back_again() {
    local k
    for k in $(seq 1200); do
        if hget 127.0.0.1 6666 "/vm/$1"; then
            if [ "$HSTATUS" = 404 ]; then
                dep_ready && return 2
            elif [[ $HBODY =~ \"pid\":([0-9]+) ]] && [ "${BASH_REMATCH[1]}" != "$2" ] && dep_ready; then
                return 0
            fi
        fi
        sleep 0.05
    done
    return 1
}
if [ "$chaos" = 1 ]; then
    (
        while :; do
            for kind in $(printf '%s\n' worker taskdb storage master | shuf); do
                wait_dep_ready
                d=$((RANDOM % 1500 + 500)) # ms
                sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
                [ -e "$work/chaos.stop" ] && exit 0
                v=$(curl -s -m 30 "$api/vm" | jq -r --arg k "$kind" '.[] | select(.deployment.name == "pipeline"
                    and .deployment.service == $k and .state == "running" and .pid != null) |
                    "\(.pid) \(.name)"' | shuf -n 1)
                [ -n "$v" ] || continue # no worker running just now
                kill -KILL "${v%% *}" 2> /dev/null || continue
                t=$(now_ms)
                back_again "${v#* }" "${v%% *}"
                case $? in 0) how=back ;; 2) how=scaled-down ;; *) how=lost ;; esac
                echo "$t $kind ${v#* } $(now_ms) $how" >> "$kills"
            done
        done
    ) 2> /dev/null &
    bg+=($!)
fi

say "== uploading through the gateway at $GW (4 at a time)"
ids=$work/ids retried=$work/retried
: > "$ids"
: > "$retried"
mkdir -p "$work/up"
t_up=$(now_ms)
# One curl for every upload, 4 at a time. Each is tried until it is answered 201
# (for 120 s): while master is replaced, the gateway answers 502/503, or the
# connection fails. A 4xx is final.
pending=($(ls "$work/in"))
up_end=$((SECONDS + 120))
while [ ${#pending[@]} -gt 0 ]; do
    : > "$work/up.cfg"
    for f in "${pending[@]}"; do
        printf 'next\nurl = "%s/task"\nform = "image=@%s"\noutput = "%s"\nmax-time = 60\nsilent\nwrite-out = "%%{http_code} %s\\n"\n' \
            "$GW" "$work/in/$f" "$work/up/$f" "$f" >> "$work/up.cfg"
    done
    sed -i 1d "$work/up.cfg" # no "next" before the first
    curl -s --parallel --parallel-max 4 -K "$work/up.cfg" > "$work/up.codes" 2> /dev/null
    again=() codes=""
    while read -r code f; do
        body=""
        [ -r "$work/up/$f" ] && body=$(< "$work/up/$f")
        if [ "$code" = 201 ] && [[ $body =~ \"id\":([0-9]+) ]]; then
            echo "${BASH_REMATCH[1]} $f" >> "$ids"
            continue
        fi
        case $code in 4*) die "upload $f: $code $body" ;; esac
        echo "$f $code" >> "$retried"
        again+=("$f")
        codes+=" $code"
    done < "$work/up.codes"
    [ "$(($(wc -l < "$ids") + ${#again[@]}))" = "$nimages" ] || die "uploads: curl did not report every transfer"
    # Given up only when 120 s pass without one upload getting through.
    [ ${#again[@]} -lt ${#pending[@]} ] && up_end=$((SECONDS + 120))
    pending=("${again[@]}")
    [ ${#pending[@]} = 0 ] || [ $SECONDS -lt $up_end ] ||
        die "${#pending[@]} uploads got no 201 for 120 s (last answers:$(echo "$codes" | tr ' ' '\n' | sort | uniq -c | awk '{ printf " %s x %s", $2, $1 }'))"
    [ ${#pending[@]} = 0 ] || sleep 0.5
done
t_uploaded=$(now_ms)
T_done=0 T_ready="" T_leased="" T_failed=0
for _ in $(seq 2400); do
    tdb_counts && [ "$((T_done + T_failed))" -ge "$nimages" ] && [ "$T_ready" = 0 ] && [ "$T_leased" = 0 ] && break
    sleep 0.25
done
t_done=$(now_ms)
[ "$((T_done + T_failed))" -ge "$nimages" ] || die "only $T_done of $nimages tasks done after 600 s"
if [ "$chaos" = 1 ]; then
    touch "$work/chaos.stop" # the last victim's recovery is still awaited
    wait "${bg[1]}" 2> /dev/null
    wait_dep_ready
fi
# The VMs while every worker is still up.
if [ "$native" = 1 ]; then
    echo '[]' > "$work/vms.json"
    : > "$work/metrics.txt"
    echo '{"state": "native", "services": []}' > "$work/deployment.json"
    # VmRSS of each service process, KiB
    for p in "${NPIDS[@]}"; do awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2> /dev/null; done > "$work/native.rss"
else
    curl -s -m 30 "$api/vm" > "$work/vms.json"
    curl -s -m 30 "$api/metrics" > "$work/metrics.txt"
    dep > "$work/deployment.json"
fi

say "== checking every result against the reference"
# One curl for every result (and with --chaos every input too), 4 at a time; a
# 5xx or no answer is tried again, up to 5 rounds 1 s apart, as a client would.
# Then the bytes are compared by their sha256.
: > "$work/get.want"
while read -r id f; do
    echo "$GW/task/$id/result $work/out/$id.png $id result $f" >> "$work/get.want"
    [ "$chaos" = 1 ] && echo "$GW/task/$id/download $work/out/$id.in $id input $f" >> "$work/get.want"
done < "$ids"
: > "$work/get.final"
cp "$work/get.want" "$work/get.todo"
for round in 1 2 3 4 5; do
    [ -s "$work/get.todo" ] || break
    [ "$round" = 1 ] || sleep 1
    awk '{ printf "%surl = \"%s\"\noutput = \"%s\"\nmax-time = 30\nsilent\nwrite-out = \"%%{http_code} %s\\n\"\n",
           (NR > 1 ? "next\n" : ""), $1, $2, $2 }' "$work/get.todo" > "$work/get.cfg"
    curl -s --parallel --parallel-max 4 -K "$work/get.cfg" > "$work/get.codes" 2> /dev/null
    awk -v last="$round" 'FILENAME == ARGV[1] { code[$2] = $1; next }
        { c = ($2 in code) ? code[$2] : "000"
          if (c ~ /^(5|000)/ && last < 5) print > "'"$work/get.todo.next"'"
          else print c, $0 > "'"$work/get.final.more"'" }' "$work/get.codes" "$work/get.todo"
    cat "$work/get.final.more" >> "$work/get.final" 2> /dev/null
    mv "$work/get.todo.next" "$work/get.todo" 2> /dev/null || : > "$work/get.todo"
    rm -f "$work/get.final.more"
done
# "CODE URL FILE ID KIND NAME" -> what is right and what is not
(cd "$work/ref" && sha256sum -- *.png) > "$work/ref.sums"
(cd "$work/in" && sha256sum -- *) > "$work/in.sums"
(cd "$work/out" && sha256sum -- *) > "$work/out.sums" 2> /dev/null
awk 'FILENAME ~ /ref.sums$/ { ref[$2] = $1; next }
     FILENAME ~ /in.sums$/ { inp[$2] = $1; next }
     FILENAME ~ /out.sums$/ { got[$2] = $1; next }
     { n = split($3, p, "/"); o = p[n]; name = $6; sub(/\.[^.]*$/, ".png", name)
       want = $5 == "result" ? ref[name] : inp[$6]
       if ($1 != "200") print $5, $4, $6, "HTTP " $1
       else if (got[o] != want) print $5, $4, $6, "other bytes"
       else print $5, $4, $6, "ok" }' "$work/ref.sums" "$work/in.sums" "$work/out.sums" "$work/get.final" > "$work/check"
same=$(awk '$1 == "result" && $4 == "ok"' "$work/check" | wc -l)
inputs_ok=$(awk '$1 == "input" && $4 == "ok"' "$work/check" | wc -l)
differ=$(awk '$4 != "ok" { printf " %s (task %s, %s: %s %s)", $3, $2, $1, $4, $5 }' "$work/check")
if [ -n "$differ" ]; then
    mkdir -p "$work/failed"
    awk '$4 != "ok" { print $2, $3 }' "$work/check" | sort -u | while read -r id f; do
        cp "$work/in/$f" "$work/ref/${f%.*}.png" "$work/failed/" 2> /dev/null
        cp "$work/out/$id.png" "$work/failed/task-$id-result" 2> /dev/null
        cp "$work/out/$id.in" "$work/failed/task-$id-input" 2> /dev/null
        curl -s -m 30 "$GW/task/$id" > "$work/failed/task-$id.json"
    done
fi
tdb_counts || die "taskdb does not answer"
echo "$T_health" > "$work/taskdb-health.json"
tcount() { jq -r ".$1 // 0" "$work/taskdb-health.json"; }
failed=$T_failed
uploads=$(cut -d' ' -f1 "$ids" | sort -u | wc -l)
# Exactly once: every image is one done task, but an upload whose answer was
# lost with a master may have made a task before it was tried again; such an
# extra task must belong to a retried image, and is done like the others.
curl -s -m 30 "$GW/tasks?state=done&limit=1000" > "$work/done.json"
extra_bad=$(jq -r '.tasks[] | "\(.id) \(.data | if type == "string" then (fromjson? // {}) else . end | .name)"' "$work/done.json" | sort > "$work/done.list"
    awk 'NR == FNR { known[$1] = 1; next } !($1 in known) { print $2 }' "$ids" "$work/done.list" |
    while read -r f; do grep -q "^$f " "$retried" || echo "$f"; done | tr '\n' ' ')
extras=$(($(wc -l < "$work/done.list") - uploads))

# Scale-down: the workers go after the queue was idle for idle_s.
idle_s=$(jq -r '.services[] | select(.name == "worker") | .autoscale.idle_s // 0' "$spec")
[ -n "$workers" ] && idle_s=-20 # fixed replicas: nothing to wait for
for _ in $(seq $(((idle_s + 20) * 10))); do
    hget 127.0.0.1 6666 /metrics &&
        [[ $HBODY =~ service=\"worker\",kind=\"declared\"\}\ 0 ]] && break
    sleep 0.1
done
sleep 0.2
for p in "${bg[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
bg=()

# ---- the summary -------------------------------------------------------------------------
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
say ""
if [ "$native" = 1 ]; then
    say "================ Uigniter demo: the image pipeline natively (--native) ================"
else
    say "================ Uigniter demo: the image pipeline as unikernels ================"
fi
[ -n "${KVMLAB:-}" ] && say "(inside scripts/kvmlab: an emulated CPU; the timings are the emulator's)"
say ""
boot_median=- boot_max=- boot_n=0 rss_median=- rss_total=- hits="" misses=""
first_worker_ms=- all_workers_ms=- nworkers=0
if [ "$native" = 1 ]; then
    say "natively: ${#NPIDS[@]} processes (registry, taskdb, storage, master, $workers workers, gateway)"
    read -r rss_median rss_total <<< "$(sort -n "$work/native.rss" |
        awk '{ v[NR] = $1; t += $1 } END { if (NR) printf "%.1f %d", v[int((NR + 1) / 2)] / 1024, t / 1024; else print "- -" }')"
    say "RSS per process: median $rss_median MiB; all of them together $rss_total MiB"
    say "ready to serve in $(ms "$t0" "$t_deployed") s"
    say ""
else
    printf '%-22s %-10s %-12s %9s %6s %9s\n' VM image address "boot ms" pool "RSS MiB"
    jq -r '[.[] | select(.deployment.name == "pipeline")] | sort_by(.deployment.service, .deployment.replica)[] |
        [.name, .image, .ip_address, (if .boot_ms then (.boot_ms * 100 | round / 100 | tostring) else "-" end),
         (if .pool_hit then "hit" else "miss" end),
         (if .rss_kib then (.rss_kib / 1024 * 10 | round / 10 | tostring) else "-" end)] | @tsv' \
        "$work/vms.json" | while IFS=$'\t' read -r a b c d e f; do
        printf '%-22s %-10s %-12s %9s %6s %9s\n' "$a" "$b" "$c" "$d" "$e" "$f"
    done
    boot_line=$(jq -r '[.[] | select(.deployment.name == "pipeline") | .boot_ms // empty] | sort |
        if length > 0 then "\(.[length / 2 | floor] * 100 | round / 100) \(.[-1] * 100 | round / 100) \(length)" else "- - 0" end' "$work/vms.json")
    read -r boot_median boot_max boot_n <<< "$boot_line"
    rss_line=$(jq -r '[.[] | select(.deployment.name == "pipeline") | .rss_kib // empty] | sort |
        if length > 0 then "\(.[length / 2 | floor] / 1024 * 10 | round / 10) \(add / 1024 | round)" else "- -" end' "$work/vms.json")
    read -r rss_median rss_total <<< "$rss_line"
    say "boot (request → the program's first instruction): median $boot_median ms, max $boot_max ms over $boot_n VMs"
    say "RSS per VM: median $rss_median MiB; all of them together $rss_total MiB"
    hits=$(awk '$1 == "uigniter_pool_hits_total" { print $2 }' "$work/metrics.txt")
    misses=$(awk '$1 ~ /^uigniter_pool_misses_total/ { n += $2 } END { print n + 0 }' "$work/metrics.txt")
    why=$(sed -n 's/^uigniter_pool_misses_total{reason="\([a-z_]*\)"} \([1-9][0-9]*\)$/\1: \2/p' "$work/metrics.txt" | paste -sd, - | sed 's/,/, /g')
    say "cold starts: ${hits:-?} handed out by the warm pool, ${misses:-?} created on the spot${why:+ ($why)}"
    say "deployment ready in $(ms "$t0" "$t_deployed") s (uigniterctl deploy, in dependency order)"
    say ""
fi
rate=$(awk -v n="$nimages" -v a="$t_up" -v b="$t_done" 'BEGIN { printf "%.1f", n / ((b - a) / 1000) }')
say "images: $nimages uploaded in $(ms "$t_up" "$t_uploaded") s, all done $(ms "$t_up" "$t_done") s after the first upload: $rate images/s"
if [ "$same" = "$nimages" ]; then
    say "results: all $same byte-identical to the native reference filter; $failed failed"
else
    say "results: only $same of $nimages identical to the reference; differing:$(echo "$differ" | cut -c1-300)"
fi
[ "$native" = 1 ] || {
say ""
say "worker scaling (autoscale on taskdb's ready queue; t = 0 at the first upload):"
printf '  %10s %9s %6s %12s\n' t replicas ready "queue ready"
awk -v t0="$t_up" '{ printf "  %+9.3fs %9s %6s %12s\n", ($1 - t0) / 1000, $2, $3, $4 }' "$work/timeline" |
    head -40
# From the first task in taskdb (its "created", ms) to each worker asked for
# (created_at) and running its program (created_at + boot_ms).
t_task=$(jq -r '[.tasks[].created] | min // empty' "$work/done.json")
scale=$(jq -r --argjson t0 "${t_task:-0}" '
    def ms: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000 + (capture("\\.(?<f>[0-9]+)Z$").f | tonumber);
    [.[] | select(.deployment.service == "worker" and .deployment.name == "pipeline") |
     {c: (.created_at | ms), b: (.boot_ms // 0)}] | sort_by(.c) |
    if length > 0 then
      "\(.[0].c - $t0 | round) \(map(.c + .b) | max - $t0 | round) \(length) \(map(.c - $t0 | round | tostring) | join(" "))"
    else "- - 0 -" end' "$work/vms.json")
read -r first_worker_ms all_workers_ms nworkers asked_list <<< "$scale"
if [ -n "$workers" ]; then
    say "workers: $workers fixed replicas (--workers)"
elif [ -n "$t_task" ]; then
    say "scale-up: after the first task reached taskdb, workers were asked for at +${asked_list// / +} ms;"
    say "  all $nworkers running their program $all_workers_ms ms after it (the long poll wakes the daemon, the pool hands out VMs)"
fi
grep -o 'autoscale [0-9]* -> [0-9]* ([^)]*)' "$dlog" | sed 's/^/  daemon: /' | head -20
}
# recovered KIND: its kills after which it came back (or, a worker, was not
# wanted any more) and the deployment was ready again
recovered() { awk -v k="$1" '$2 == k && ($5 == "back" || $5 == "scaled-down")' "$kills" | wc -l; }
if [ "$chaos" = 1 ]; then
    say ""
    say "fault injection: $(wc -l < "$kills") VMs killed with SIGKILL while the images flowed:"
    awk -v t0="$t_up" '{ printf "  %+9.3fs %-8s %-22s %s after %d ms\n", ($1 - t0) / 1000, $2, $3, $5, $4 - $1 }' "$kills"
    for k in worker taskdb storage master; do
        say "  $k: $(recovered "$k") of $(awk -v k="$k" '$2 == k' "$kills" | wc -l) killed came back$(awk -v k="$k" '$2 == k && $5 == "back" { print $4 - $1 }' "$kills" | sort -n |
            awk '{ d[NR] = $1 } END { if (NR) printf " (median %d ms to running and the deployment ready)", d[int((NR + 1) / 2)] }')"
    done
    say "  deployment $(jq -r .state "$work/deployment.json") at the end"
    say "  uploads tried again: $(cut -d' ' -f1 "$retried" | sort -u | wc -l) images ($(wc -l < "$retried") attempts)"
    say "  tasks: $uploads uploads, $(wc -l < "$work/done.list") done ($extras extra from uploads whose answer was lost), $failed failed, $(tcount ready) ready, $(tcount leased) leased"
    say "  inputs intact: $inputs_ok of $nimages; results identical: $same of $nimages"
fi
say "================================================================================="
say "(demo took $(ms "$t_start" "$(now_ms)") s inside its namespace)"

if [ -n "$report" ]; then
    {
        echo "images=$nimages"
        echo "uploads=$uploads"
        echo "identical=$same"
        echo "failed=$failed"
        echo "done=$(wc -l < "$work/done.list")"
        echo "extra_tasks=$extras"
        echo "extra_not_retried=$extra_bad"
        echo "ready_left=$(tcount ready)"
        echo "leased_left=$(tcount leased)"
        echo "inputs_intact=$inputs_ok"
        echo "deploy_s=$(ms "$t0" "$t_deployed")"
        echo "run_s=$(ms "$t_up" "$t_done")"
        echo "images_per_s=$rate"
        echo "boot_median_ms=$boot_median"
        echo "rss_median_mib=$rss_median"
        echo "pool_hits=${hits:-}"
        echo "pool_misses=${misses:-}"
        echo "first_worker_ms=$first_worker_ms"
        echo "workers_running_ms=$all_workers_ms"
        echo "max_workers=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$work/timeline")"
        echo "final_workers=$(tail -1 "$work/timeline" | cut -d' ' -f2)"
        echo "deployment_state=$(jq -r .state "$work/deployment.json")"
        for k in worker taskdb storage master; do
            echo "killed_$k=$(awk -v k="$k" '$2 == k' "$kills" | wc -l)"
            echo "recovered_$k=$(recovered "$k")"
        done
    } > "$report"
fi

# What went wrong stays for a look: the tasks' files, the logs, the VMs.
keep_evidence() {
    local e=$root/build/demo-failure v
    rm -rf "$e" && mkdir -p "$e"
    cp -r "$work"/failed "$e/" 2> /dev/null
    cp "$work"/{ids,retried,kills,timeline,vms.json,deployment.json,pipeline.json} "$dlog" "$e/" 2> /dev/null
    for v in $(jq -r '.[] | select(.deployment.name == "pipeline") | .id' "$work/vms.json"); do
        "$CTL" logs "$v" > "$e/vm-$v.log" 2>&1
    done
    echo "demo: the evidence is in $e" >&2
}
if ! { [ "$same" = "$nimages" ] && [ "$failed" = 0 ]; }; then
    keep_evidence
    die "results differ from the reference"
fi
if ! [ "$chaos" = 0 ] && ! { [ "$inputs_ok" = "$nimages" ] && [ -z "$extra_bad" ]; }; then
    keep_evidence
    die "fault injection: a task or blob went wrong"
fi
ok=1
if [ "$keep" = 1 ]; then
    say ""
    say "The pipeline stays up. Web UI: http://127.0.0.1:$port/"
    say "  build/bin/uigniterctl --host $state/uigniterd.sock status pipeline"
    say "  scripts/demo.sh --down        ends it and removes everything"
fi
exit 0
