#!/usr/bin/env bash
# needs: kvm
# Differential conformance suite: every tests/conformance/<name>.c is a static musl
# program (build/tests/conformance/<name>) that runs once natively and once under
# uvmm; its stdout bytes and exit status must be identical. stderr is not compared.
#
# The native run mirrors what the guest sees: a fresh chroot in a private mount
# namespace whose root is a read-only bind mount holding /bin/<name> and the
# program's files, an empty writable tmpfs on /tmp, and /dev/null, /dev/zero and
# /dev/urandom; cwd /, argv[0] /bin/<name>, and exactly the program's environment.
# The guest run packs the same binary and files with `uigniterctl build` and boots
# the image with `uvmm`. Header comments in each program configure both runs; see
# tests/conformance/README.md.
#
# usage: tests/conformance/run.sh [PATTERN...]    shell globs on program names
#   UIGNITER_CONF_NATIVE=1   run every program natively twice and check that stdout
#                            and status are deterministic and as expected (no uvmm needed)
#   UIGNITER_CONF_JOBS=N     programs run in parallel (default: number of CPUs)
#   UIGNITER_CONF_TIMEOUT=S  time limit of one run in seconds (default 60)
#   UIGNITER_CONF_MEM=MIB    --mem for programs without a "mem:" header (default: uvmm's)
#   UIGNITER_CONF_KEEP=1     keep the outputs of passing programs too
# Outputs of failing programs are kept in build/tests/logs/conformance/<name>/.
set -uo pipefail
cd "$(dirname "$0")/../.."

src=tests/conformance
bin=build/tests/conformance
logs=build/tests/logs/conformance
uvmm=build/bin/uvmm
ctl=build/bin/uigniterctl
pipegen=$bin/tools/pipegen

