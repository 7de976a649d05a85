#!/usr/bin/env bash
# needs: kvm
# Unikernels on a real network: taps on a bridge inside network namespaces this
# script creates, uvmm attached to them, clients on the "host" side behind a veth.
# Every server runs twice, as a unikernel and as the same static binary natively
# in its own namespace on the same bridge, and the clients must see the same.
#
#   ns sw  (the switch): bridge br0, taps t0 t1 (the VMs), veth ends
#   ns h   (the host side): h0 10.77.0.1/24     clients: netclient, curl, ping
#   ns n   (native twin):   n0 10.77.0.20/24    the server binary, natively
#   VM A 10.77.0.10 on t0, VM B 10.77.0.11 on t1
# Everything is removed at the end, also on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

uvmm=${UIGNITER_NET_UVMM:-build/bin/uvmm}
ctl=build/bin/uigniterctl
bin=build/tests/net
httpd=build/examples/httpd
id=$$
sw=uig-sw-$id h=uig-h-$id nat=uig-n-$id
work=$(mktemp -d "${TMPDIR:-/tmp}/uig-net.XXXXXX")
pids=()

cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    # Anything still running inside our namespaces was started by us.
    for ns in $sw $h $nat; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "${UIGNITER_NET_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

pass() { echo "PASS net/$1"; }
fail() { echo "FAIL net/$1: $2"; }

for t in ip ping curl; do
    command -v $t >/dev/null || { fail setup "$t is missing (make setup installs it)"; exit 0; }
done
for f in "$uvmm" "$ctl" "$bin/echod" "$bin/netclient" "$bin/dnsd" "$bin/framefuzz" "$httpd"; do
    [ -x "$f" ] || { fail setup "$f is not built"; exit 0; }
done

# ---- topology ----------------------------------------------------------------
setup_net() {
    ip netns add $sw && ip netns add $h && ip netns add $nat || return 1
    ip -n $sw link add br0 type bridge || return 1
    ip -n $sw link set br0 up
    for t in t0 t1; do
        ip -n $sw tuntap add dev $t mode tap || return 1
        ip -n $sw link set $t master br0
        ip -n $sw link set $t up
    done
    ip -n $sw link add vh type veth peer name h0 netns $h || return 1
    ip -n $sw link add vn type veth peer name n0 netns $nat || return 1
    for v in vh vn; do ip -n $sw link set $v master br0 && ip -n $sw link set $v up; done
    ip -n $h addr add 10.77.0.1/24 dev h0 && ip -n $h link set h0 up && ip -n $h link set lo up
    ip -n $nat addr add 10.77.0.20/24 dev n0 && ip -n $nat link set n0 up &&
        ip -n $nat link set lo up
}
if ! setup_net 2>"$work/setup.err"; then
    fail setup "cannot build the namespaces: $(head -3 "$work/setup.err")"
    exit 0
fi

# vm NAME TAP IP IMAGE [ARGS...]: starts a unikernel in the background.
vm() {
    local name=$1 tap=$2 addr=$3 img=$4
    shift 4
    ip netns exec $sw "$uvmm" --mem 64 --net "$tap" --ip "$addr/24" --gw 10.77.0.1 "$img" \
        -- "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    eval "pid_$name=$!"
}

# native NAME PROGRAM [ARGS...]: the same binary in the native twin namespace.
native() {
    local name=$1
    shift
    ip netns exec $nat "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    eval "pid_$name=$!"
}

