#!/usr/bin/env bash
# needs: kvm
# uigniterctl against the real uigniterd, end to end: a daemon of our own in a
# network namespace of our own (its bridge, taps and VMs live there), driven
# through every verb: load, images, run -d and attached, ps, inspect, logs,
# published ports, stats, stop, rm, rmi, --json, the Unix socket, Ctrl-C on an
# attached run. Traffic goes only to the namespace's loopback and to its VMs.
# Cleanup (also on failure): SIGTERM to the daemon we started (it stops its VMs),
# then the namespace and the temporary directory go.
# Prints one "PASS cli_e2e/<case>" or "FAIL cli_e2e/<case>: <why>" line per case.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

CTL=$root/build/bin/uigniterctl-asan
DAEMON=${UIGNITER_CLI_DAEMON:-$root/build/bin/uigniterd}
HTTPD_IMG=$root/build/images/httpd.img
HELLO_IMG=$root/build/images/hello.img
CONF=$root/build/tests/conformance
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset UIGNITER_HOST

ns=uig-cli-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-cli-e2e.XXXXXX")
state=$tmp/state
daemon_pid=""
bg_pid=""

SUITE=cli_e2e
source tests/lib.sh

cleanup() {
    if [ -n "$bg_pid" ] && kill -0 "$bg_pid" 2>/dev/null; then
        kill "$bg_pid" 2>/dev/null
        wait "$bg_pid" 2>/dev/null
    fi
    [ -n "$daemon_pid" ] && end_pid "$daemon_pid" TERM 60
    # Whatever still lives in our namespace (monitors of a daemon that had to be
    # killed) was started by this script.
    ns_clear "$ns"
    if [ -n "${UIGNITER_CLI_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_tools ip curl python3
need_built "$CTL" "$DAEMON" "$HTTPD_IMG" "$HELLO_IMG" "$CONF/crash_null" "$CONF/exit_42" \
    "$CONF/argv_env" build/bin/uvmm build/uk.elf

# ---- helpers ---------------------------------------------------------------------------
inns() { ip netns exec "$ns" "$@"; }
ctl() { ip netns exec "$ns" "$CTL" "$@"; }

# t NAME WANT CMD...: runs CMD (stdout in $tmp/out, stderr in $tmp/err); it must exit
# with WANT, and when WANT is 0 say nothing on stderr. Prints FAIL (not PASS: the
# caller checks the output and passes); returns 0 when the status was right.
t() {
    local name=$1 want=$2 rc
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "exit status $rc, wanted $want: $(head -c 400 "$tmp/err" | tr '\n' '|')"
        return 1
    fi
    if [ "$want" = 0 ] && [ -s "$tmp/err" ]; then
        fail "$name" "unexpected stderr: $(head -c 400 "$tmp/err" | tr '\n' '|')"
        return 1
    fi
    return 0
}

# ok NAME CONDITION...: PASS when the shell condition holds, else FAIL with detail.
ok() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "$* (stdout: $(head -c 300 "$tmp/out" | tr '\n' '|'))"; fi
}

# one_error PATTERN: stderr is exactly one line "uigniterctl: ..." matching PATTERN.
one_error() {
    [ "$(wc -l < "$tmp/err")" = 1 ] && grep -qE "^uigniterctl: .*$1" "$tmp/err"
}

# jget FILE EXPR: a Python expression on the JSON in FILE as j.
jget() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' < "$1"; }

vm_state() { # ID: prints the VM's state
    ctl --json inspect "$1" > "$tmp/state.json" 2> /dev/null && jget "$tmp/state.json" 'j["state"]'
}
vm_ended() { case "$(vm_state "$1")" in exited | crashed) return 0 ;; *) return 1 ;; esac; }
logs_have() { ctl logs "$1" 2> /dev/null | grep -qF -- "$2"; }

# ---- the daemon --------------------------------------------------------------------------
if ! ip netns add "$ns"; then
    fail setup "ip netns add $ns failed"
    exit 0
fi
ip -n "$ns" link set lo up
mkdir -p "$state"
ip netns exec "$ns" "$DAEMON" --foreground --state-dir "$state" --subnet 10.99.0.0/24 --pool 2 \
    > "$tmp/daemon.log" 2>&1 &
daemon_pid=$! # ip netns exec execs the daemon: this is its pid
if wait_for 120 inns curl -sf --max-time 5 http://127.0.0.1:6666/healthz; then
    pass daemon_up
else
    fail daemon_up "GET /healthz did not answer within 120 s: $(tail -5 "$tmp/daemon.log" | tr '\n' '|')"
    exit 0
