#!/usr/bin/env bash
# needs: kvm
# uigniterd's API, pool, network, supervision and recovery, driven with curl and
# tests/daemon/dtool against the daemon under ASan + UBSan, in a network namespace
# of our own (its bridge, taps and VMs live there; traffic goes only to the
# namespace's loopback and to its VMs).
#   API conformance (the original body too), images (good, bad, traversal, too
#   big), errors 400/404/405/409/413, httpd reachable by address, stop (tap gone),
#   crash, restart policies, wait, logs and their cap, auto_remove, published
#   ports, cores, volumes (a pool miss), metrics, the Unix socket, 10,000
#   connections at once, a slow client, N run/stop cycles by 4 clients at once
#   with no leaked tap, address, process or fd, kill -9 of the daemon and
#   recovery, graceful shutdown.
# UIGNITER_DAEMON_CYCLES sets N (default 1000).
# Prints one "PASS daemon/<case>" or "FAIL daemon/<case>: <why>" line per case.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
SUITE=daemon
source tests/lib.sh

DAEMON=$root/build/bin/uigniterd-asan
DTOOL=$root/build/tests/daemon/dtool
CONF=$root/build/tests/conformance
CYCLES=${UIGNITER_DAEMON_CYCLES:-1000}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The script runs itself inside the namespace it made (one `ip netns exec`, not one
# per command); the outer half removes the namespace and whatever is left in it.
if [ -z "${UIG_DAEMON_NS:-}" ]; then
    ns=uig-d-$$
    ip netns add "$ns" || { fail setup "ip netns add $ns failed"; exit 0; }
    trap 'ns_clear "$ns"' EXIT
    trap 'exit 1' INT TERM
    ip -n "$ns" link set lo up
    ip netns exec "$ns" env UIG_DAEMON_NS="$ns" bash "$0"
    exit 0
fi
ns=$UIG_DAEMON_NS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-daemon.XXXXXX")
state=$tmp/state
sock=$state/uigniterd.sock
api=http://127.0.0.1:6666
daemon_pid=""
slow_pid=""

stop_daemon() { # SIGNAL: ends the daemon we started, waits for it; its status in $daemon_rc
    daemon_rc=""
    [ -n "$daemon_pid" ] || return 0
    end_pid "$daemon_pid" "$1" 60
    daemon_rc=$end_rc
    daemon_pid=""
}

cleanup() {
    [ -n "$slow_pid" ] && kill "$slow_pid" 2> /dev/null
    stop_daemon TERM
    if [ -n "${UIGNITER_DAEMON_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_tools ip curl jq
need_built "$DAEMON" "$DTOOL" build/images/httpd.img build/images/hello.img "$CONF/crash_null" build/tests/pool/sigterm \
    "$CONF/exit_42" "$CONF/stdout_large" build/bin/uvmm build/uk.elf

# ---- helpers ---------------------------------------------------------------------------
inns() { "$@"; } # already inside

# call METHOD PATH [CURL ARGS...]: the status in $code, the body in $tmp/body
call() {
    local m=$1 p=$2
    shift 2
    code=$(inns curl -s --max-time 60 -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$api$p")
}
# run_vm JSON: POST /vm/run; the VM's id in $id
run_vm() {
    call POST /vm/run -H 'Content-Type: application/json' --data-binary "$1"
    id=$(jget "$tmp/body" '.id // ""' 2> /dev/null)
}
jget() { jq -r "$2" "$1"; } # FILE FILTER
# vm ID EXPR: EXPR on GET /vm/ID's JSON
vm() {
    inns curl -s --max-time 30 "$api/vm/$1" > "$tmp/vm.json" && jget "$tmp/vm.json" "$2"
}
is_error() { # STATUS: $code is STATUS and the body is {"error": "..."} with a reason
    [ "$code" = "$1" ] && [ -n "$(jget "$tmp/body" '.error // ""' 2> /dev/null)" ]
}
check() { # NAME CONDITION...
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "$* (HTTP $code: $(head -c 300 "$tmp/body" 2> /dev/null | tr '\n' '|'))"; fi
}
state_is() { [ "$(vm "$1" .state)" = "$2" ]; }
ended() { case "$(vm "$1" .state)" in exited | crashed) return 0 ;; *) return 1 ;; esac; }
vm_gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/vm/$1")" = 404 ]; }
restarts_at_least() { [ "$(vm "$1" .restarts)" -ge "$2" ]; }
pool_ready_is() { [ "$(inns curl -s --max-time 10 "$api/healthz" | jq -r .pool_ready)" = "$1" ]; }
logs_have() { inns curl -s --max-time 10 "$api/vm/$1/logs" | grep -qF -- "$2"; }
taps() { ip -n "$ns" -o link show 2> /dev/null | grep -c ': uigt[0-9]*[:@]'; }
metric() { inns curl -s --max-time 10 "$api/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
uvmms() { # how many uvmm processes run in the namespace
    local n=0 p
    for p in $(ip netns pids "$ns"); do
        [ "$(cat /proc/$p/comm 2> /dev/null)" = uvmm ] && n=$((n + 1))
    done
    echo $n
}

start_daemon() { # extra options
    "$DAEMON" --foreground --state-dir "$state" --subnet 10.98.0.0/24 \
        --pool 2 --stop-timeout 5 --log-size 65536 --max-image 8388608 "$@" \
        >> "$tmp/daemon.log" 2>&1 &
    daemon_pid=$!
    wait_for 120 inns curl -sf --max-time 5 "$api/healthz"
}

# ---- the daemon --------------------------------------------------------------------------
mkdir -p "$state"
if start_daemon; then
    pass daemon_up
else
    fail daemon_up "GET /healthz did not answer within 120 s: $(tail -5 "$tmp/daemon.log" | tr '\n' '|')"
    exit 0
fi
# The slow client runs beside everything else: the header timeout (10 s) must end it.
inns "$DTOOL" slow 127.0.0.1 6666 40 > "$tmp/slow.out" 2>&1 &
slow_pid=$!

call GET /healthz
check healthz test "$code" = 200 -a "$(jget "$tmp/body" .status)" = ok
check healthz_unix test "$(inns curl -s --unix-socket "$sock" http://uigniterd/healthz | jq -r .status)" = ok

# ---- images ------------------------------------------------------------------------------
up() { # NAME FILE
    call POST "/images?name=$1" -H 'Content-Type: application/octet-stream' --data-binary "@$2"
}
up httpd build/images/httpd.img
check image_upload test "$code" = 201 -a "$(jget "$tmp/body" '"\(.name) \(.kind)"')" = "httpd image"
up hello build/images/hello.img
up exit42 "$CONF/exit_42"
check image_upload_elf test "$code" = 201 -a "$(jget "$tmp/body" .kind)" = elf
up crash "$CONF/crash_null"
up large "$CONF/stdout_large"
call GET /images
check image_list test "$(jget "$tmp/body" '[.[].name] | join(" ")')" = "crash exit42 hello httpd large"
call GET /images/httpd
check image_get test "$code" = 200 -a "$(jget "$tmp/body" .size)" = "$(stat -c %s build/images/httpd.img)"
printf 'not an image at all' > "$tmp/junk"
up junk "$tmp/junk"
check image_junk is_error 400
head -c 100 build/images/httpd.img > "$tmp/trunc"
up trunc "$tmp/trunc"
check image_truncated is_error 400
up '..%2Fevil' build/images/hello.img
check image_traversal is_error 400
up '.hidden' build/images/hello.img
check image_dot_name is_error 400
call POST /images -H 'Content-Type: application/octet-stream' --data-binary @build/images/hello.img
check image_no_name is_error 400
head -c 9000000 /dev/zero > "$tmp/big"
up big "$tmp/big"
check image_too_big is_error 413
check image_no_leftovers test -z "$(ls -A "$state/images" | grep -vE '^(crash|exit42|hello|httpd|large)\.img$|^\.(exit42|crash|large)\.elf$')"
call GET /images/nosuch
check image_unknown is_error 404
call DELETE /images/nosuch
check image_delete_unknown is_error 404

# ---- errors -----------------------------------------------------------------------------------
run_vm '{"image": "httpd",'
check json_malformed is_error 400
run_vm '[1, 2]'
check json_not_object is_error 400
run_vm '{"image": "httpd", "colour": "blue"}'
check json_unknown_field is_error 400
run_vm '{"image": 5}'
check json_wrong_type is_error 400
run_vm '{}'
check json_no_image is_error 400
run_vm '{"image": "nosuch"}'
check run_unknown_image is_error 404
run_vm '{"image": "../httpd"}'
check run_image_traversal is_error 400
run_vm '{"image": "httpd", "mem_mib": 1}'
check run_bad_mem is_error 400
run_vm '{"image": "httpd", "restart": "sometimes"}'
check run_bad_restart is_error 400
run_vm '{"image": "httpd", "ports": ["80"]}'
check run_bad_port is_error 400
run_vm '{"image": "httpd", "volumes": ["relative:/data"]}'
check run_bad_volume is_error 400
run_vm '{"image": "httpd", "args": ["a"], "cmdline": "b"}'
check run_args_and_cmdline is_error 400
{ printf '{"image": "httpd", "env": ["'; head -c 3000000 /dev/zero | tr '\0' A; printf '=1"]}'; } > "$tmp/huge.json"
call POST /vm/run -H 'Content-Type: application/json' --data-binary "@$tmp/huge.json"
check body_too_big is_error 413
call GET /vm/nosuch
check vm_unknown is_error 404
call POST /vm/nosuch/stop
check stop_unknown is_error 404
call PUT /vm/run
check method_not_allowed is_error 405
call GET /nosuch
check route_unknown is_error 404
printf 'GARBAGE\r\n\r\n' | inns "$DTOOL" raw 127.0.0.1 6666 > "$tmp/raw.out"
check http_garbage grep -q '^HTTP/1.1 400' "$tmp/raw.out"

# ---- a server, by address --------------------------------------------------------------------
run_vm '{"image": "httpd", "args": ["--port", "80"], "name": "web"}'
web=$id
check run_201 test "$code" = 201 -a -n "$web"
ip=$(jget "$tmp/body" .ip_address)
check run_ip test -n "$ip" -a "${ip%.*}" = 10.98.0
check run_listening wait_for 120 logs_have web "httpd: listening on port 80"
check run_state test "$(vm web '"\(.state) \(.pool_hit) \(.pid > 0) \(.boot_ms != null)"')" = "running true true true"
check run_by_name_and_prefix test "$(vm "${web:0:5}" .id)" = "$web"
check http_by_ip test "$(inns curl -s --max-time 20 "http://$ip/bytes/10")" = xxxxxxxxxx
run_vm '{"image": "httpd", "name": "web"}'
check name_taken is_error 409
call DELETE "/vm/$web"
check delete_running is_error 409
call GET /vm
check list test "$(jget "$tmp/body" '[.[].id] | join(" ")')" = "$web"

# ---- the original body --------------------------------------------------------------------
run_vm '{"image_name": "httpd", "cmdline": "--port 8081", "read_only": true}'
orig=$id
check original_body test "$code" = 201 -a -n "$orig"
oip=$(jget "$tmp/body" .ip_address)
check original_body_serves wait_for 120 inns curl -sf --max-time 5 "http://$oip:8081/bytes/3"

# ---- stop: graceful, then forced; the tap goes -----------------------------------------------
tap=$(vm "$orig" .tap)
call POST "/vm/$orig/stop"
check stop test "$code" = 200 -a "$(jget "$tmp/body" '"\(.state) \(.stopped)"')" = "exited true"
check stop_tap_gone wait_for 10 sh -c "! ip -n $ns link show $tap"
call POST "/vm/$orig/stop"
check stop_again test "$code" = 200
# The program gets the SIGTERM: one that handles it exits 0 and says so; one
# that ignores it is killed after the stop's timeout.
up sigterm build/tests/pool/sigterm
run_vm '{"image": "sigterm", "args": ["handle"]}'
gid=$id
check stop_graceful_ready wait_for 60 logs_have "$gid" ready
call POST "/vm/$gid/stop"
check stop_graceful test "$code" = 200 -a "$(jget "$tmp/body" '"\(.state) \(.exit_code) \(.stopped)"')" = "exited 0 true"
check stop_graceful_log logs_have "$gid" "got SIGTERM, exiting cleanly"
run_vm '{"image": "sigterm", "args": ["ignore"]}'
iid=$id
check stop_ignored_ready wait_for 60 logs_have "$iid" ready
call POST "/vm/$iid/stop?timeout=1"
check stop_ignored_forced test "$code" = 200 -a "$(jget "$tmp/body" '"\(.state) \(.exit_code) \(.signal)"')" = "exited 137 SIGKILL"
call DELETE "/vm/$gid"
call DELETE "/vm/$iid"
call DELETE "/vm/$orig"
check delete test "$code" = 204
call GET "/vm/$orig"
check delete_gone is_error 404

# ---- endings: crash, status, restart policies, wait ---------------------------------------------
run_vm '{"image": "crash", "name": "crash"}'
check crash wait_for 120 state_is crash crashed
check crash_signal test "$(vm crash '"\(.exit_code) \(.signal)"')" = "139 SIGSEGV"
run_vm '{"image": "exit42", "name": "e42", "wait": true}'
check wait test "$code" = 201 -a "$(jget "$tmp/body" .state)" != starting
check exit_status wait_for 60 ended e42
check exit_status_42 test "$(vm e42 '"\(.state) \(.exit_code) \(.restarts)"')" = "exited 42 0"
run_vm '{"image": "exit42", "name": "onfail", "restart": "on-failure"}'
check restart_on_failure wait_for 120 restarts_at_least onfail 2
call POST /vm/onfail/stop
check restart_stopped test "$code" = 200 -a "$(jget "$tmp/body" .state)" = exited
r1=$(vm onfail .restarts)
sleep 2
check restart_stays_stopped test "$(vm onfail '"\(.state) \(.restarts)"')" = "exited $r1"
run_vm '{"image": "hello", "name": "always", "restart": "always"}'
check restart_always wait_for 120 restarts_at_least always 1
call POST /vm/always/stop
run_vm '{"image": "hello", "name": "once", "restart": "on-failure"}'
wait_for 60 ended once
sleep 1
check restart_on_failure_success test "$(vm once '"\(.state) \(.exit_code) \(.restarts)"')" = "exited 0 0"

# ---- logs ------------------------------------------------------------------------------------
run_vm '{"image": "hello", "name": "greet", "args": ["one", "two words"]}'
wait_for 60 ended greet
call GET /vm/greet/logs
check logs test "$(cat "$tmp/body")" = "$(printf 'Hello from a Uigniter unikernel!\nargv[1] = one\nargv[2] = two words')"
call GET '/vm/greet/logs?tail=1'
check logs_tail test "$(cat "$tmp/body")" = "argv[2] = two words"
check logs_follow_ended timeout 20 curl -sf "$api/vm/greet/logs?follow=1" -o /dev/null
run_vm '{"image": "large", "name": "large"}'
wait_for 120 ended large
call GET /vm/large/logs
size=$(stat -c %s "$tmp/body")
check logs_capped test "$size" -le 65536 -a "$size" -gt 16384
check logs_keep_the_end sh -c "tail -1 '$tmp/body' | grep -q ."
check logs_files_capped test "$(cat "$state"/vms/*/console.log* 2> /dev/null | wc -c)" -le $((65536 * 3))
run_vm '{"image": "hello", "name": "temp", "auto_remove": true}'
check auto_remove wait_for 20 vm_gone temp

# ---- published ports ----------------------------------------------------------------------
run_vm '{"image": "httpd", "name": "pub", "args": ["--port", "80"], "ports": ["8090:80"]}'
check port_listening wait_for 120 logs_have pub "listening on port 80"
inns curl -s --max-time 60 -o "$tmp/large" http://127.0.0.1:8090/bytes/3000000
check port_large_body test "$(stat -c %s "$tmp/large")" = 3000000 -a "$(tr -d x < "$tmp/large" | wc -c)" = 0
run_vm '{"image": "httpd", "ports": ["8090:80"]}'
check port_taken is_error 409
call POST /vm/pub/stop
check port_released wait_for 10 sh -c "! curl -s --max-time 2 http://127.0.0.1:8090/"

# ---- cores -------------------------------------------------------------------------------------
ncpu=$(nproc)
ids=()
for i in 1 2 3 4; do
    run_vm "{\"image\": \"httpd\", \"name\": \"core$i\", \"args\": [\"--port\", \"80\"]}"
    ids+=("$id")
done
cpus=$(for i in 1 2 3 4; do vm core$i .cpu; done | sort -u | wc -l)
want=$((ncpu < 4 ? ncpu : 4))
check cores_spread test "$cpus" = "$want"
for i in 1 2 3 4; do call POST /vm/core$i/stop; done

# ---- volumes: made on the spot, served from the host directory ----------------------------------
mkdir -p "$tmp/www" && echo "from the host" > "$tmp/www/page"
misses0=$(metric 'uigniter_pool_misses_total{reason="volumes"}')
run_vm "{\"image\": \"httpd\", \"name\": \"vol\", \"args\": [\"--port\", \"80\", \"--root\", \"/www\"], \"volumes\": [\"$tmp/www:/www:ro\"]}"
vip=$(jget "$tmp/body" .ip_address)
check volume_pool_hit_false test "$(jget "$tmp/body" .pool_hit)" = false
check volume_served wait_for 120 sh -c "[ \"\$(curl -s --max-time 5 http://$vip/page)\" = 'from the host' ]"
check volume_miss_counted test "$(metric 'uigniter_pool_misses_total{reason="volumes"}')" = $((${misses0:-0} + 1))
call POST /vm/vol/stop

# ---- metrics -----------------------------------------------------------------------------
inns curl -s "$api/metrics" > "$tmp/metrics"
check metrics_pool grep -qE '^uigniter_pool_ready\{mem_mib="128"\} [0-9]+$' "$tmp/metrics"
check metrics_hits sh -c "[ \$(awk '\$1 == \"uigniter_pool_hits_total\" {print \$2}' $tmp/metrics) -ge 5 ]"
check metrics_histogram grep -qE '^uigniter_start_seconds_bucket\{le="\+Inf"\} [0-9]+$' "$tmp/metrics"
check metrics_crashes sh -c "[ \$(awk '\$1 == \"uigniter_vm_crashes_total\" {print \$2}' $tmp/metrics) -ge 1 ]"
check metrics_states grep -qE '^uigniter_vms\{state="running"\} 1$' "$tmp/metrics"

# ---- many connections, the slow client ----------------------------------------------------
if inns "$DTOOL" conns 127.0.0.1 6666 10000 > "$tmp/conns.out" 2>&1; then
    pass conns_10000
else
    fail conns_10000 "$(cat "$tmp/conns.out")"
fi
wait "$slow_pid"
slow_pid=""
check slow_client grep -qE '^closed after ([0-9]|1[0-9]) s: HTTP/1.1 408' "$tmp/slow.out"
call GET /healthz
check serving_after_abuse test "$code" = 200

# ---- run/stop cycles leak nothing -----------------------------------------------------------
wait_for 60 pool_ready_is 2
fds0=$(ls /proc/$daemon_pid/fd | wc -l)
taps0=$(taps)
ips0=$(metric uigniter_ips_in_use)
procs0=$(uvmms)
t0=$(date +%s)
if inns "$DTOOL" cycles -j 4 "$sock" "$CYCLES" httpd --port 80 > "$tmp/cycles.out" 2>&1; then
    pass "cycles_$CYCLES"
else
    fail "cycles_$CYCLES" "$(cat "$tmp/cycles.out")"
fi
echo "    ($CYCLES cycles in $(($(date +%s) - t0)) s)" >&2
wait_for 60 pool_ready_is 2
sleep 1
check cycles_no_tap_leak test "$(taps)" = "$taps0"
check cycles_no_ip_leak test "$(metric uigniter_ips_in_use)" = "$ips0"
check cycles_no_process_leak test "$(uvmms)" = "$procs0"
fds1=$(ls /proc/$daemon_pid/fd | wc -l)
check cycles_no_fd_leak test "$fds1" -le $((fds0 + 2))

# ---- kill -9 of the daemon: re-adoption, reaping, orphans ---------------------------------------
run_vm '{"image": "exit42", "name": "dies", "restart": "on-failure"}'
sleep 1
wpid=$(vm web .pid)
run_vm '{"image": "httpd", "name": "doomed", "args": ["--port", "80"]}'
check doomed_up wait_for 120 logs_have doomed "listening on port 80"
dpid=$(vm doomed .pid)
stop_daemon KILL
kill -KILL "$dpid" # this VM ends while no daemon watches
orphans=$(uvmms)
check kill9_vms_survive kill -0 "$wpid"
if start_daemon; then
    pass kill9_restart
else
    fail kill9_restart "GET /healthz did not answer: $(tail -5 "$tmp/daemon.log" | tr '\n' '|')"
    exit 0
fi
check kill9_adopted test "$(vm web '"\(.state) \(.pid)"')" = "running $wpid"
check kill9_adopted_serves test "$(inns curl -s --max-time 20 "http://$ip/bytes/4")" = xxxx
check kill9_reaped wait_for 10 sh -c "curl -s $api/vm/doomed | grep -qE '\"state\":\"(crashed|exited)\"'"
check kill9_restart_policy wait_for 60 sh -c "curl -s $api/vm/dies | grep -qE '\"state\":\"(running|restarting|exited)\"'"
call POST /vm/dies/stop
wait_for 60 pool_ready_is 2
sleep 1
# Left: web (adopted) and the new pool's two; the old pool's monitors and taps are gone.
check kill9_orphans_gone test "$(uvmms)" = 3
check kill9_taps_released test "$(taps)" = 3
check kill9_ips_released test "$(metric uigniter_ips_in_use)" = 3
call POST /vm/web/stop
check kill9_adopted_stop test "$code" = 200 -a "$(jget "$tmp/body" .state)" = exited

# ---- graceful shutdown: VMs stopped, taps removed ----------------------------------------------
run_vm '{"image": "httpd", "name": "last", "args": ["--port", "80"]}'
check last_running wait_for 120 state_is last running
stop_daemon TERM
check shutdown_status test "$daemon_rc" = 0
check shutdown_no_process test "$(uvmms)" = 0
check shutdown_no_tap test "$(taps)" = 0
check shutdown_no_leak_report sh -c "! grep -qE 'LeakSanitizer|runtime error|AddressSanitizer' '$tmp/daemon.log'"
if [ "$failures" != 0 ]; then
    echo "---- the daemon's log (last 40 lines) ----" >&2
    tail -40 "$tmp/daemon.log" >&2
fi
exit 0