# ---- one program (run by the workers below as: run.sh --one NAME) -----------
fail() {
    echo "FAIL conformance/$name: $*"
    mkdir -p "$logs/$name"
    cp "$w"/*.out "$w"/*.err "$logs/$name/" 2>/dev/null
    exit 0
}

# Reads the "// key: value" lines at the top of the program into variables.
parse_header() {
    h_args="" h_env="" h_stdin="" h_files="" h_mem="${UIGNITER_CONF_MEM:-}" h_expect=0
    local line key val
    while IFS= read -r line; do
        case "$line" in //*) ;; *) break ;; esac
        line=${line#//}
        line=${line# }
        key=${line%%:*}
        val=${line#*:}
        val=${val# }
        case "$key" in
        args) h_args=$val ;;
        env) h_env=$val ;;
        stdin) h_stdin=$val ;;
        files) h_files=$val ;;
        mem) h_mem=$val ;;
        expect-status) h_expect=$val ;;
        esac
    done <"$src/$name.c"
}

# Runs "$@" with the program's stdin; sets $status.
with_stdin() {
    case "$h_stdin" in
    "") "$@" </dev/null ;;
    text:*) printf '%b' "${h_stdin#text:}" >"$w/stdin" && "$@" <"$w/stdin" ;;
    file:*) "$@" <"$src/data/${h_stdin#file:}" ;;
    pipe-gen:*)
        "$pipegen" "${h_stdin#pipe-gen:}" | "$@"
        status=${PIPESTATUS[1]}
        return
        ;;
    *) echo "FAIL conformance/$name: bad stdin header: $h_stdin" && exit 0 ;;
    esac
    status=$?
}

# The native run number $1: output in $w/native$1.{out,err}, status in $status.
run_native() {
    local root=$w/root$1 f
    mkdir -p "$root"/{bin,tmp,dev} || fail "cannot create $root"
    chmod 755 "$root"
    cp "$bin/$name" "$root/bin/$name" || fail "cannot copy the binary"
    for f in "${files[@]}"; do
        mkdir -p "$root/$(dirname "${f#*:}")" && cp "$src/${f%%:*}" "$root/${f#*:}" ||
            fail "cannot place file $f"
    done
    mknod -m 666 "$root/dev/null" c 1 3 && mknod -m 666 "$root/dev/zero" c 1 5 &&
        mknod -m 666 "$root/dev/urandom" c 1 9 || fail "mknod failed"
    # shellcheck disable=SC2016
    with_stdin timeout -k 2 "$limit" unshare -m sh -c '
        r=$1; shift
        mount --bind "$r" "$r" && mount -o remount,bind,ro "$r" &&
            mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" ||
            { echo "conformance-setup: mounts failed" >&2; exit 125; }
        exec "$@"' sh "$root" env -i "${envs[@]}" "$chroot" "$root" "/bin/$name" "${args[@]}" \
        >"$w/native$1.out" 2>"$w/native$1.err"
    if grep -q '^conformance-setup:' "$w/native$1.err"; then
        fail "native setup: $(head -1 "$w/native$1.err")"
    fi
    [ "$status" != 124 ] || fail "native run $1 timed out after ${limit}s"
}

run_guest() {
    local e f ctlargs=() vmargs=()
    for e in "${envs[@]}"; do ctlargs+=(--env "$e"); done
    for f in "${files[@]}"; do ctlargs+=("$src/${f%%:*}:${f#*:}"); done
    "$ctl" build -o "$w/app.img" "${ctlargs[@]}" "$bin/$name" \
        >"$w/build.err" 2>&1 ||
        fail "uigniterctl build failed: $(head -1 "$w/build.err")"
    [ -z "$h_mem" ] || vmargs+=(--mem "$h_mem")
    vmargs+=("$w/app.img")
    [ ${#args[@]} = 0 ] || vmargs+=(-- "${args[@]}")
    with_stdin timeout -k 2 "$limit" "$uvmm" "${vmargs[@]}" >"$w/guest.out" 2>"$w/guest.err"
    [ "$status" != 124 ] || fail "uvmm timed out after ${limit}s"
}

# One short line saying where two outputs first differ.
describe_diff() {
    local a=$1 b=$2 an=$3 bn=$4 c line
    c=$(cmp "$a" "$b" 2>&1 | head -1)
    case "$c" in
    *"EOF on"*) echo "stdout: ${c#*cmp: }" ;;
    *"line "*)
        line=${c##*line }
        echo "stdout line $line: $an '$(sed -n "${line}p" "$a" | cut -c1-60 | cat -v)'" \
            "vs $bn '$(sed -n "${line}p" "$b" | cut -c1-60 | cat -v)'"
        ;;
    *) echo "stdout differs: $c" ;;
    esac
}

one() {
    name=$1
    [ -f "$src/$name.c" ] || { echo "FAIL conformance/$name: no such program" && exit 0; }
    w=$(mktemp -d "${TMPDIR:-/tmp}/conformance.$name.XXXXXX") || exit 1
    trap 'rm -rf "$w"' EXIT
    [ -x "$bin/$name" ] || fail "$bin/$name is not built (make $bin/$name)"
    parse_header
    eval "args=($h_args)"
    eval "envs=($h_env)"
    read -r -a files <<<"$h_files"
    limit=${UIGNITER_CONF_TIMEOUT:-60}
    chroot=$(command -v chroot) || fail "chroot not found"
    ulimit -c 0
    ulimit -S -s 8192 2>/dev/null
    ulimit -S -n 1024 2>/dev/null

    run_native 1
    local ns=$status
    [ "$ns" = "$h_expect" ] ||
        fail "native status $ns, expected $h_expect ($(head -c 200 "$w/native1.err" | head -1))"
    if [ "${UIGNITER_CONF_NATIVE:-}" = 1 ]; then
        run_native 2
        [ "$status" = "$ns" ] || fail "not deterministic: status $ns then $status"
        cmp -s "$w/native1.out" "$w/native2.out" ||
            fail "not deterministic: $(describe_diff "$w/native1.out" "$w/native2.out" run1 run2)"
    else
        run_guest
        [ "$status" = "$ns" ] ||
            fail "status native $ns, uvmm $status ($(head -c 200 "$w/guest.err" | head -1))"
        cmp -s "$w/native1.out" "$w/guest.out" ||
            fail "$(describe_diff "$w/native1.out" "$w/guest.out" native uvmm)"
    fi
    echo "PASS conformance/$name"
    if [ "${UIGNITER_CONF_KEEP:-}" = 1 ]; then
        mkdir -p "$logs/$name" && cp "$w"/*.out "$w"/*.err "$logs/$name/" 2>/dev/null
    else
        rm -rf "${logs:?}/$name"
    fi
    exit 0
}

if [ "${1:-}" = --one ]; then
    one "$2"
fi

# ---- the suite --------------------------------------------------------------
names=()
for f in "$src"/*.c; do
    n=$(basename "$f" .c)
    if [ $# -gt 0 ]; then
        keep=""
        for p in "$@"; do
            # shellcheck disable=SC2053
            [[ $n == $p ]] && keep=1
        done
        [ -n "$keep" ] || continue
    fi
    names+=("$n")
done
[ ${#names[@]} -gt 0 ] || { echo "FAIL conformance: no program matches: $*"; exit 0; }

if [ "${UIGNITER_CONF_NATIVE:-}" != 1 ]; then
    missing=""
    [ -x "$uvmm" ] || missing="$uvmm"
    [ -x "$ctl" ] || missing="$missing $ctl"
    if [ -n "$missing" ]; then
        for n in "${names[@]}"; do echo "FAIL conformance/$n: not built: $missing"; done
        exit 0
    fi
fi
[ -x "$pipegen" ] || echo "FAIL conformance: $pipegen is not built (make $pipegen)"

mkdir -p "$logs"
printf '%s\n' "${names[@]}" | xargs -P "${UIGNITER_CONF_JOBS:-$(nproc)}" -I{} "$0" --one {}
exit 0