# wait_port ADDR PORT: until a TCP connect from the host side succeeds (20 s).
wait_port() {
    local i
    for i in $(seq 1 200); do
        if ip netns exec $h bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

hc() { ip netns exec $h "$@"; }

# ---- images --------------------------------------------------------------------
mkdir -p "$work/www"
head -c 100000 /dev/urandom >"$work/www/random.bin"
printf 'hello from the image\n' >"$work/www/index.txt"
"$ctl" build -o "$work/echod.img" "$bin/echod" >"$work/build.err" 2>&1 &&
    "$ctl" build -o "$work/netclient.img" "$bin/netclient" >>"$work/build.err" 2>&1 &&
    "$ctl" build -o "$work/httpd.img" "$httpd" "$work/www/random.bin:/www/random.bin" \
        "$work/www/index.txt:/www/index.txt" >>"$work/build.err" 2>&1 ||
    { fail images "$(head -3 "$work/build.err")"; exit 0; }

# ---- echo server: VM A and its native twin ------------------------------------------
vm a t0 10.77.0.10 "$work/echod.img" --port 7
native na "$bin/echod" --port 7
if ! wait_port 10.77.0.10 7; then
    fail vm-listens "VM A does not accept on 10.77.0.10:7: $(tail -3 "$work/a.err")"
    exit 0
fi
pass vm-listens
wait_port 10.77.0.20 7 || fail native-listens "the native twin does not accept"

if hc ping -c 3 -i 0.2 -W 2 10.77.0.10 >"$work/ping.out" 2>&1; then
    pass ping
else
    fail ping "$(tail -2 "$work/ping.out")"
fi

# same NAME CMD...: runs a client against the VM (10.77.0.10) and the twin (.20);
# the outputs must agree and the client must succeed.
same() {
    local name=$1
    shift
    local vmcmd=("${@//@ADDR@/10.77.0.10}") natcmd=("${@//@ADDR@/10.77.0.20}")
    hc timeout 120 "${vmcmd[@]}" >"$work/$name.vm" 2>"$work/$name.vm.err"
    local s1=$?
    hc timeout 120 "${natcmd[@]}" >"$work/$name.nat" 2>"$work/$name.nat.err"
    local s2=$?
    if [ $s1 != 0 ]; then
        fail "$name" "status $s1 against the VM: $(head -c 300 "$work/$name.vm" "$work/$name.vm.err" | tr '\n' ' ')"
    elif [ $s2 != 0 ]; then
        fail "$name" "status $s2 against the native twin (test bug?): $(head -c 300 "$work/$name.nat.err")"
    elif ! cmp -s "$work/$name.vm" "$work/$name.nat"; then
        fail "$name" "VM and native differ: $(diff "$work/$name.nat" "$work/$name.vm" | head -4 | tr '\n' ' ')"
    else
        pass "$name"
    fi
}

same echo-sizes "$bin/netclient" echo @ADDR@ 7 0 1 1000 1460 1461 65536 1000000
same udp-echo "$bin/netclient" udp @ADDR@ 7 200
same refused "$bin/netclient" refused @ADDR@ 9
same rst-on-unread "$bin/netclient" rst @ADDR@ 7
same after-rst "$bin/netclient" echo @ADDR@ 7 5000
same many-500 "$bin/netclient" many @ADDR@ 7 500
same bulk-256MiB "$bin/netclient" bulk @ADDR@ 7 ${UIGNITER_NET_BULK_MIB:-256}

# ---- malformed frames: the guest survives and still serves -----------------------------
mac=$(ip -n $h neigh show 10.77.0.10 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
if [ -z "$mac" ]; then
    fail frame-fuzz "no ARP entry for the VM on the host side"
else
    hc "$bin/framefuzz" h0 "$mac" 10.77.0.10 10.77.0.1 ${UIGNITER_NET_FUZZ_FRAMES:-20000} \
        >"$work/fuzz.out" 2>&1
    if ! kill -0 "$pid_a" 2>/dev/null; then
        fail frame-fuzz "the VM died: $(tail -2 "$work/a.err")"
    elif ! hc timeout 60 "$bin/netclient" echo 10.77.0.10 7 1000 100000 >"$work/fuzz2.out" 2>&1; then
        fail frame-fuzz "the VM no longer echoes: $(cat "$work/fuzz2.out" | head -2)"
    else
        pass frame-fuzz
    fi
fi

# ---- VM to VM across the bridge ------------------------------------------------------
ip netns exec $sw timeout 120 "$uvmm" --mem 64 --net t1 --ip 10.77.0.11/24 \
    "$work/netclient.img" -- echo 10.77.0.10 7 1 100000 >"$work/b.out" 2>"$work/b.err"
st=$?
if [ $st = 0 ] && grep -q 'echo 100000 ok' "$work/b.out"; then
    pass vm-to-vm
else
    fail vm-to-vm "status $st: $(cat "$work/b.out" "$work/b.err" | head -3 | tr '\n' ' ')"
fi

# ---- its own address: connect a UDP socket, getsockname (services learn what to
# register this way); the native run in the host's namespace shows the rule --------
srcaddr() { # CASE PEER WANT
    ip netns exec $sw timeout 60 "$uvmm" --mem 32 --net t1 --ip 10.77.0.11/24 \
        "$work/netclient.img" -- srcaddr "$2" 7 >"$work/src.out" 2>"$work/src.err"
    local got
    got=$(cat "$work/src.out")
    if [ "$got" = "$3" ]; then pass "$1"; else fail "$1" "got '$got' want '$3' $(head -2 "$work/src.err")"; fi
}
srcaddr udp-srcaddr 10.77.0.10 "srcaddr 10.77.0.10: 10.77.0.11 port set"
srcaddr udp-srcaddr-loopback 127.0.0.1 "srcaddr 127.0.0.1: 127.0.0.1 port set"
nat=$(hc "$bin/netclient" srcaddr 10.77.0.10 7)
[ "$nat" = "srcaddr 10.77.0.10: 10.77.0.1 port set" ] || fail udp-srcaddr-native "native: '$nat'"

# ---- name resolution: /etc/hosts from the image, DNS over UDP to --dns --------------
hc "$bin/dnsd" 10.77.0.99 >"$work/dnsd.out" 2>"$work/dnsd.err" &
pids+=($!)
printf '10.9.8.7\thosted.test\n127.0.0.1\tlocalhost\n' >"$work/hosts"
"$ctl" build -o "$work/resolve-hosts.img" "$bin/netclient" "$work/hosts:/etc/hosts" \
    >"$work/build.err" 2>&1 || fail resolve "cannot build the image: $(head -1 "$work/build.err")"
resolve() { # NAME IMAGE WANT...
    local name=$1 img=$2
    shift 2
    ip netns exec $sw timeout 60 "$uvmm" --mem 32 --net t1 --ip 10.77.0.11/24 --dns 10.77.0.1 \
        "$img" -- resolve "$name" - >"$work/resolve.out" 2>"$work/resolve.err"
    local got
    got=$(cat "$work/resolve.out")
    if [ "$got" = "$*" ]; then pass "resolve-$name"; else fail "resolve-$name" "got '$got' want '$*'"; fi
}
for _ in $(seq 50); do grep -q ready "$work/dnsd.out" && break; sleep 0.1; done
resolve hosted.test "$work/resolve-hosts.img" "resolve hosted.test: 10.9.8.7"
resolve svc.test "$work/netclient.img" "resolve svc.test: 10.77.0.99"
resolve missing.test "$work/netclient.img" "resolve missing.test: Name does not resolve"
resolve localhost "$work/netclient.img" "resolve localhost: 127.0.0.1"

# ---- HTTP/1.1 keep-alive from the image's files ---------------------------------------
kill "$pid_a" 2>/dev/null
wait "$pid_a" 2>/dev/null
vm web t0 10.77.0.10 "$work/httpd.img" --port 80 --root /www
if ! wait_port 10.77.0.10 80; then
    fail http-listens "$(tail -3 "$work/web.err")"
else
    hc curl -s --max-time 30 -o "$work/got1.bin" -o "$work/got2.txt" -o "$work/got3.txt" \
        -w '%{num_connects}\n' http://10.77.0.10/random.bin http://10.77.0.10/index.txt \
        http://10.77.0.10/missing >"$work/curl.out" 2>"$work/curl.err"
    st=$?
    conns=$(paste -sd' ' "$work/curl.out")
    if [ $st != 0 ]; then
        fail http-keepalive "curl status $st: $(head -2 "$work/curl.err")"
    elif ! cmp -s "$work/got1.bin" "$work/www/random.bin" ||
        ! cmp -s "$work/got2.txt" "$work/www/index.txt"; then
        fail http-keepalive "bodies differ from the image's files"
    elif [ "$conns" != "1 0 0" ]; then
        fail http-keepalive "connections per request: $conns (want 1 0 0: one kept-alive connection)"
    elif ! grep -q 'not found' "$work/got3.txt"; then
        fail http-keepalive "missing file: $(head -c 100 "$work/got3.txt")"
    else
        pass http-keepalive
    fi
fi

# ---- an idle VM costs no CPU ---------------------------------------------------------
web_last=$SECONDS
t0=$(awk '{print $14 + $15}' "/proc/$pid_web/stat" 2>/dev/null)
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$pid_web/stat" 2>/dev/null)
if [ -n "$t0" ] && [ -n "$t1" ] && [ $((t1 - t0)) -le 2 ]; then
    pass idle-in-accept
else
    fail idle-in-accept "uvmm used $((t1 - t0)) ticks in 2 s while idle in epoll_wait"
fi

# ... and, once the network has been quiet for longer than the guest keeps its
# ARP and reassembly timers running after a frame (17 s), it never wakes up: no
# thread of its uvmm is scheduled at all.
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'; }
quiet=$((SECONDS - web_last))
[ $quiet -lt 19 ] && sleep $((19 - quiet))
c0=$(ctxsw "$pid_web")
sleep 3
c1=$(ctxsw "$pid_web")
if kill -0 "$pid_web" 2>/dev/null && [ $((c1 - c0)) -le 1 ]; then
    pass idle-no-wakeups
else
    fail idle-no-wakeups "uvmm was scheduled $((c1 - c0)) times in 3 s of a quiet network"
fi

# The servers are still alive after all that.
for p in a web na; do
    eval "pp=\${pid_$p:-}"
    [ -n "$pp" ] || continue
    [ "$p" = a ] && continue # stopped on purpose
    if kill -0 "$pp" 2>/dev/null; then pass "alive-$p"; else fail "alive-$p" "$(tail -2 "$work/$p.err")"; fi
done
exit 0
