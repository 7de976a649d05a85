#!/usr/bin/env bash
# Host tests of uigniterctl's daemon verbs that need no daemon: --help of every
# verb, usage errors (status 2, one line), the global options, and what every
# verb says and returns when uigniterd cannot be reached, over TCP and over a
# Unix socket (status 1, one line naming the address tried). Runs the ASan build.
# Everything that needs a real daemon is in tests/cli_e2e (it needs KVM).
# Prints one "PASS cli/<case>" or "FAIL cli/<case>: <why>" line per case.
set -uo pipefail
cd "$(dirname "$0")/../.."

CTL=build/bin/uigniterctl-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset UIGNITER_HOST

if ! env -u MAKEFLAGS -u MFLAGS make --no-print-directory -s "$CTL" build/images/hello.img >&2; then
    echo "FAIL cli/build: make $CTL failed"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS cli/$1"; }
fail() { echo "FAIL cli/$1: $2"; }

# expect NAME STATUS PATTERN CMD...: CMD exits with STATUS; when STATUS is not 0, its
# stderr is exactly one line "uigniterctl: ..." matching the extended regex PATTERN;
# when it is 0, stderr is empty. stdout is left in $tmp/out.
expect() {
    local name=$1 want=$2 pat=$3 rc
    shift 3
    "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "exit status $rc, wanted $want: $(head -c 300 "$tmp/err")"
        return 1
    fi
    if [ "$want" != 0 ]; then
        if [ "$(wc -l < "$tmp/err")" != 1 ] || ! grep -qE "^uigniterctl: .*$pat" "$tmp/err"; then
            fail "$name" "stderr is not one line matching '$pat': $(head -c 300 "$tmp/err")"
            return 1
        fi
    elif [ -s "$tmp/err" ]; then
        fail "$name" "unexpected stderr: $(head -c 300 "$tmp/err")"
        return 1
    fi
    pass "$name"
}

verbs="run ps inspect logs stop rm images load rmi stats"

# ---- help ----------------------------------------------------------------------------
expect verb_help_main 0 '' "$CTL" --help
for v in $verbs; do
    grep -q "^  $v " "$tmp/out" || fail "verb_help_main_$v" "uigniterctl --help does not list $v"
done
grep -q -- '--host ADDR' "$tmp/out" && grep -q -- '--json' "$tmp/out" ||
    fail verb_help_main_globals "uigniterctl --help does not explain --host and --json"
for v in $verbs; do
    if expect "verb_help_$v" 0 '' "$CTL" "$v" --help; then
        grep -q "^usage: uigniterctl $v" "$tmp/out" &&
            grep -q "^exit status:" "$tmp/out" ||
            fail "verb_help_${v}_text" "no usage/exit status lines: $(head -c 200 "$tmp/out")"
    fi
    expect "verb_help_${v}_short" 0 '' "$CTL" "$v" -h
    expect "verb_help_${v}_via_help" 0 '' "$CTL" help "$v"
done
# --help wins even with a daemon address that does not work
expect verb_help_no_daemon_needed 0 '' "$CTL" --host 127.0.0.1:1 run --help

# ---- usage errors ------------------------------------------------------------------------
expect usage_global_unknown 2 "unknown option '--bogus'" "$CTL" --bogus ps
expect usage_global_host_missing 2 '--host needs an address' "$CTL" --host
expect usage_global_host_empty 2 'empty address' "$CTL" --host= ps
expect usage_global_no_command 2 'no command given' "$CTL" --json
expect usage_bad_host 2 "bad daemon address 'nonsense'" "$CTL" --host nonsense ps
expect usage_bad_host_port 2 "bad daemon address '127.0.0.1:99999'" "$CTL" --host 127.0.0.1:99999 ps
expect usage_bad_env_host 2 "UIGNITER_HOST: bad daemon address" env UIGNITER_HOST=x:y "$CTL" ps
expect usage_unix_path_too_long 2 'at most 107 bytes' \
    "$CTL" --host "/$(printf 'a%.0s' $(seq 1 120))" ps
