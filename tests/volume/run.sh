#!/usr/bin/env bash
# needs: kvm
# Volumes (uvmm --volume HOSTDIR:GUESTDIR[:ro]). Differential where the semantics
# are Linux's: the same static musl program runs natively on a fresh host directory
# and under uvmm with another fresh directory mounted as /vol; stdout, exit status
# and the resulting directory trees (types, modes, link targets, file digests) must
# be equal. Where a volume differs from a native directory by design (escapes through
# symlinks, read-only volumes) the guest's transcript is compared with the expected
# one below. Also: data fsynced by the guest is on the host after uvmm is SIGKILLed,
# bad --volume options, and the monitor under AddressSanitizer.
#
# usage: tests/volume/run.sh        (UIGNITER_VOL_UVMM=PATH: the monitor to test)
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=build/tests/volume
uvmm=${UIGNITER_VOL_UVMM:-build/bin/uvmm}
logs=build/tests/logs/volume
work=$(mktemp -d "${TMPDIR:-/tmp}/uvmm-volume.XXXXXX") || exit 1
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:exitcode=99
umask 022
mkdir -p "$logs"

pass() { echo "PASS volume/$1"; }
fail() {
    echo "FAIL volume/$1: $2"
    mkdir -p "$logs/$1" && cp -r "$work/$1".* "$logs/$1/" 2>/dev/null
}

for p in vol_ops vol_many vol_big vol_kill vol_escape vol_ro; do
    [ -x "$bin/$p" ] || { echo "FAIL volume: $bin/$p is not built (make tests-volume)"; exit 0; }
done
[ -x "$uvmm" ] || { echo "FAIL volume: $uvmm is not built"; exit 0; }
[ -c /dev/kvm ] || { echo "FAIL volume: /dev/kvm is missing"; exit 0; }

