#!/usr/bin/env bash
# uigniterd's network manager (daemon/netmgr.c) against the real kernel: the
# bridge, the taps and the address allocator, driven by nmtest (ASan + UBSan)
# inside a network namespace of our own. What netmgr does to links is checked
# independently with ip(8); the allocator's cases judge themselves in nmtest.
# No KVM and no traffic outside the namespace. Cleanup (also on failure): the
# nmtest processes we started, then the namespace and the temporary directory.
# Prints one "PASS netmgr/<case>" or "FAIL netmgr/<case>: <why>" line per case.
# UIGNITER_NMTEST names another build of nmtest (against another netmgr.c, say);
# UIGNITER_NETMGR_KEEP=1 keeps the temporary directory.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

NM=${UIGNITER_NMTEST:-$root/build/tests/netmgr/nmtest}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

ns=uig-nm-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uig-netmgr.XXXXXX")
bg_pids=()

SUITE=netmgr
source tests/lib.sh

cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    ns_clear "$ns"
    if [ -n "${UIGNITER_NETMGR_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then fail setup "needs root (network namespaces, taps)"; exit 0; fi
command -v ip >/dev/null || { fail setup "ip is missing (make setup installs iproute2)"; exit 0; }
[ -x "$NM" ] || { fail setup "$NM is not built (make test-deps)"; exit 0; }
[ -c /dev/net/tun ] || { fail setup "/dev/net/tun is missing"; exit 0; }
if ! ip netns add "$ns"; then fail setup "ip netns add $ns failed"; exit 0; fi
ip -n "$ns" link set lo up

# ---- helpers -------------------------------------------------------------------------------
inns() { ip -n "$ns" "$@"; }

# nm CASE BRIDGE SUBNET PREFIX [ARG...]: nmtest in the namespace, stdout in
# $tmp/out, stderr in $tmp/err; its status is returned.
nm() { ip netns exec "$ns" "$NM" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; }

# why: what nmtest said went wrong (its "error:" line, or its stderr).
why() {
    local e
    e=$(grep -m1 '^error: ' "$tmp/out")
    [ -n "$e" ] || e=$(head -c 400 "$tmp/err" | tr '\n' '|')
    echo "${e:-no output}"
}

# run NAME CASE ARG...: a case nmtest judges by itself; its stderr must stay
# empty (a sanitizer's report goes there).
run() {
    local name=$1
    shift
    if ! nm "$@"; then
        fail "$name" "$(why)"
    elif [ -s "$tmp/err" ]; then
        fail "$name" "stderr: $(head -c 400 "$tmp/err" | tr '\n' '|')"
    else
        pass "$name"
    fi
}

# Background nmtest runs whose stdin is a fifo we hold, so a line or EOF tells
# them to go on. bg_start TAG CASE ARG... sets bg_pid and bg_fd.
bg_start() {
    local tag=$1
    shift
    rm -f "$tmp/$tag.in"
    mkfifo "$tmp/$tag.in"
    ip netns exec "$ns" "$NM" "$@" <"$tmp/$tag.in" >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
    bg_pid=$! # ip netns exec execs nmtest: this is its pid
    bg_pids+=("$bg_pid")
    exec {bg_fd}>"$tmp/$tag.in"
}
# bg_end PID: waits for it and returns its status.
bg_end() {
    local rc
    wait "$1" 2>/dev/null
    rc=$?
    local keep=() p
    for p in "${bg_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    bg_pids=("${keep[@]}")
    return $rc
}
has_line() { grep -qx "$2" "$1"; }

link_names() { inns -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }
taps_named() { link_names | grep -E "^$1[0-9]+\$"; }
count_taps() { taps_named "$1" | wc -l; }
link_line() { inns -o -d link show dev "$1" 2>/dev/null; }
flags_of() { link_line "$1" | sed -n 's/^[0-9]*: [^:]*: <\([^>]*\)>.*/\1/p'; }
has_flag() { [[ ",$(flags_of "$1")," == *",$2,"* ]]; }
master_of() { link_line "$1" | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
mac_of() { link_line "$1" | sed -n 's|.*link/ether \([0-9a-f:]*\) .*|\1|p'; }
addrs_of() { inns -4 -o addr show dev "$1" | awk '{ print $4 " brd " $6 }'; }

# mklink NAME: a link that is neither a bridge nor one of netmgr's taps: a
# dummy, or an ifb where the kernel has no dummy, or at worst a persistent tap.
# Its kind is left in mk_kind.
mklink() {
    for mk_kind in dummy ifb; do
        inns link add "$1" type $mk_kind 2>/dev/null && return 0
    done
    mk_kind=tun
    inns tuntap add dev "$1" mode tap
}

# tap_ok NAME BRIDGE: a non-persistent tap, attached to BRIDGE, up with carrier;
# prints what is wrong.
tap_ok() {
    local l
    l=$(link_line "$1")
    [ -n "$l" ] || { echo "$1 is not in the kernel"; return 1; }
    [[ $l == *" tun type tap "* ]] || { echo "$1 is not a tap"; return 1; }
    [[ $l == *" persist off "* ]] || { echo "$1 is persistent"; return 1; }
    [ "$(master_of "$1")" = "$2" ] || { echo "$1 has master '$(master_of "$1")', not $2"; return 1; }
    has_flag "$1" UP || { echo "$1 is not up ($(flags_of "$1"))"; return 1; }
    has_flag "$1" LOWER_UP || { echo "$1 has no carrier ($(flags_of "$1"))"; return 1; }
    return 0
}
# taps_ok FILE BRIDGE PREFIX N: FILE lists N distinct names PREFIX<digits>, all tap_ok.
taps_ok() {
    local f=$1 br=$2 pfx=$3 n=$4 t names
    names=$(grep -E "^${pfx}[0-9]+\$" "$f")
    [ "$(grep -vx -e ready -e closed "$f" | wc -l)" = "$n" ] && [ "$(echo "$names" | wc -l)" = "$n" ] ||
        { echo "not $n names $pfx<N>: $(head -5 "$f" | tr '\n' ' ')"; return 1; }
    [ "$(echo "$names" | sort -u | wc -l)" = "$n" ] || { echo "a name given twice"; return 1; }
    for t in $names; do tap_ok "$t" "$br" || return 1; done
    return 0
}

# ---- the bridge ------------------------------------------------------------------------------
br=uigbr0
if nm open $br 10.50.0.0/24 uigt; then
    l=$(link_line $br)
    if ! grep -qx 'gw 10.50.0.1/24' "$tmp/out"; then
        fail bridge_created "nmtest says $(head -1 "$tmp/out")"
    elif [[ $l != *" bridge forward_delay "* ]]; then
        fail bridge_created "$br is not a bridge: ${l:0:200}"
    elif ! has_flag $br UP; then
        fail bridge_created "$br is not up: $(flags_of $br)"
    elif [ "$(addrs_of $br)" != "10.50.0.1/24 brd 10.50.0.255" ]; then
        fail bridge_created "addresses of $br: $(addrs_of $br | tr '\n' ' ')"
    elif [ "$(mac_of $br)" != 02:75:67:32:00:01 ]; then
        fail bridge_created "MAC of $br is $(mac_of $br), not the gateway's 02:75:67:32:00:01"
    elif [ -s "$tmp/err" ]; then
        fail bridge_created "stderr: $(head -c 300 "$tmp/err")"
    else
        pass bridge_created
    fi
else
    fail bridge_created "$(why)"
fi

# Opened again, in one process (a handle kept open) and in another: one address.
if ! nm open $br 10.50.0.0/24 uigt 4; then
    fail reopen_idempotent "$(why)"
elif ! nm open $br 10.50.0.0/24 uigt; then
    fail reopen_idempotent "second process: $(why)"
elif [ "$(addrs_of $br)" != "10.50.0.1/24 brd 10.50.0.255" ]; then
    fail reopen_idempotent "addresses of $br: $(addrs_of $br | tr '\n' ' ')"
elif [ "$(link_names | grep -c "^$br\$")" != 1 ] || ! has_flag $br UP; then
    fail reopen_idempotent "$br: $(link_line $br | head -c 200)"
else
    pass reopen_idempotent
fi

# A bridge somebody took down and stripped of its address is set up again.
inns link set $br down && inns addr flush dev $br
if ! nm open $br 10.50.0.0/24 uigt; then
    fail reopen_repairs "$(why)"
elif [ "$(addrs_of $br)" != "10.50.0.1/24 brd 10.50.0.255" ] || ! has_flag $br UP; then
    fail reopen_repairs "$br: $(flags_of $br), addresses $(addrs_of $br | tr '\n' ' ')"
else
    pass reopen_repairs
fi

# Several daemons' worth of opens racing for a bridge that does not exist yet.
pids=()
for i in 1 2 3 4 5 6; do
    ip netns exec "$ns" "$NM" open uigbr3 10.53.0.0/24 uigt >"$tmp/open$i.out" 2>&1 </dev/null &
    pids+=($!)
done
bad=""
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || bad="$bad open $((i + 1)): $(head -1 "$tmp/open$((i + 1)).out")"
done
if [ -n "$bad" ]; then
    fail open_parallel "$bad"
elif [ "$(addrs_of uigbr3)" != "10.53.0.1/24 brd 10.53.0.255" ] || ! has_flag uigbr3 UP; then
    fail open_parallel "uigbr3: $(flags_of uigbr3), addresses $(addrs_of uigbr3 | tr '\n' ' ')"
else
    pass open_parallel
fi

# A link of the bridge's name that is not a bridge: refused, and left alone.
mklink uigdum0
inns tuntap add dev uigtun0 mode tap
if ! nm open-fail uigdum0 10.54.0.0/24 uigt EEXIST; then
    fail exists_not_bridge "$(why)"
elif ! grep -qx "uigdum0 exists and is not a bridge (kind '$mk_kind')" "$tmp/out"; then
    fail exists_not_bridge "message: $(head -1 "$tmp/out")"
elif [ -n "$(addrs_of uigdum0)" ] || has_flag uigdum0 UP; then
    fail exists_not_bridge "uigdum0 was changed: $(flags_of uigdum0) $(addrs_of uigdum0)"
elif ! nm open-fail uigtun0 10.54.0.0/24 uigt EEXIST; then
    fail exists_not_bridge "a tap of that name: $(why)"
elif ! grep -qx "uigtun0 exists and is not a bridge (kind 'tun')" "$tmp/out"; then
    fail exists_not_bridge "message for a tap: $(head -1 "$tmp/out")"
else
    pass exists_not_bridge
fi
inns link del uigdum0
inns link del uigtun0

# Bad configurations: EINVAL with a message, and no link made or changed.
# bad_config NAME PATTERN BRIDGE SUBNET PREFIX...: each triple must fail so, with
# one line of message matching PATTERN.
bad_config() {
    local name=$1 pattern=$2 before after
    shift 2
    before=$(link_names)
    while [ $# -ge 3 ]; do
        if ! nm open-fail "$1" "$2" "$3" EINVAL; then
            fail "$name" "bridge '$1' subnet '$2' prefix '$3': $(why)"
            return
        fi
        if [ "$(wc -l <"$tmp/out")" != 1 ] || ! grep -qE -- "$pattern" "$tmp/out"; then
            fail "$name" "bridge '$1' subnet '$2' prefix '$3': message '$(head -c 200 "$tmp/out")'"
            return
        fi
        after=$(link_names)
        if [ "$before" != "$after" ]; then
            fail "$name" "bridge '$1' subnet '$2' prefix '$3': links changed to $(echo $after)"
            return
        fi
        shift 3
    done
    pass "$name"
}
bad_config bad_bridge_name "^bridge name '.*' (is not a valid interface name|looks like a tap name)" \
    "" 10.55.0.0/24 uigt \
    uigniterbridge16 10.55.0.0/24 uigt \
    br/0 10.55.0.0/24 uigt \
    "br 0" 10.55.0.0/24 uigt \
    br:0 10.55.0.0/24 uigt \
    . 10.55.0.0/24 uigt \
    .. 10.55.0.0/24 uigt \
    'br%d' 10.55.0.0/24 uigt \
    'uig%s' 10.55.0.0/24 uigt \
    uigt3 10.55.0.0/24 uigt
bad_config bad_subnet "^subnet '.*': (expected ADDR/PREFIX|'.*' is not an IPv4 address|the prefix must be 8\.\.30)" \
    uigbr9 "" uigt \
    uigbr9 10.55.0.0 uigt \
    uigbr9 10.55.0/24 uigt \
    uigbr9 10.55.256.0/24 uigt \
    uigbr9 fd00::/64 uigt \
    uigbr9 10.55.0.0/ uigt \
    uigbr9 10.55.0.0/24x uigt \
    uigbr9 10.55.0.0/-24 uigt \
    uigbr9 "10.55.0.0/ 24" uigt \
    uigbr9 /24 uigt
bad_config subnet_host_bits "^subnet '10\.55\.0\.[0-9]+/24': host bits set \(the network is 10\.55\.0\.0/24\)$" \
    uigbr9 10.55.0.1/24 uigt \
    uigbr9 10.55.0.128/24 uigt
bad_config subnet_prefix_range "the prefix must be 8\.\.30$" \
    uigbr9 10.0.0.0/7 uigt \
    uigbr9 0.0.0.0/0 uigt \
    uigbr9 10.55.0.0/31 uigt \
    uigbr9 10.55.0.1/32 uigt \
    uigbr9 10.55.0.0/100 uigt
bad_config bad_tap_prefix "^tap prefix '.*': 1\.\.14 characters of an interface name$" \
    uigbr9 10.55.0.0/24 "" \
    uigbr9 10.55.0.0/24 abcdefghijklmno \
    uigbr9 10.55.0.0/24 ta/p \
    uigbr9 10.55.0.0/24 "ta p" \
    uigbr9 10.55.0.0/24 'ta%d'

# The bounds of the prefix are accepted.
if ! nm open uigbr8 10.0.0.0/8 uigt; then
    fail subnet_prefix_bounds "/8: $(why)"
elif [ "$(addrs_of uigbr8)" != "10.0.0.1/8 brd 10.255.255.255" ]; then
    fail subnet_prefix_bounds "/8: addresses $(addrs_of uigbr8)"
elif ! nm open uigbr30 10.56.0.4/30 uigt; then
    fail subnet_prefix_bounds "/30: $(why)"
elif [ "$(addrs_of uigbr30)" != "10.56.0.5/30 brd 10.56.0.7" ]; then
    fail subnet_prefix_bounds "/30: addresses $(addrs_of uigbr30)"
else
    pass subnet_prefix_bounds
fi

# ---- addresses -------------------------------------------------------------------------------
run ip_alloc_all_24 alloc-all $br 10.50.0.0/24 uigt
run ip_alloc_all_16 alloc-all uigbr1 10.51.0.0/16 uigt
run ip_exhausted_30 alloc-all uigbr30 10.56.0.4/30 uigt
run ip_nextfit alloc-nextfit $br 10.50.0.0/24 uigt
run ip_nextfit_high alloc-nextfit uigbr2 172.31.255.0/24 uigt
run ip_reserve reserve $br 10.50.0.0/24 uigt
run ip_reserve_16 reserve uigbr1 10.51.0.0/16 uigt
run mac_format mac $br 10.50.0.0/24 uigt
run threads threads uigbr1 10.51.0.0/16 uigp
[ "$(count_taps uigp)" = 0 ] || fail threads_taps_gone "$(taps_named uigp | head -3 | tr '\n' ' ')"

# ---- taps --------------------------------------------------------------------------------------
bg_start taps taps $br 10.50.0.0/24 uigt 3
if ! wait_for 30 has_line "$tmp/taps.out" ready; then
    fail tap_created "no 'ready': $(head -c 300 "$tmp/taps.out" "$tmp/taps.err" | tr '\n' '|')"
    exec {bg_fd}>&-
else
    if r=$(taps_ok "$tmp/taps.out" $br uigt 3); then pass tap_created; else fail tap_created "$r"; fi
    names=$(grep -vx ready "$tmp/taps.out")
    # Closing the fds removes the taps while the process lives on.
    echo close >&$bg_fd
    if ! wait_for 30 has_line "$tmp/taps.out" closed; then
        fail tap_gone_on_close "no 'closed'"
    else
        left=""
        for t in $names; do [ -z "$(link_line "$t")" ] || left="$left $t"; done
        if [ -n "$left" ]; then fail tap_gone_on_close "still there:$left"; else pass tap_gone_on_close; fi
    fi
    exec {bg_fd}>&-
fi
if ! bg_end "$bg_pid"; then
    fail taps_exit "status $?: $(head -c 300 "$tmp/taps.err" | tr '\n' '|')"
elif [ -s "$tmp/taps.err" ]; then
    fail taps_exit "stderr: $(head -c 300 "$tmp/taps.err" | tr '\n' '|')"
else
    pass taps_exit
fi

# The process holding the taps is killed: its taps go with it.
bg_start kill taps $br 10.50.0.0/24 uigt 4
if ! wait_for 30 has_line "$tmp/kill.out" ready; then
    fail tap_gone_on_kill "no 'ready': $(head -c 300 "$tmp/kill.out" "$tmp/kill.err" | tr '\n' '|')"
else
    names=$(grep -vx ready "$tmp/kill.out")
    if ! r=$(taps_ok "$tmp/kill.out" $br uigt 4); then
        fail tap_gone_on_kill "before the kill: $r"
    else
        kill -KILL "$bg_pid"
        bg_end "$bg_pid"
        left=""
        wait_for 10 sh -c "! ip -n $ns -o link show | grep -qE ': uigt[0-9]+:'"
        for t in $names; do [ -z "$(link_line "$t")" ] || left="$left $t"; done
        if [ -n "$left" ]; then fail tap_gone_on_kill "still there:$left"; else pass tap_gone_on_kill; fi
    fi
fi
exec {bg_fd}>&-
bg_end "$bg_pid" 2>/dev/null

# The fd: close-on-exec, a tap without packet information, not persistent, live.
if ! nm tap-fd $br 10.50.0.0/24 uigt; then
    fail tap_fd "$(why)"
elif [ -s "$tmp/err" ]; then
    fail tap_fd "stderr: $(head -c 300 "$tmp/err")"
elif [ -n "$(link_line "$(cat "$tmp/out")")" ]; then
    fail tap_fd "$(cat "$tmp/out") outlived its fd"
else
    pass tap_fd
fi

# Names taken by other links (a dummy, a persistent tap) are skipped, and
# those links are left as they were.
mklink uigs0
inns tuntap add dev uigs1 mode tap
if ! nm taps $br 10.50.0.0/24 uigs 2; then
    fail tap_skips_taken "$(why)"
elif [ "$(grep -vx ready "$tmp/out" | tr '\n' ' ')" != "uigs2 uigs3 " ]; then
    fail tap_skips_taken "names $(grep -vx ready "$tmp/out" | tr '\n' ' '), wanted uigs2 uigs3"
elif [ -n "$(master_of uigs0)$(master_of uigs1)" ] || has_flag uigs0 UP || has_flag uigs1 UP; then
    fail tap_skips_taken "the links in the way were changed: $(link_line uigs0 | head -c 120) / $(link_line uigs1 | head -c 120)"
elif [[ $(link_line uigs1) != *" persist on "* ]]; then
    fail tap_skips_taken "uigs1 is no longer persistent"
else
    pass tap_skips_taken
fi
inns link del uigs0
inns link del uigs1

# A prefix of 14 characters leaves ten names: the eleventh tap is EBUSY.
if ! nm tap-exhaust $br 10.50.0.0/24 uigtabcdefghij 10; then
    fail tap_names_exhausted "$(why)"
elif ! grep -qx 'no free tap name uigtabcdefghij0\.\.uigtabcdefghij9' "$tmp/out"; then
    fail tap_names_exhausted "message: $(head -1 "$tmp/out")"
elif [ "$(count_taps uigtabcdefghij)" != 0 ]; then
    fail tap_names_exhausted "taps left: $(taps_named uigtabcdefghij | tr '\n' ' ')"
else
    pass tap_names_exhausted
fi

# The bridge vanishes under an open manager: tap_create fails cleanly.
nm open uigbr5 10.57.0.0/24 uign
bg_start nobr tap-nobridge uigbr5 10.57.0.0/24 uign
if ! wait_for 30 has_line "$tmp/nobr.out" open; then
    fail tap_without_bridge "no 'open': $(head -c 300 "$tmp/nobr.out" "$tmp/nobr.err" | tr '\n' '|')"
    exec {bg_fd}>&-
    bg_end "$bg_pid"
else
    inns link del uigbr5
    echo go >&$bg_fd
    exec {bg_fd}>&-
    if ! bg_end "$bg_pid"; then
        fail tap_without_bridge "$(grep -m1 '^error: ' "$tmp/nobr.out" || head -c 300 "$tmp/nobr.err")"
    elif ! grep -q 'uigbr5' "$tmp/nobr.out"; then
        fail tap_without_bridge "message does not name the bridge: $(tail -1 "$tmp/nobr.out")"
    elif [ "$(count_taps uign)" != 0 ]; then
        fail tap_without_bridge "taps left: $(taps_named uign | tr '\n' ' ')"
    else
        pass tap_without_bridge
    fi
fi

# ---- tap_delete and tap_list ----------------------------------------------------------------------
inns tuntap add dev uigt90 mode tap
if ! nm delete $br 10.50.0.0/24 uigt uigt90; then
    fail tap_delete_orphan "$(why)"
elif ! grep -qx 'uigt90 0 -' "$tmp/out"; then
    fail tap_delete_orphan "nmtest: $(cat "$tmp/out")"
elif [ -n "$(link_line uigt90)" ]; then
    fail tap_delete_orphan "uigt90 is still there"
else
    pass tap_delete_orphan
fi

if ! nm delete $br 10.50.0.0/24 uigt uigt91 uigt999999; then
    fail tap_delete_missing "$(why)"
elif [ "$(tr '\n' ' ' <"$tmp/out")" != "uigt91 0 - uigt999999 0 - " ]; then
    fail tap_delete_missing "nmtest: $(tr '\n' ' ' <"$tmp/out")"
else
    pass tap_delete_missing
fi

# Only names of our taps are deleted: not the bridge, lo, or lookalikes.
mklink uigtx
before=$(link_names)
if ! nm delete $br 10.50.0.0/24 uigt $br lo uigt uigtx uigt-1 uigt1x uigt1234567890123 ""; then
    fail tap_delete_refuses "$(why)"
elif [ "$(grep -c ' -1 EINVAL$' "$tmp/out")" != 8 ]; then
    fail tap_delete_refuses "nmtest: $(tr '\n' ' ' <"$tmp/out")"
elif [ "$before" != "$(link_names)" ]; then
    fail tap_delete_refuses "links changed: $(link_names | tr '\n' ' ')"
else
    pass tap_delete_refuses
fi
inns link del uigtx

run tap_delete_held delete-held $br 10.50.0.0/24 uigt

# A link of another kind with a tap's name is not netmgr's to delete.
mklink uigt8
if [ "$mk_kind" = tun ]; then
    want="uigt8 0 -" # no other kind of link here: a persistent tap is one of ours
else
    want="uigt8 -1 EINVAL"
fi
if ! nm delete $br 10.50.0.0/24 uigt uigt8; then
    fail tap_delete_other_kind "$(why)"
elif [ "$(cat "$tmp/out")" != "$want" ]; then
    fail tap_delete_other_kind "nmtest: $(cat "$tmp/out"), wanted $want ($mk_kind)"
elif [ "$mk_kind" != tun ] && [ -z "$(link_line uigt8)" ]; then
    fail tap_delete_other_kind "the $mk_kind uigt8 was deleted"
else
    pass tap_delete_other_kind
fi
inns link del uigt8 2>/dev/null

# The kernel finds a link by its alternative names too: a name that is only
# another link's altname is neither deleted, nor given to a tap, nor taken for
# the bridge.
mkalt() { # each case has it anew, should an earlier one have deleted it
    local a
    [ -z "$(link_line uigalt)" ] || return 0
    inns tuntap add dev uigalt mode tap
    for a in uigt5 uigr0 uigbralt; do
        inns link property add dev uigalt altname $a || fail altnames "ip link property add dev uigalt altname $a failed"
    done
}
mkalt
if ! nm delete $br 10.50.0.0/24 uigt uigt5; then
    fail tap_delete_altname "$(why)"
elif [ "$(cat "$tmp/out")" != "uigt5 -1 EEXIST" ]; then
    fail tap_delete_altname "nmtest: $(cat "$tmp/out")"
elif [ -z "$(link_line uigalt)" ]; then
    fail tap_delete_altname "uigalt, which has the altname uigt5, was deleted"
else
    pass tap_delete_altname
fi
mkalt
if ! nm taps $br 10.50.0.0/24 uigr 1; then
    fail tap_skips_altname "$(why)"
elif [ "$(head -1 "$tmp/out")" != uigr1 ]; then
    fail tap_skips_altname "the tap is $(head -1 "$tmp/out"), wanted uigr1"
elif [ -n "$(master_of uigalt)" ] || has_flag uigalt UP; then
    fail tap_skips_altname "uigalt was changed: $(link_line uigalt | head -c 200)"
else
    pass tap_skips_altname
fi
mkalt
if ! nm open-fail uigbralt 10.58.0.0/24 uigt EEXIST; then
    fail bridge_altname "$(why)"
elif ! grep -qx "uigbralt is an alternative name of the link uigalt" "$tmp/out"; then
    fail bridge_altname "message: $(head -1 "$tmp/out")"
elif [ -n "$(addrs_of uigalt)" ] || has_flag uigalt UP; then
    fail bridge_altname "uigalt was changed: $(flags_of uigalt) $(addrs_of uigalt)"
else
    pass bridge_altname
fi
inns link del uigalt

# tap_list: names of the prefix followed by digits only, whatever the link.
for l in uigt7 uigt42 uigtx uigt7a uigt xuigt3 uigt-1 uigt0x1; do mklink "$l"; done
if ! nm list $br 10.50.0.0/24 uigt; then
    fail tap_list_filter "$(why)"
elif [ "$(tr '\n' ' ' <"$tmp/out")" != "uigt42 uigt7 " ]; then
    fail tap_list_filter "listed: $(tr '\n' ' ' <"$tmp/out")"
else
    pass tap_list_filter
fi
for l in uigt7 uigt42 uigtx uigt7a uigt xuigt3 uigt-1 uigt0x1; do inns link del "$l"; done
if ! nm list $br 10.50.0.0/24 uigt; then
    fail tap_list_empty "$(why)"
elif [ -s "$tmp/out" ]; then
    fail tap_list_empty "listed: $(tr '\n' ' ' <"$tmp/out")"
else
    pass tap_list_empty
fi

# ---- many taps, from one process and from several ---------------------------------------------
bg_start many taps $br 10.50.0.0/24 uigm 200
if ! wait_for 120 has_line "$tmp/many.out" ready; then
    fail many_taps "no 'ready': $(grep -m1 '^error: ' "$tmp/many.out" || head -c 300 "$tmp/many.err")"
else
    if ! r=$(taps_ok "$tmp/many.out" $br uigm 200); then
        fail many_taps "$r"
    elif [ "$(count_taps uigm)" != 200 ]; then
        fail many_taps "the kernel has $(count_taps uigm) of them"
    else
        pass many_taps
    fi
    # tap_list sees all of them, through a dump of several messages.
    if ! nm list $br 10.50.0.0/24 uigm; then
        fail many_taps_listed "$(why)"
    elif [ "$(sort "$tmp/out")" != "$(grep -vx ready "$tmp/many.out" | sort)" ]; then
        fail many_taps_listed "tap_list found $(wc -l <"$tmp/out") of 200"
    else
        pass many_taps_listed
    fi
fi
exec {bg_fd}>&-
if ! bg_end "$bg_pid"; then
    fail many_taps_gone "nmtest status $?: $(head -c 300 "$tmp/many.err")"
elif [ "$(count_taps uigm)" != 0 ]; then
    fail many_taps_gone "$(count_taps uigm) taps left after the process ended"
else
    pass many_taps_gone
fi

# Four processes with managers of their own race for the same names.
pids=()
fds=()
for i in 1 2 3 4; do
    bg_start par$i taps $br 10.50.0.0/24 uigq 20
    pids+=("$bg_pid")
    fds+=("$bg_fd")
done
all_ready() { local i; for i in 1 2 3 4; do has_line "$tmp/par$i.out" ready || return 1; done; }
if ! wait_for 60 all_ready; then
    fail taps_parallel_processes "not all ready: $(cat "$tmp"/par?.err | head -c 300)"
else
    cat "$tmp"/par?.out | grep -vx ready >"$tmp/par.all"
    if ! r=$(taps_ok "$tmp/par.all" $br uigq 80); then
        fail taps_parallel_processes "$r"
    else
        pass taps_parallel_processes
    fi
fi
for fd in "${fds[@]}"; do exec {fd}>&-; done
bad=""
for p in "${pids[@]}"; do bg_end "$p" || bad="$bad $p:$?"; done
if [ -n "$bad" ]; then
    fail taps_parallel_gone "nmtest statuses$bad"
elif [ "$(count_taps uigq)" != 0 ]; then
    fail taps_parallel_gone "$(count_taps uigq) taps left"
else
    pass taps_parallel_gone
fi

# ---- nothing left behind -----------------------------------------------------------------------
left=$(link_names | grep -vxE 'lo|uigbr[0-9]+' | tr '\n' ' ')
if [ -n "$left" ]; then fail no_links_left "links left in $ns: $left"; else pass no_links_left; fi
if cat "$tmp"/*.err 2>/dev/null | grep -qE 'Sanitizer|runtime error'; then
    fail no_sanitizer_reports "$(cat "$tmp"/*.err | grep -m1 -E 'Sanitizer|runtime error')"
else
    pass no_sanitizer_reports
fi
for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
if ! ip netns del "$ns"; then
    fail namespace_deleted "ip netns del $ns failed"
elif ip netns list | grep -qw "$ns"; then
    fail namespace_deleted "$ns is still listed"
else
    pass namespace_deleted
fi
exit 0