expect usage_unix_empty 2 'names no socket path' "$CTL" --host unix: ps
expect usage_run_no_image 2 'IMAGE is missing' "$CTL" run
expect usage_run_only_options 2 'IMAGE is missing' "$CTL" run -d --name x
expect usage_run_unknown 2 "run: unknown option '--bogus'" "$CTL" run --bogus hello
expect usage_run_unknown_short 2 "run: unknown option '-z'" "$CTL" run -z hello
expect usage_run_env_missing 2 'run: -e needs a value' "$CTL" run -e
expect usage_run_env_empty 2 "run: -e '=x'" "$CTL" run -e =x hello
expect usage_run_name_missing 2 'run: --name needs a value' "$CTL" run --name
expect usage_run_mem_bad 2 "run: -m 'lots'" "$CTL" run -m lots hello
expect usage_run_mem_zero 2 "run: -m '0'" "$CTL" run -m 0 hello
expect usage_run_restart_bad 2 "run: --restart 'sometimes'" "$CTL" run --restart sometimes hello
expect usage_run_volume_bad 2 'run: -v data: want HOSTDIR:GUESTDIR' "$CTL" run -v data hello
expect usage_run_volume_relative_guest 2 'GUESTDIR absolute' "$CTL" run -v /tmp:data hello
expect usage_ps_extra 2 "ps: unexpected argument 'x'" "$CTL" ps x
expect usage_ps_unknown 2 "ps: unknown option '-z'" "$CTL" ps -z
expect usage_images_extra 2 "images: unexpected argument" "$CTL" images x
expect usage_stats_extra 2 "stats: unexpected argument" "$CTL" stats x
expect usage_logs_none 2 'logs: want one VM' "$CTL" logs
expect usage_logs_two 2 'logs: want one VM' "$CTL" logs a b
expect usage_logs_tail_bad 2 "logs: --tail 'x'" "$CTL" logs --tail x a
expect usage_logs_tail_missing 2 'logs: --tail needs a value' "$CTL" logs a --tail
expect usage_stop_none 2 'stop: no VM given' "$CTL" stop
expect usage_stop_time_bad 2 "stop: -t 'soon'" "$CTL" stop -t soon a
expect usage_rm_none 2 'rm: no VM given' "$CTL" rm -f
expect usage_rmi_none 2 'rmi: no image given' "$CTL" rmi
expect usage_load_none 2 'load: want one FILE' "$CTL" load
expect usage_load_two 2 'load: want one FILE' "$CTL" load a b
expect usage_load_name_missing 2 'load: --name needs a value' "$CTL" load a --name
expect usage_load_unnamable 2 "cannot name an image after 'dir/'" "$CTL" load dir/
expect usage_inspect_none 2 'expected one APP.img or VM id' "$CTL" inspect
expect usage_inspect_two 2 'expected one APP.img or VM id' "$CTL" inspect a b

# ---- inspect: files stay files ---------------------------------------------------------
expect inspect_file_still_an_image 0 '' "$CTL" --host 127.0.0.1:1 inspect build/images/hello.img &&
    { grep -q '^entry: /bin/hello' "$tmp/out" || fail inspect_file_listing "$(head -3 "$tmp/out")"; }
(cd build/images && "../../$CTL" --host 127.0.0.1:1 inspect hello.img > "$tmp/out" 2> "$tmp/err")
if [ $? = 0 ] && grep -q '^entry: /bin/hello' "$tmp/out"; then
    pass inspect_file_in_cwd
else
    fail inspect_file_in_cwd "inspect hello.img in build/images: $(head -c 200 "$tmp/err")"
fi
expect inspect_missing_path_is_a_file 1 'No such file or directory' \
    "$CTL" --host 127.0.0.1:1 inspect "$tmp/nope.img"
expect load_missing_file 1 "$tmp/nope.img: No such file or directory" \
    "$CTL" --host 127.0.0.1:1 load "$tmp/nope.img"
