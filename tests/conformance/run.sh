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
#   UIGNITER_CONF_MEM=MIB    --mem for programs without a "mem:" header (default 64;
#                            empty: uvmm's own default)
#   UIGNITER_CONF_KEEP=1     keep the outputs of passing programs too
#   UIGNITER_CONF_UVMM=PATH  the monitor to test (default build/bin/uvmm)
# Outputs of failing programs are kept in build/tests/logs/conformance/<name>/.
set -uo pipefail
case "$0" in */*) cd "${0%/*}/../.." || exit 1 ;; *) cd ../.. || exit 1 ;; esac

src=tests/conformance
bin=build/tests/conformance
logs=build/tests/logs/conformance
uvmm=${UIGNITER_CONF_UVMM:-build/bin/uvmm}
ctl=build/bin/uigniterctl
pipegen=$bin/tools/pipegen
sandbox=$bin/tools/sandbox

# ---- one program (run by the workers below as: run.sh --one NAME) -----------
fail() {
    echo "FAIL conformance/$name: $*"
    mkdir -p "$logs/$name"
    cp "$w"/*.out "$w"/*.err "$logs/$name/" 2>/dev/null
    exit 0
}

# Reads the "// key: value" lines at the top of the program into variables.
parse_header() {
    h_args="" h_env="" h_stdin="" h_stdout="" h_files="" h_mem="${UIGNITER_CONF_MEM-64}" h_expect=0
    local line key val
    while IFS= read -r line; do
        case "$line" in //*) ;; *) break ;; esac
        line=${line#//}
        line=${line# }
        key=${line%%:*}
        val=${line#*:}
        val=${val# }
        case "$key" in
        args) h_args="$h_args $val" ;;
        env) h_env="$h_env $val" ;;
        stdin) h_stdin=$val ;;
        stdout) h_stdout=$val ;;
        files) h_files="$h_files $val" ;;
        mem) h_mem=$val ;;
        expect-status) h_expect=$val ;;
        esac
    done <"$src/$name.c"
}

# Runs "$@" with the program's stdin, stdout into $1 and stderr into $2; sets
# $status to the command's own status (not that of a feeding or draining cat).
with_stdio() {
    local out=$1 err=$2 in=/dev/null
    shift 2
    case "$h_stdin" in
    "") ;;
    text:*) printf '%b' "${h_stdin#text:}" >"$w/stdin" && in=$w/stdin ;;
    file:*) in=$src/data/${h_stdin#file:} ;;
    pipe-gen:*) in="" ;;
    *) fail "bad stdin header: $h_stdin" ;;
    esac
    # The outer 2>/dev/null only silences bash's own "Segmentation fault" notes.
    if [ -z "$in" ] && [ "$h_stdout" = pipe ]; then
        { "$pipegen" "${h_stdin#pipe-gen:}" | "$@" 2>"$err" | cat >"$out"; } 2>/dev/null
        status=${PIPESTATUS[1]}
    elif [ -z "$in" ]; then
        { "$pipegen" "${h_stdin#pipe-gen:}" | "$@" >"$out" 2>"$err"; } 2>/dev/null
        status=${PIPESTATUS[1]}
    elif [ "$h_stdout" = pipe ]; then
        { "$@" <"$in" 2>"$err" | cat >"$out"; } 2>/dev/null
        status=${PIPESTATUS[0]}
    else
        { "$@" <"$in" >"$out" 2>"$err"; } 2>/dev/null
        status=$?
    fi
}

# Stages the native root once: the binary at /bin/<name>, the program's files,
# and empty /tmp and /dev for tools/sandbox to mount over.
stage_root() {
    local f
    root=$w/root
    mkdir -p "$root/bin" "$root/tmp" "$root/dev" || fail "cannot create $root"
    cp "$bin/$name" "$root/bin/$name" || fail "cannot copy the binary"
    for f in "${files[@]}"; do
        if ! mkdir -p "$root/$(dirname "${f#*:}")" || ! cp "$src/${f%%:*}" "$root/${f#*:}"; then
            fail "cannot place file $f"
        fi
    done
}

# The native run number $1: output in $w/native$1.{out,err}, status in $status.
# The root is read-only and /tmp is a fresh tmpfs, so both runs can share it.
run_native() {
    local e sbargs=()
    for e in "${envs[@]}"; do sbargs+=(-e "$e"); done
    with_stdio "$w/native$1.out" "$w/native$1.err" \
        timeout -k 2 "$limit" "$sandbox" "$root" "${sbargs[@]}" -- "/bin/$name" "${args[@]}"
    local first=""
    IFS= read -r first <"$w/native$1.err"
    case "$first" in conformance-setup:*) fail "native setup: $first" ;; esac
    [ "$status" != 124 ] || fail "native run $1 timed out after ${limit}s"
}

run_guest() {
    local e f ctlargs=() maps=() vmargs=()
    for e in "${envs[@]}"; do ctlargs+=(--env "$e"); done
    for f in "${files[@]}"; do maps+=("$src/${f%%:*}:${f#*:}"); done
    "$ctl" build -o "$w/app.img" "${ctlargs[@]}" "$bin/$name" "${maps[@]}" \
        >"$w/build.err" 2>&1 ||
        fail "uigniterctl build failed: $(head -1 "$w/build.err")"
    [ -z "$h_mem" ] || vmargs+=(--mem "$h_mem")
    vmargs+=("$w/app.img")
    [ ${#args[@]} = 0 ] || vmargs+=(-- "${args[@]}")
    with_stdio "$w/guest.out" "$w/guest.err" timeout -k 2 "$limit" "$uvmm" "${vmargs[@]}"
    [ "$status" != 124 ] || fail "uvmm timed out after ${limit}s"
}

# One short line saying where two outputs first differ.
describe_diff() {
    local a=$1 b=$2 an=$3 bn=$4 c line
    c=$(cmp "$a" "$b" 2>&1 | head -1)
    c=${c//"$a"/$an}
    c=${c//"$b"/$bn}
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
    # Shell words with quotes and backslashes, but no expansion of $ or globs.
    # (Through a file: the KVM lab has no /dev/fd for process substitution.)
    args=() envs=()
    if [ -n "${h_args// /}" ]; then
        printf '%s' "$h_args" | xargs printf '%s\0' >"$w/args" || fail "bad args header"
        mapfile -d '' args <"$w/args"
    fi
    if [ -n "${h_env// /}" ]; then
        printf '%s' "$h_env" | xargs printf '%s\0' >"$w/env" || fail "bad env header"
        mapfile -d '' envs <"$w/env"
    fi
    read -r -a files <<<"$h_files"
    limit=${UIGNITER_CONF_TIMEOUT:-60}
    ulimit -c 0
    umask 022
    # Descriptors inherited from whoever started us must not shift the program's
    # lowest free fd (bash's own 255 is close-on-exec).
    local fd
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-" 2>/dev/null
    done
    ulimit -S -s 8192 2>/dev/null
    ulimit -S -n 1024 2>/dev/null

    stage_root
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
        local why=""
        if [ "$status" != "$ns" ]; then
            local diag
            diag=$(head -c 200 "$w/guest.err" | head -1)
            why="status native $ns, uvmm $status${diag:+ ($diag)}"
        fi
        if ! cmp -s "$w/native1.out" "$w/guest.out"; then
            why="${why:+$why; }$(describe_diff "$w/native1.out" "$w/guest.out" native uvmm)"
        fi
        [ -z "$why" ] || fail "$why"
    fi
    echo "PASS conformance/$name"
    if [ "${UIGNITER_CONF_KEEP:-}" = 1 ]; then
        mkdir -p "$logs/$name" && cp "$w"/*.out "$w"/*.err "$logs/$name/" 2>/dev/null
    elif [ -d "$logs/$name" ]; then
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
    n=${f##*/}
    n=${n%.c}
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
for t in "$pipegen" "$sandbox"; do
    [ -x "$t" ] || { echo "FAIL conformance: $t is not built (make tests-conformance)"; exit 0; }
done

mkdir -p "$logs"
printf '%s\n' "${names[@]}" | xargs -P "${UIGNITER_CONF_JOBS:-$(nproc)}" -I{} "$0" --one {}
exit 0
