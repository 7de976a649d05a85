#!/usr/bin/env bash
# needs: kvm
# Deployments (docs/deploy.md) against uigniterd under ASan + UBSan, in a
# network namespace of our own, driven by uigniterctl and curl:
#   bad deployment files (clear 4xx, the daemon keeps serving); a deployment of
#   the registry (kvstore), taskdb on a named volume waiting for it, and two
#   httpd replicas: start order, ${registry} references expanded, taskdb
#   registered in kvstore and serving; a replica killed (restart "no") is
#   replaced, taskdb killed (restart "always") restarts in place with its data;
#   scaling up and down, a changed service replaced, kill -9 of the daemon and
#   the deployment found again with the same VMs; undeploy leaves no VM or tap.
# Prints one "PASS deploy/<case>" or "FAIL deploy/<case>: <why>" line per case.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
SUITE=deploy
source tests/lib.sh

DAEMON=$root/build/bin/uigniterd-asan
CTL=$root/build/bin/uigniterctl
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ -z "${UIG_DEPLOY_NS:-}" ]; then
    ns=uig-dep-$$
    ip netns add "$ns" || { fail setup "ip netns add $ns failed"; exit 0; }
    trap 'ns_clear "$ns"' EXIT
    trap 'exit 1' INT TERM
    ip -n "$ns" link set lo up
    ip netns exec "$ns" env UIG_DEPLOY_NS="$ns" bash "$0"
    exit 0
fi
ns=$UIG_DEPLOY_NS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-deploy.XXXXXX")
state=$tmp/state
api=http://127.0.0.1:6666
export UIGNITER_HOST=127.0.0.1:6666
daemon_pid=""