fi

# ---- images --------------------------------------------------------------------------------
t load 0 ctl load "$HTTPD_IMG" && ok load grep -qx httpd "$tmp/out"
t load_hello 0 ctl load "$HELLO_IMG" && ok load_hello grep -qx hello "$tmp/out"
t load_name 0 ctl load "$CONF/crash_null" --name crash && ok load_name grep -qx crash "$tmp/out"
t load_name_first 0 ctl load --name exit42 "$CONF/exit_42" && ok load_name_first grep -qx exit42 "$tmp/out"
t load_elf_default_name 0 ctl load "$CONF/argv_env" && ok load_elf_default_name grep -qx argv_env "$tmp/out"
t load_json 0 ctl --json load "$HELLO_IMG" &&
    ok load_json test "$(jget "$tmp/out" 'j["name"]')" = hello
printf 'not an image' > "$tmp/junk.img"
t load_refused 1 ctl load "$tmp/junk.img" && ok load_refused one_error '\(HTTP 400\)$'
t load_bad_name 1 ctl load "$HELLO_IMG" --name ../evil && ok load_bad_name one_error '\(HTTP 400\)$'

if t images 0 ctl images; then
    ok images_header grep -qE '^NAME +KIND +SIZE +CREATED$' "$tmp/out"
    ok images_lists_httpd grep -qE '^httpd +image +100\.0 KiB +[0-9]+ (seconds?|minutes?) ago$' "$tmp/out"
    ok images_lists_elf grep -qE '^crash +elf ' "$tmp/out"
fi
t images_q 0 ctl images -q && ok images_q test "$(sort "$tmp/out" | tr '\n' ' ')" = "argv_env crash exit42 hello httpd "
if t images_json 0 ctl --json images; then
    ok images_json is_json "$tmp/out"
    ok images_json_names test "$(jget "$tmp/out" '" ".join(sorted(i["name"] for i in j))')" = "argv_env crash exit42 hello httpd"
fi

# ---- a detached server -----------------------------------------------------------------------
web=""
if t run_d 0 ctl run -d --name web httpd --port 80; then
    web=$(cat "$tmp/out")
    ok run_d_prints_id grep -qxE '[0-9a-f]{8,64}' "$tmp/out"
fi
t run_d_name_taken 1 ctl run -d --name web httpd --port 80 && ok run_d_name_taken one_error '\(HTTP 409\)$'
t run_unknown_image 1 ctl run nosuchimage && ok run_unknown_image one_error '\(HTTP 404\)$'
t run_d_unknown_image 1 ctl run -d nosuchimage && ok run_d_unknown_image one_error '\(HTTP 404\)$'

if [ -n "$web" ]; then
    ok logs_listening wait_for 120 logs_have web "httpd: listening on port 80"
    if t ps 0 ctl ps; then
        ok ps_header grep -qE '^ID +NAME +IMAGE +STATUS +IP +CPU +UPTIME +POOL$' "$tmp/out"
        ok ps_row grep -qE "^$web +web +httpd +running +10\\.99\\.0\\.[0-9]+ +[0-9]+ +[0-9][0-9dhms]* +(hit|miss)$" "$tmp/out"
    fi
    t ps_q 0 ctl ps -q && ok ps_q grep -qx "$web" "$tmp/out"
    t ps_json 0 ctl --json ps && ok ps_json is_json "$tmp/out"
    if t inspect_vm 0 ctl inspect web; then
        ok inspect_vm_json is_json "$tmp/out"
        ok inspect_vm_pretty grep -qE '^  "id": "[0-9a-f]+",$' "$tmp/out"
        ok inspect_vm_fields test "$(jget "$tmp/out" 'j["id"], j["name"], j["image"], j["args"]')" = "('$web', 'web', 'httpd', ['--port', '80'])"
    fi
    t inspect_prefix 0 ctl --json inspect "${web:0:6}" && ok inspect_prefix test "$(jget "$tmp/out" 'j["id"]')" = "$web"
    ip=$(ctl --json inspect web 2> /dev/null > "$tmp/web.json" && jget "$tmp/web.json" 'j["ip_address"]')
    if t curl_vm 0 inns curl -sf --max-time 20 "http://$ip:80/"; then
        ok curl_vm test "$(tr -d '\n' < "$tmp/out")" = "$(printf 'x%.0s' $(seq 1 1024))"
    fi
    t logs_tail 0 ctl logs --tail 1 web && ok logs_tail grep -qx "httpd: listening on port 80" "$tmp/out"
    t stats 0 ctl stats &&
        ok stats_table grep -qE '^ID +NAME +CPU % +RSS +MEM +UPTIME +RESTARTS$' "$tmp/out" &&
        ok stats_row grep -qE "^$web +web +[0-9.]+% +[0-9.]+ [KMG]iB +128 MiB +[0-9][0-9dhms]* +0$" "$tmp/out" &&
        ok stats_pool grep -qE '^128 MiB +[0-9]+ +2$' "$tmp/out" &&
        ok stats_starts grep -qE '^starts: [0-9]+ from the pool, [0-9]+ made on the spot' "$tmp/out"
    t stats_json 0 ctl --json stats && ok stats_json is_json "$tmp/out" &&
        ok stats_json_vms test "$(jget "$tmp/out" 'j["vms"][0]["id"]')" = "$web"
    t unix_socket 0 "$CTL" --host "$state/uigniterd.sock" ps -q && ok unix_socket grep -qx "$web" "$tmp/out"
    t unix_socket_prefix 0 env UIGNITER_HOST="unix:$state/uigniterd.sock" "$CTL" ps -q &&
        ok unix_socket_prefix grep -qx "$web" "$tmp/out"
    t rm_running 1 ctl rm web && ok rm_running one_error '\(HTTP 409\)$'