# What a directory holds: each entry's path, type, mode and link target, then the
# digest of every regular file.
tree() {
    (cd "$1" && find . -mindepth 1 -printf '%P %y %m %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# differential NAME MONITOR PROGRAM ARG...: PROGRAM DIR ARG... natively and under
# MONITOR with DIR a volume at /vol.
differential() {
    local name=$1 mon=$2 prog=$3
    shift 3
    local n=$work/$name.native g=$work/$name.guest why=""
    mkdir -p "$n" "$g"
    timeout 600 "$bin/$prog" "$n" "$@" >"$n.out" 2>"$n.err" </dev/null
    local ns=$?
    timeout 600 "$mon" --mem 256 --volume "$g:/vol" "$bin/$prog" -- /vol "$@" \
        >"$g.out" 2>"$g.err" </dev/null
    local gs=$?
    if grep -q -E 'AddressSanitizer|runtime error' "$g.err"; then
        why="sanitizer report: $(grep -m1 -E 'ERROR|runtime error' "$g.err")"
    elif [ "$ns" != "$gs" ]; then
        why="status native $ns, uvmm $gs ($(head -c 200 "$g.err" | head -1))"
    elif ! cmp -s "$n.out" "$g.out"; then
        why="stdout differs: $(diff "$n.out" "$g.out" | grep -m2 '^[<>]' | tr '\n' ' ')"
    else
        tree "$n" >"$n.tree"
        tree "$g" >"$g.tree"
        cmp -s "$n.tree" "$g.tree" ||
            why="the directories differ: $(diff "$n.tree" "$g.tree" | grep -m2 '^[<>]' | tr '\n' ' ')"
    fi
    if [ -n "$why" ]; then fail "$name" "$why"; else pass "$name"; fi
}

differential ops "$uvmm" vol_ops
differential ops-asan build/bin/uvmm-asan vol_ops
differential many "$uvmm" vol_many 3000
differential big "$uvmm" vol_big 64
if [ -f "$work/big.native.err" ] && [ -f "$work/big.guest.err" ]; then
    echo "# volume/big (lab numbers, not a benchmark): native $(cat "$work/big.native.err");" \
        "uvmm $(grep -v '^uvmm' "$work/big.guest.err")"
fi

# ---- SIGKILL after fsync: the data is on the host ---------------------------------
# start_until_synced OUT COMMAND...: runs COMMAND in the background until it prints
# "synced"; sets $bgpid.
start_until_synced() {
    local out=$1
    shift
    "$@" >"$out" 2>"$out.err" </dev/null &
    bgpid=$!
    pids+=("$bgpid")
    for _ in $(seq 600); do
        grep -q synced "$out" && return 0
        kill -0 "$bgpid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
k=$work/kill
mkdir -p "$k.native" "$k.guest"
if start_until_synced "$k.native.out" "$bin/vol_kill" "$k.native"; then
    kill -9 "$bgpid"
    wait "$bgpid" 2>/dev/null
else
    echo "FAIL volume/kill: the native run did not sync"
fi
if start_until_synced "$k.guest.out" "$uvmm" --volume "$k.guest:/vol" "$bin/vol_kill" -- /vol; then
    kill -9 "$bgpid"
    wait "$bgpid" 2>/dev/null
    st=$?
    if [ "$st" != 137 ]; then
        fail kill "uvmm ended with $st, want 137"
    elif [ ! -f "$k.guest/durable.bin" ] || [ -e "$k.guest/durable.bin.tmp" ]; then
        fail kill "durable.bin is missing on the host after SIGKILL: $(ls "$k.guest" | tr '\n' ' ')"
    elif ! cmp -s "$k.native/durable.bin" "$k.guest/durable.bin"; then
        fail kill "durable.bin on the host differs from the native run's"
    else
        pass kill
    fi
else
    fail kill "uvmm did not sync: $(head -c 200 "$k.guest.out.err")"
fi

# ---- escapes ------------------------------------------------------------------------
e=$work/escape
mkdir -p "$e.host/vol/sub"
echo TOPSECRET >"$e.host/secret"
echo inside >"$e.host/vol/sub/target"
echo inside-target >"$e.host/inside-target"
ln -s "$e.host/secret" "$e.host/vol/abs"
ln -s ../secret "$e.host/vol/up"
ln -s sub/../../secret "$e.host/vol/deep"
ln -s .. "$e.host/vol/dirup"
ln -s / "$e.host/vol/absdir"
ln -s up "$e.host/vol/chain"
ln -s sub/target "$e.host/vol/inside"
tree "$e.host" >"$e.before"
timeout 120 "$uvmm" --volume "$e.host/vol:/vol" "$bin/vol_escape" -- /vol \
    >"$e.out" 2>"$e.err" </dev/null
st=$?
cat >"$e.want" <<'WANT'
lstat abs -> link
stat abs -> EXDEV
open abs -> EXDEV
lstat up -> link
stat up -> EXDEV
open up -> EXDEV
lstat deep -> link
stat deep -> EXDEV
open deep -> EXDEV
lstat dirup -> link
stat dirup -> EXDEV
open dirup -> EXDEV
lstat absdir -> link
stat absdir -> EXDEV
open absdir -> EXDEV
lstat chain -> link
stat chain -> EXDEV
open chain -> EXDEV
lstat inside -> link
stat inside -> file
open inside -> READ "inside
"
open dirup/secret -> EXDEV
open absdir/etc/hostname -> EXDEV
open sub/../../secret -> ENOENT
stat dirup/ -> EXDEV
WANT
sed -i "\$a readlink abs -> $e.host/secret" "$e.want"
cat >>"$e.want" <<'WANT'
chdir("dirup") -> EXDEV
open("up", O_WRONLY | O_TRUNC) -> EXDEV
open("dirup/new", O_CREAT | O_WRONLY, 0644) -> EXDEV
mkdir("dirup/newdir", 0755) -> EXDEV
rename("inside", "dirup/moved") -> EXDEV
truncate("up", 0) -> EXDEV
chmod("up", 0777) -> EXDEV
symlink("/etc/passwd", "mine1") -> EPERM
symlink("../secret", "mine2") -> EPERM
symlink("sub/../../secret", "mine3") -> EPERM
symlink("../../secret", "sub/mine4") -> EPERM
symlink("../inside-target", "sub/mine5") -> 0
open sub/mine5 -> ENOENT
access("../secret", F_OK) -> ENOENT
WANT
if [ "$st" != 0 ]; then
    fail escape "status $st ($(head -c 200 "$e.err" | head -1))"
elif grep -q TOPSECRET "$e.out"; then
    fail escape "the secret outside the volume was read"
elif ! cmp -s "$e.want" "$e.out"; then
    fail escape "transcript differs: $(diff "$e.want" "$e.out" | grep -m2 '^[<>]' | tr '\n' ' ')"
else
    rm -f "$e.host/vol/sub/mine5"
    tree "$e.host" >"$e.after"
    if cmp -s "$e.before" "$e.after"; then pass escape; else
        fail escape "the host changed: $(diff "$e.before" "$e.after" | grep -m2 '^[<>]' | tr '\n' ' ')"
    fi
fi

# ---- read-only ------------------------------------------------------------------------
r=$work/ro
mkdir -p "$r.host/dir" "$r.rw"
echo "read only" >"$r.host/file.txt"
tree "$r.host" >"$r.before"
timeout 120 "$uvmm" --volume "$r.host:/ro:ro" --volume "$r.rw:/rw" "$bin/vol_ro" -- /ro /rw \
    >"$r.out" 2>"$r.err" </dev/null
st=$?
cat >"$r.want" <<'WANT'
fd -> ok
read -> read only
write(fd, "x", 1) -> EBADF
ftruncate(fd, 0) -> EINVAL
fsync(fd) -> 0
fchmod(fd, 0600) -> EROFS
close(fd) -> 0
open("file.txt", O_WRONLY) -> EROFS
open("file.txt", O_RDWR) -> EROFS
open("file.txt", O_RDONLY | O_TRUNC) -> EROFS
open("new.txt", O_CREAT | O_WRONLY, 0644) -> EROFS
open("file.txt", O_CREAT | O_RDONLY, 0644) >= 0 -> 1
mkdir("newdir", 0755) -> EROFS
rmdir("dir") -> EROFS
unlink("file.txt") -> EROFS
rename("file.txt", "moved.txt") -> EROFS
symlink("file.txt", "link") -> EROFS
truncate("file.txt", 0) -> EROFS
chmod("file.txt", 0600) -> EROFS
utimensat(AT_FDCWD, "file.txt", NULL, 0) -> EROFS
access("file.txt", W_OK) -> EROFS
access("file.txt", R_OK) -> 0
statvfs(".", &sv) -> 0
ST_RDONLY: yes
entries: 4
rename("file.txt", other) -> EXDEV
write to the other volume -> 0
WANT
tree "$r.host" >"$r.after"
if [ "$st" != 0 ]; then
    fail ro "status $st ($(head -c 200 "$r.err" | head -1))"
elif ! cmp -s "$r.want" "$r.out"; then
    fail ro "transcript differs: $(diff "$r.want" "$r.out" | grep -m2 '^[<>]' | tr '\n' ' ')"
elif ! cmp -s "$r.before" "$r.after"; then
    fail ro "the read-only host directory changed"
elif [ "$(cat "$r.rw/x" 2>/dev/null)" != written ]; then
    fail ro "the read-write volume beside it did not get its file"
else
    pass ro
fi

# ---- options ------------------------------------------------------------------------
# opt NAME STATUS REGEX ARG...: uvmm ARG... must end with STATUS and one uvmm: line.
opt() {
    local name=$1 want=$2 re=$3
    shift 3
    timeout 60 "$uvmm" "$@" >"$work/opt.out" 2>"$work/opt.err" </dev/null
    local st=$? lines
    lines=$(grep -c '^uvmm:' "$work/opt.err")
    if [ "$st" != "$want" ]; then
        fail "option-$name" "status $st, want $want ($(head -c 200 "$work/opt.err" | head -1))"
    elif [ -n "$re" ] && ! grep -q -E -e "$re" "$work/opt.err"; then
        fail "option-$name" "stderr lacks /$re/: $(head -c 200 "$work/opt.err")"
    elif [ "$want" != 0 ] && [ "$lines" != 1 ]; then
        fail "option-$name" "$lines uvmm: lines, want 1"
    else
        pass "option-$name"
    fi
}
mkdir -p "$work/o"
opt missing-host 125 'cannot open' --volume "$work/nope:/vol" "$bin/vol_ro" -- /vol
opt host-is-file 125 'cannot open' --volume "$e.host/secret:/vol" "$bin/vol_ro" -- /vol
opt no-colon 125 'HOSTDIR:GUESTDIR' --volume "$work/o" "$bin/vol_ro" -- /vol
opt relative-guest 125 'GUESTDIR must be' --volume "$work/o:vol" "$bin/vol_ro" -- /vol
opt guest-root 125 'GUESTDIR must be' --volume "$work/o:/" "$bin/vol_ro" -- /vol
opt guest-dotdot 125 'GUESTDIR must be' --volume "$work/o:/a/../b" "$bin/vol_ro" -- /vol
opt twice 125 'mounted twice' --volume "$work/o:/vol" --volume "$r.host:/vol" "$bin/vol_ro" -- /vol
opt no-parent 125 'kernel: volume /no/such/dir' --volume "$work/o:/no/such/dir" "$bin/vol_ro" -- /vol
opt same-dir-twice 0 '' --volume "$r.host:/x:ro" --volume "$r.host:/y:rw" "$bin/vol_ro" -- /x
exit 0