expect load_directory 1 'not a regular file' "$CTL" --host 127.0.0.1:1 load "$tmp"

# ---- an unreachable daemon ---------------------------------------------------------------
# TCP port 1 on loopback: nothing listens there. A Unix socket path that does not
# exist, and one whose listener has gone (the file stays: ECONNREFUSED).
hint='\(is the daemon running\? --host or UIGNITER_HOST\)$'
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' \
    "$tmp/dead.sock" || fail unreachable_setup "cannot make a dead Unix socket"
touch "$tmp/hello.img.copy"
unreachable_cases() { # SUFFIX ADDR ERRNO-TEXT
    local sfx=$1 addr=$2 err=$3
    local pat="cannot reach uigniterd at ${addr//./\\.}: $err $hint"
    expect "unreachable_${sfx}_ps" 1 "$pat" "$CTL" --host "$addr" ps
    expect "unreachable_${sfx}_ps_a_q" 1 "$pat" "$CTL" --host "$addr" ps -a -q
    expect "unreachable_${sfx}_images" 1 "$pat" "$CTL" --host "$addr" images
    expect "unreachable_${sfx}_stats" 1 "$pat" "$CTL" --host "$addr" stats
    expect "unreachable_${sfx}_inspect" 1 "$pat" "$CTL" --host "$addr" inspect 3f9c2a1b7d04
    expect "unreachable_${sfx}_logs" 1 "$pat" "$CTL" --host "$addr" logs -f web-1
    expect "unreachable_${sfx}_stop_many" 1 "$pat" "$CTL" --host "$addr" stop -t 1 a b c
    expect "unreachable_${sfx}_rm" 1 "$pat" "$CTL" --host "$addr" rm -f a
    expect "unreachable_${sfx}_rmi" 1 "$pat" "$CTL" --host "$addr" rmi httpd
    expect "unreachable_${sfx}_load" 1 "$pat" "$CTL" --host "$addr" load build/images/hello.img
    expect "unreachable_${sfx}_run_d" 1 "$pat" "$CTL" --host "$addr" run -d hello
    expect "unreachable_${sfx}_run" 1 "$pat" "$CTL" --host "$addr" run --rm hello a b
    expect "unreachable_${sfx}_json" 1 "$pat" "$CTL" --host "$addr" --json ps
}
unreachable_cases tcp 127.0.0.1:1 'Connection refused'
unreachable_cases unix "$tmp/none.sock" 'No such file or directory'
expect unreachable_unix_dead 1 "cannot reach uigniterd at ${tmp//./\\.}/dead\\.sock: Connection refused" \
    "$CTL" --host "$tmp/dead.sock" ps
expect unreachable_unix_prefix 1 "cannot reach uigniterd at unix:${tmp//./\\.}/dead\\.sock: Connection refused" \
    "$CTL" --host "unix:$tmp/dead.sock" ps
expect unreachable_env_host 1 'cannot reach uigniterd at 127\.0\.0\.1:1: ' \
    env UIGNITER_HOST=127.0.0.1:1 "$CTL" ps
expect unreachable_flag_beats_env 1 "cannot reach uigniterd at ${tmp//./\\.}/none\\.sock: " \
    env UIGNITER_HOST=127.0.0.1:1 "$CTL" --host "$tmp/none.sock" ps
expect unreachable_host_equals 1 'cannot reach uigniterd at 127\.0\.0\.1:1: ' "$CTL" --host=127.0.0.1:1 ps
# The default address, in a network namespace of our own where nothing listens
# (a daemon on this machine's 127.0.0.1:6666 must not change the answer).
if unshare -n true 2>/dev/null; then
    expect unreachable_default 1 "cannot reach uigniterd at 127\\.0\\.0\\.1:6666: .*$hint" \
        unshare -n sh -c 'ip link set lo up 2>/dev/null; exec "$0" ps' "$CTL"
else
    pass "unreachable_default # skipped: unshare -n needs root"
fi
exit 0