fi

# ---- a published port -------------------------------------------------------------------------
if t run_p 0 ctl run -d -p 8080:80 --name web2 httpd --port 80; then
    ok logs_listening_web2 wait_for 120 logs_have web2 "httpd: listening on port 80"
    t curl_published 0 inns curl -sf --max-time 20 http://127.0.0.1:8080/bytes/5 &&
        ok curl_published test "$(cat "$tmp/out")" = xxxxx
    t run_p_port_taken 1 ctl run -d -p 8080:80 httpd --port 80 && ok run_p_port_taken one_error '\(HTTP 409\)$'
    t run_json 0 ctl --json inspect web2 && ok inspect_ports test "$(jget "$tmp/out" 'j["ports"]')" = "['127.0.0.1:8080:80']"
fi

# ---- attached runs ------------------------------------------------------------------------------
t run_attached 0 ctl run hello one 'two words' &&
    ok run_attached test "$(cat "$tmp/out")" = "$(printf 'Hello from a Uigniter unikernel!\nargv[1] = one\nargv[2] = two words')"
t run_attached_status 42 ctl run exit42 && pass run_attached_status
t run_attached_crash 139 ctl run --name crashed crash && pass run_attached_crash
t ps_a_crash 0 ctl ps -a && ok ps_a_crash grep -qE "^[0-9a-f]+ +crashed +crash +crashed \\(139 SIGSEGV\\) " "$tmp/out"
# argv_env's own status says whether argc and the environment's size are its
# conformance case's; here only what it prints matters.
ctl run -e FOO=bar -e EMPTY= argv_env x 'y z' > "$tmp/out" 2> "$tmp/err" < /dev/null
ok run_env grep -qx 'env \[FOO=bar\]' "$tmp/out"
ok run_env_empty grep -qx 'env \[EMPTY=\]' "$tmp/out"
ok run_env_args grep -qx 'argv\[2\]=\[y z\]' "$tmp/out"
t run_rm 0 ctl run --rm --name gone hello && ok run_rm_output grep -q '^Hello from' "$tmp/out" &&
    { t run_rm_removed 1 ctl inspect gone && ok run_rm_removed one_error '\(HTTP 404\)$'; }
t run_d_rm 0 ctl run -d --rm --name gone2 hello &&
    ok run_d_rm_removed wait_for 60 sh -c "! '$CTL' --host '$state/uigniterd.sock' inspect gone2"
mkdir -p "$tmp/vol" && echo data > "$tmp/vol/f"
(cd "$tmp" && ip netns exec "$ns" "$CTL" run -d --name withvol -v vol:/data:ro hello > "$tmp/out" 2> "$tmp/err")
if [ $? = 0 ]; then
    t volume_absolute 0 ctl --json inspect withvol &&
        ok volume_absolute test "$(jget "$tmp/out" 'j["volumes"]')" = "['$(realpath "$tmp/vol"):/data:ro']"
else
    fail volume_absolute "run -v vol:/data:ro: $(head -c 300 "$tmp/err")"
fi

# logs -f of a VM that ends: the stream stops with it
if t run_d_short 0 ctl run -d --name short hello follow; then
    t logs_follow_ends 0 timeout 120 "$CTL" --host "$state/uigniterd.sock" logs -f short &&
        ok logs_follow_ends grep -qx 'argv\[1\] = follow' "$tmp/out"
fi