stop_daemon() { # SIGNAL
    [ -n "$daemon_pid" ] || return 0
    end_pid "$daemon_pid" "$1" 60
    daemon_pid=""
}
cleanup() {
    stop_daemon TERM
    if [ -n "${UIGNITER_DEPLOY_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_tools ip curl jq
need_built "$DAEMON" "$CTL" build/images/httpd.img build/images/kvstore.img \
    build/images/taskdb.img build/bin/uvmm build/uk.elf

call() { # METHOD PATH [CURL ARGS...]: status in $code, body in $tmp/body
    local m=$1 p=$2
    shift 2
    code=$(curl -s --max-time 120 -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$api$p")
}
put() { # NAME FILE
    call PUT "/deployments/$1" -H 'Content-Type: application/json' --data-binary "@$2"
}
is_error() {
    [ "$code" = "$1" ] && [ -n "$(jq -r '.error // ""' "$tmp/body" 2> /dev/null)" ]
}
check() { # NAME CONDITION...
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "$* (HTTP ${code:-}: $(head -c 300 "$tmp/body" 2> /dev/null | tr '\n' '|'))"; fi
}
st() { curl -s --max-time 30 "$api/deployments/$1" > "$tmp/st.json" && jq -r "$2" "$tmp/st.json"; }
svc() { st "$1" ".services[] | select(.name == \"$2\") | $3"; }
vmj() { curl -s --max-time 30 "$api/vm/$1" | jq -r "$2"; }
ready_is() { [ "$(svc "$1" "$2" .ready)" = "$3" ]; }
dep_ready() { [ "$(st "$1" .state)" = ready ]; }
taps() { ip -o link show 2> /dev/null | grep -c ': uigt[0-9]*[:@]'; }
live_vms() { curl -s --max-time 30 "$api/vm" | jq length; }
healthy() { [ "$(curl -s --max-time 10 "$api/healthz" | jq -r .status)" = ok ]; }

start_daemon() {
    "$DAEMON" --foreground --state-dir "$state" --subnet 10.97.0.0/24 --pool 2 \
        --stop-timeout 5 "$@" >> "$tmp/daemon.log" 2>&1 &
    daemon_pid=$!
    wait_for 120 curl -sf --max-time 5 "$api/healthz"
}

mkdir -p "$state"
if start_daemon; then
    pass daemon_up
else
    fail daemon_up "no /healthz within 120 s: $(tail -5 "$tmp/daemon.log" | tr '\n' '|')"
    exit 0
fi
for i in httpd kvstore taskdb; do
    "$CTL" load build/images/$i.img > /dev/null || fail "load_$i" "uigniterctl load failed"
done

# ---- bad deployment files -------------------------------------------------------------
bad() { # CASE STATUS JSON
    printf '%s' "$3" > "$tmp/bad.json"
    put bad "$tmp/bad.json"
    check "bad_$1" is_error "$2"
}
bad not_json 400 '{"services": ['
bad not_object 400 '[1]'
bad unknown_field 400 '{"services": [{"name": "a", "image": "httpd"}], "colour": 1}'
bad no_services 400 '{"services": []}'
bad service_field 400 '{"services": [{"name": "a", "image": "httpd", "replica": 2}]}'
bad service_name 400 '{"services": [{"name": "a.b", "image": "httpd"}]}'
bad twice 400 '{"services": [{"name": "a", "image": "httpd"}, {"name": "a", "image": "httpd"}]}'
bad replicas 400 '{"services": [{"name": "a", "image": "httpd", "replicas": -1}]}'
bad run_field 400 '{"services": [{"name": "a", "image": "httpd", "mem_mib": 1}]}'
bad unknown_dep 400 '{"services": [{"name": "a", "image": "httpd", "depends_on": ["b"]}]}'
bad cycle 400 '{"services": [{"name": "a", "image": "httpd", "port": 80, "args": ["${b}"]}, {"name": "b", "image": "httpd", "port": 80, "depends_on": ["a"]}]}'
bad self_ref 400 '{"services": [{"name": "a", "image": "httpd", "port": 80, "args": ["${a}"]}]}'
bad unknown_ref 400 '{"services": [{"name": "a", "image": "httpd", "args": ["${nosuch}"]}]}'
bad ref_no_port 400 '{"services": [{"name": "a", "image": "httpd", "args": ["${b}"]}, {"name": "b", "image": "httpd"}]}'
bad open_ref 400 '{"services": [{"name": "a", "image": "httpd", "args": ["${b"]}, {"name": "b", "image": "httpd"}]}'
bad ports_replicas 400 '{"services": [{"name": "a", "image": "httpd", "replicas": 2, "ports": ["8080:80"]}]}'
bad volume_name 400 '{"services": [{"name": "a", "image": "httpd", "volumes": ["../x:/data"]}]}'
bad name_mismatch 400 '{"name": "other", "services": [{"name": "a", "image": "httpd"}]}'
bad unknown_image 404 '{"services": [{"name": "a", "image": "nosuch"}]}'
call GET /deployments/bad
check bad_none_kept is_error 404
call POST /deployments/x
check bad_method is_error 405
call GET '/deployments/..%2Fx'
check bad_path_name is_error 404
check bad_daemon_serves healthy

# ---- a deployment ------------------------------------------------------------------------
cat > "$tmp/t1.json" <<'EOF'
{
  "name": "t1",
  "services": [
    {"name": "web", "image": "httpd", "port": 80, "replicas": 2, "restart": "no",
     "env": {"REGISTRY": "${registry}", "LITERAL": "$${registry}"}, "depends_on": ["taskdb"]},
    {"name": "taskdb", "image": "taskdb", "port": 8001, "mem_mib": 32,
     "args": ["--registry", "${registry}", "--data", "/data", "--ttl", "3"], "volumes": ["db:/data"]},
    {"name": "registry", "image": "kvstore", "port": 11211, "mem_mib": 32, "args": ["--memory", "8"]}
  ]
}
EOF
t0=$(date +%s.%N)
"$CTL" deploy --wait 180 "$tmp/t1.json" > "$tmp/deploy.out" 2> "$tmp/deploy.err"
rc=$?
t1=$(date +%s.%N)
check deploy_cli test "$rc" = 0
echo "deploy: t1 ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s" >&2
check deploy_table grep -q '^web .*2/2' "$tmp/deploy.out"
check deploy_ready dep_ready t1
reg_ip=$(svc t1 registry '.vms[0].ip_address')
reg_id=$(svc t1 registry '.vms[0].id')
tdb_id=$(svc t1 taskdb '.vms[0].id')
tdb_ip=$(svc t1 taskdb '.vms[0].ip_address')
check deploy_vm_names test "$(vmj t1.registry.1 .id)" = "$reg_id" -a "$(vmj t1.taskdb.1 .deployment.service)" = taskdb
check deploy_ref_args test "$(vmj "$tdb_id" '.args | join(" ")')" = "--registry $reg_ip:11211 --data /data --ttl 3"
check deploy_ref_env test "$(vmj t1.web.2 '.env | map(select(startswith("REGISTRY=") or startswith("LITERAL="))) | sort | join(" ")')" = "LITERAL=\${registry} REGISTRY=$reg_ip:11211"
# Order: taskdb was asked for only after the registry was up, web after taskdb.
check deploy_order test "$(vmj "$tdb_id" .created_at)" \> "$(vmj "$reg_id" .started_at)" -a \
    "$(vmj t1.web.1 .created_at)" \> "$(vmj "$tdb_id" .started_at)"
check deploy_volume test -d "$state/volumes/t1/db.1"
code=$(curl -s --max-time 10 -o "$tmp/body" -w '%{http_code}' -X POST -d '{"type": "t", "data": "kept", "ready": true}' "http://$tdb_ip:8001/task")
check deploy_taskdb_serves test "$code" = 201
task_id=$(jq -r .id "$tmp/body")
mc_get() { # IP KEY: the value of a memcached get
    exec 3<> "/dev/tcp/$1/11211" || return 1
    printf 'get %s\r\nquit\r\n' "$2" >&3
    timeout 5 cat <&3
    exec 3<&-
}
registered() { mc_get "$reg_ip" svc:taskdb | grep -q "$tdb_ip:8001"; }
check deploy_registered wait_for 20 registered
web1=$(vmj t1.web.1 .id)
check deploy_web_serves test "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://$(vmj "$web1" .ip_address)/")" = 200
check deploy_metrics sh -c "curl -s $api/metrics | grep -q 'uigniter_deployment_replicas{deployment=\"t1\",service=\"web\",kind=\"ready\"} 2'"

# ---- replacement and restart -------------------------------------------------------------
kill -KILL "$(vmj "$web1" .pid)"
replaced() { [ "$(vmj t1.web.1 .id)" != "$web1" ] && [ "$(svc t1 web .ready)" = 2 ]; }
check replace_ended wait_for 60 replaced
check replace_counted test "$(svc t1 web .replaced)" = 1 -a -n "$(svc t1 web '.last_end // ""')"
check replace_old_gone test "$(curl -s -o /dev/null -w '%{http_code}' "$api/vm/$web1")" = 404
kill -KILL "$(vmj "$tdb_id" .pid)"
restarted() { [ "$(vmj "$tdb_id" .restarts)" -ge 1 ] && ready_is t1 taskdb 1; }
check restart_in_place wait_for 60 restarted
check restart_same_ip test "$(vmj "$tdb_id" .ip_address)" = "$tdb_ip"
check restart_data_kept test "$(curl -s --max-time 10 "http://$tdb_ip:8001/task/$task_id" | jq -r .data)" = kept

# ---- scaling and updates -------------------------------------------------------------------
jq '(.services[] | select(.name == "web") | .replicas) = 3' "$tmp/t1.json" > "$tmp/t1-3.json"
put t1 "$tmp/t1-3.json"
check scale_put test "$code" = 200
check scale_up wait_for 60 ready_is t1 web 3
jq '(.services[] | select(.name == "web") | .replicas) = 1' "$tmp/t1.json" > "$tmp/t1-1.json"
put t1 "$tmp/t1-1.json"
web_count() { [ "$(curl -s "$api/vm" | jq '[.[] | select(.deployment.service == "web")] | length')" = "$1" ]; }
check scale_down wait_for 60 web_count 1
check scale_down_ready ready_is t1 web 1
old_web=$(vmj t1.web.1 .id)
jq '(.services[] | select(.name == "web") | .env.EXTRA) = "1" | (.services[] | select(.name == "web") | .replicas) = 1' "$tmp/t1.json" > "$tmp/t1-new.json"
put t1 "$tmp/t1-new.json"
updated() { [ "$(vmj t1.web.1 .id)" != "$old_web" ] && ready_is t1 web 1 && web_count 1; }
check update_replaces wait_for 60 updated
check update_env test "$(vmj t1.web.1 '.env | map(select(startswith("EXTRA="))) | join("")')" = EXTRA=1
check update_others_kept test "$(vmj t1.taskdb.1 .id)" = "$tdb_id" -a "$(vmj t1.registry.1 .id)" = "$reg_id"

# ---- the daemon killed and started again -----------------------------------------------------
before=$(curl -s "$api/vm" | jq -r '[.[].id] | sort | join(" ")')
stop_daemon KILL
if start_daemon; then
    check recover_loaded test "$(st t1 .name)" = t1
    check recover_ready wait_for 60 dep_ready t1
    sleep 1
    check recover_same_vms test "$(curl -s "$api/vm" | jq -r '[.[].id] | sort | join(" ")')" = "$before"
else
    fail recover_up "the daemon did not come back: $(tail -5 "$tmp/daemon.log" | tr '\n' '|')"
fi

# ---- undeploy ------------------------------------------------------------------------------------
"$CTL" undeploy t1 > "$tmp/undeploy.out" 2>&1
check undeploy_cli test $? = 0
check undeploy_gone test "$(curl -s -o /dev/null -w '%{http_code}' "$api/deployments/t1")" = 404
check undeploy_no_vms test "$(live_vms)" = 0
check undeploy_no_file test ! -e "$state/deployments/t1.json"
check undeploy_volume_kept test -d "$state/volumes/t1/db.1"
no_extra_taps() { [ "$(taps)" -le 2 ]; } # the pool's two prepared VMs
check undeploy_no_taps wait_for 10 no_extra_taps
"$CTL" status > "$tmp/status.out" 2>&1
check status_empty grep -q 'no deployments' "$tmp/status.out"

# ---- autoscaling ----------------------------------------------------------------------------------
# httpd stands in for a worker: it takes no task, so the queue keeps what is put in.
cat > "$tmp/t2.json" <<'EOF'
{
  "name": "t2",
  "services": [
    {"name": "queue", "image": "taskdb", "port": 8001, "mem_mib": 32,
     "args": ["--registry", "none", "--data", "/tmp/q", "--lease", "60"]},
    {"name": "w", "image": "httpd", "port": 80,
     "autoscale": {"queue": "queue", "min": 0, "max": 3, "per_replica": 2, "idle_s": 2}}
  ]
}
EOF
"$CTL" deploy --wait 120 "$tmp/t2.json" > /dev/null 2>&1
check autoscale_deploy test $? = 0
check autoscale_starts_at_min test "$(svc t2 w .replicas)" = 0 -a "$(svc t2 w '.autoscale.queue_ready')" = 0
q_ip=$(svc t2 queue '.vms[0].ip_address')
add_tasks() { # N: N ready tasks in the queue
    local k
    for k in $(seq 1 "$1"); do
        curl -s -m 10 -o /dev/null -X POST -d '{"ready": true}' "http://$q_ip:8001/task"
    done
}
w_ready() { [ "$(svc t2 w .ready)" = "$1" ] && [ "$(svc t2 w .replicas)" = "$1" ]; }
t0=$(date +%s%N)
add_tasks 1
check autoscale_up_from_0 wait_for 60 w_ready 1
echo "deploy: autoscale 0 -> 1 replica ready $((($(date +%s%N) - t0) / 1000000)) ms after the first task" >&2
add_tasks 2 # 3 tasks at 2 a replica: 2 replicas
check autoscale_up wait_for 60 w_ready 2
add_tasks 10
check autoscale_max wait_for 60 w_ready 3
sleep 1
check autoscale_not_above_max test "$(svc t2 w .replicas)" = 3
# Take every task: the queue empties, and 2 s later the replicas go.
while [ "$(curl -s -m 10 -o "$tmp/next" -w '%{http_code}' "http://$q_ip:8001/task/next")" = 200 ]; do
    curl -s -m 10 -o /dev/null -X POST "http://$q_ip:8001/task/$(jq -r .id "$tmp/next")/finish"
done
w_count() { [ "$(curl -s "$api/vm" | jq '[.[] | select(.deployment.service == "w")] | length')" = "$1" ]; }
check autoscale_down_to_0 wait_for 60 w_count 0
down_decided() {
    curl -s "$api/metrics" | grep -q 'uigniter_autoscale_decisions_total{deployment="t2",service="w",direction="down"} [1-9]'
}
check autoscale_decisions down_decided
check autoscale_last_decision test -n "$(svc t2 w '.autoscale.last_decision // ""')"
"$CTL" undeploy t2 > /dev/null 2>&1
check autoscale_undeploy test $? = 0

stop_daemon TERM
check daemon_clean_exit test "${end_rc:-1}" = 0
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$tmp/daemon.log"; then
    fail sanitizers "$(grep -m1 -E 'ERROR: |runtime error:' "$tmp/daemon.log")"
else
    pass sanitizers
fi
exit 0