# Ctrl-C on an attached run stops the VM; the command ends with the VM's status
# (a script's background job starts with SIGINT ignored, which uigniterctl
# respects, so it is started through a wrapper that restores the default; the
# exec chain python3 -> ip -> uigniterctl keeps the pid)
python3 -c 'import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    ip netns exec "$ns" "$CTL" run --name attached httpd --port 81 > "$tmp/attached.out" 2> "$tmp/attached.err" < /dev/null &
bg_pid=$!
if wait_for 120 grep -q 'listening on port 81' "$tmp/attached.out"; then
    pass run_attached_streams
    kill -INT "$bg_pid"
    for i in $(seq 1 600); do kill -0 "$bg_pid" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$bg_pid" 2> /dev/null; then
        fail run_sigint "uigniterctl run still runs 60 s after SIGINT"
    else
        wait "$bg_pid"
        rc=$?
        bg_pid=""
        want=$(ctl --json inspect attached 2> /dev/null > "$tmp/a.json" && jget "$tmp/a.json" 'j["exit_code"]')
        stopped=$(jget "$tmp/a.json" 'j["stopped"]' 2> /dev/null)
        if [ "$rc" = "$want" ] && [ "$stopped" = True ]; then
            pass run_sigint
        else
            fail run_sigint "status $rc, VM exit_code $want, stopped $stopped: $(head -c 300 "$tmp/attached.err")"
        fi
    fi
else
    fail run_attached_streams "no console output: $(head -c 300 "$tmp/attached.err")"
fi

# ---- stop, rm, rmi ----------------------------------------------------------------------------------
if [ -n "$web" ]; then
    t stop 0 ctl stop -t 5 web web2 && ok stop test "$(cat "$tmp/out" | tr '\n' ' ')" = "web web2 "
    ok stop_state test "$(vm_state web)" = exited
    t ps_after_stop 0 ctl ps -q && ok ps_after_stop sh -c "! grep -qx '$web' '$tmp/out'"
    t ps_a_after_stop 0 ctl ps -a && ok ps_a_after_stop grep -qE "^$web +web +httpd +exited \\([0-9]+" "$tmp/out"
    t stop_again 0 ctl stop web && pass stop_again
    t rm 0 ctl rm web && ok rm grep -qx web "$tmp/out"
    t inspect_removed 1 ctl inspect web && ok inspect_removed one_error '\(HTTP 404\)$'
    t logs_removed 1 ctl logs web && ok logs_removed one_error '\(HTTP 404\)$'
fi
t stop_unknown 1 ctl stop nosuchvm && ok stop_unknown one_error '\(HTTP 404\)$'
t rm_some_unknown 1 ctl rm web2 nosuchvm && ok rm_some_unknown grep -qx web2 "$tmp/out" &&
    ok rm_some_unknown_error one_error '\(HTTP 404\)$'
if t run_d_for_rm 0 ctl run -d --name busy httpd --port 80; then
    t rmi_in_use 1 ctl rmi httpd && ok rmi_in_use one_error '\(HTTP 409\)$'
    t rm_force 0 ctl rm -f busy && ok rm_force grep -qx busy "$tmp/out"
fi
t rmi 0 ctl rmi hello exit42 && ok rmi test "$(cat "$tmp/out" | tr '\n' ' ')" = "hello exit42 "
t images_after_rmi 0 ctl images -q && ok images_after_rmi sh -c "! grep -qxE 'hello|exit42' '$tmp/out'"
t rmi_unknown 1 ctl rmi nosuchimage && ok rmi_unknown one_error '\(HTTP 404\)$'
t rmi_force 0 ctl rmi -f httpd && pass rmi_force

# ---- the daemon ends cleanly -----------------------------------------------------------------------
kill -TERM "$daemon_pid"
for i in $(seq 1 600); do kill -0 "$daemon_pid" 2> /dev/null || break; sleep 0.1; done
if kill -0 "$daemon_pid" 2> /dev/null; then
    fail daemon_shutdown "uigniterd still runs 60 s after SIGTERM"
else
    wait "$daemon_pid"
    rc=$?
    daemon_pid=""
    if [ "$rc" = 0 ]; then pass daemon_shutdown; else fail daemon_shutdown "uigniterd exited $rc"; fi
    t unreachable_after 1 ctl ps && ok unreachable_after one_error 'cannot reach uigniterd at 127\.0\.0\.1:6666: Connection refused'
fi
if [ "$failures" != 0 ]; then
    echo "---- the daemon's log (last 40 lines) ----" >&2
    tail -40 "$tmp/daemon.log" >&2
fi
exit 0
