#!/usr/bin/env bash
# needs: kvm
# Monitor robustness: a guest that misbehaves in every way a buggy or hostile kernel
# could (bad hypercall pointers and lengths, unknown ports, writes outside memory,
# a triple fault, halting, spinning, exhausting memory, random hypercalls) and
# malformed inputs (images, kernels, options). Each case must end with the documented
# exit status and exactly one "uvmm:" diagnostic line, and the monitor must never
# crash: every case runs under the release uvmm and under uvmm-asan
# (AddressSanitizer + UBSan).
set -uo pipefail
cd "$(dirname "$0")/../.."
guest=build/tests/robustness/guest
work=$(mktemp -d /tmp/uvmm-robust.XXXXXX)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:exitcode=99

# check NAME WANT_STATUS WANT_STDERR_REGEX -- COMMAND...
check() {
    local name=$1 want=$2 re=$3
    shift 4
    timeout 60 "$@" >"$work/out" 2>"$work/err" </dev/null
    local st=$?
    local lines
    lines=$(grep -c '^uvmm:' "$work/err")
    if grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' "$work/err"; then
        echo "FAIL robustness/$name: sanitizer report: $(grep -m1 -E 'ERROR|runtime error' "$work/err")"
    elif [ "$st" != "$want" ]; then
        echo "FAIL robustness/$name: status $st, want $want ($(head -c 300 "$work/err" | tr '\n' ' '))"
    elif [ -n "$re" ] && ! grep -q -E -e "$re" "$work/err"; then
        echo "FAIL robustness/$name: stderr lacks /$re/: $(head -c 300 "$work/err" | tr '\n' ' ')"
    elif [ "$want" = 0 ] && [ "$lines" != 0 ]; then
        echo "FAIL robustness/$name: uvmm printed on success: $(head -c 200 "$work/err")"
    elif [ "$want" != 0 ] && [ "$lines" != 1 ]; then
        echo "FAIL robustness/$name: $lines uvmm: lines on stderr, want 1"
    else
        echo "PASS robustness/$name"
    fi
}

# The volume of the vol-* modes, beside a secret.
mkdir -p "$work/vol/sub"
echo TOPSECRET >"$work/secret"
echo "file data" >"$work/vol/file"
ln -s ../secret "$work/vol/out"
ln -s .. "$work/vol/outdir"
mkfifo "$work/vol/fifo"
secret_sum=$(cd "$work" && sha256sum secret)

for uvmm in build/bin/uvmm build/bin/uvmm-asan; do
    v=${uvmm##*/}
    g() { check "$v/$1" "$2" "$3" -- "$uvmm" --mem 16 "$guest" "$1"; }
    g ptr-beyond-ram 125 'outside guest memory'
    g ptr-huge 125 'outside guest memory'
    g len-wraps 125 'outside guest memory'
    g len-past-end 125 'outside guest memory'
    g too-many-segments 125 'segments'
    g struct-past-end 125 'outside guest memory'
    g struct-beyond-4g 125 'outside guest memory'
    g unknown-port 125 'unknown port'
    g foreign-port 125 'unknown port 0x3f8'
    g port-read 125 'bad hypercall: read'
    g port-byte 125 'bad hypercall: write of 1 bytes'
    g exit-kind 125 'exit kind'
    g exit-signal 125 'exit by signal'
    g panic-message 125 'kernel: \?BCDEFG'
    check "$v/write-past-ram" 125 'unbacked guest-physical' -- "$uvmm" --mem 3 "$guest" write-past-ram
    g write-image 125 'unbacked guest-physical'
    g triple-fault 125 'triple fault'
    g halt 125 'guest halted'
    # Volume hypercalls, on a volume beside a secret the guest must never reach.
    vg() { check "$v/$1" "$2" "$3" -- "$uvmm" --mem 16 --volume "$work/vol:/vol" "$guest" "$1"; }
    vg vol-errnos 0 ''
    vg vol-path-beyond-ram 125 'outside guest memory'
    vg vol-path-past-end 125 'outside guest memory'
    vg vol-path-huge 125 'volume path of 1048576 bytes'
    vg vol-path-empty 125 'volume path of 0 bytes'
    vg vol-path-nul 125 'holds a NUL'
    vg vol-path2-bad 125 'outside guest memory'
    vg vol-readlink-bad-buf 125 'outside guest memory'
    vg vol-io-bad-segment 125 'outside guest memory'
    vg vol-io-too-many-segments 125 'segments'
    vg vol-io-into-image 125 'outside guest memory'
    vg vol-dir-huge 125 'directory buffer'
    vg vol-dir-bad-buf 125 'outside guest memory'
    vg vol-struct-past-end 125 'outside guest memory'
    check "$v/oom-touch" 137 'SIGKILL.*out of memory' -- "$uvmm" --mem 32 "$guest" oom-touch
    for seed in 1 2 3 4; do
        timeout 60 "$uvmm" --mem 16 --volume "$work/vol:/vol" "$guest" random $seed \
            >"$work/out" 2>"$work/err" </dev/null
        st=$?
        if grep -q -E 'AddressSanitizer|runtime error' "$work/err"; then
            echo "FAIL robustness/$v/random-$seed: sanitizer report"
        elif [ $st != 0 ] && [ $st != 125 ]; then
            echo "FAIL robustness/$v/random-$seed: status $st"
        else
            echo "PASS robustness/$v/random-$seed"
        fi
    done

    # A spinning guest ends with the signal that ends uvmm, like a native process.
    # (SIGINT is not tried: a shell starts background jobs with SIGINT ignored.)
    for sig in TERM KILL HUP; do
        "$uvmm" --mem 16 "$guest" spin >"$work/spin.out" 2>&1 &
        pid=$!
        for _ in $(seq 200); do grep -q spinning "$work/spin.out" && break; sleep 0.05; done
        t0=$(date +%s%N)
        kill -$sig $pid
        ( sleep 10; kill -9 $pid 2>/dev/null ) &
        watchdog=$!
        wait $pid 2>/dev/null
        st=$?
        kill $watchdog 2>/dev/null
        wait $watchdog 2>/dev/null
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        want=$((128 + $(kill -l $sig)))
        if [ $st = $want ] && [ $ms -lt 8000 ]; then  # promptly; the 10 s watchdog would give 137
            echo "PASS robustness/$v/spin-SIG$sig"
        else
            echo "FAIL robustness/$v/spin-SIG$sig: status $st (want $want) after ${ms} ms"
        fi
    done

    # Malformed inputs.
    printf 'not an image at all' > "$work/junk"
    : > "$work/empty"
    check "$v/missing-image" 125 'cannot open' -- "$uvmm" "$work/nope"
    check "$v/junk-image" 125 'neither an image' -- "$uvmm" "$work/junk"
    check "$v/empty-image" 125 'neither an image' -- "$uvmm" "$work/empty"
    check "$v/bad-mem" 125 '--mem' -- "$uvmm" --mem 1 "$guest" ok
    check "$v/bad-mem-word" 125 '--mem' -- "$uvmm" --mem lots "$guest" ok
    check "$v/unknown-option" 125 'unknown option' -- "$uvmm" --frobnicate "$guest" ok
    check "$v/bad-env" 125 'NAME=VALUE' -- "$uvmm" --env novalue "$guest" ok
    check "$v/missing-kernel" 125 'cannot open kernel' -- "$uvmm" --kernel "$work/nope" "$guest" ok
    check "$v/junk-kernel" 125 'not a usable uk.elf' -- "$uvmm" --kernel "$work/junk" "$guest" ok
    check "$v/kernel-is-app" 125 'not a usable uk.elf' -- "$uvmm" --kernel "$guest" "$guest" ok
    build/bin/uigniterctl build -o "$work/good.img" "$guest" 2>/dev/null
    size=$(stat -c %s "$work/good.img")
    for cut in 8 64 100 200 4096 $((size - 4096)) $((size - 1)); do
        head -c $cut "$work/good.img" > "$work/cut.img"
        check "$v/truncated-image-$cut" 125 'kernel: image' -- "$uvmm" "$work/cut.img" ok
    done
    cp "$work/good.img" "$work/bad.img"
    printf '\xff\xff\xff\x7f' | dd of="$work/bad.img" bs=1 seek=32 conv=notrunc 2>/dev/null
    check "$v/corrupt-inode-table" 125 'kernel: image' -- "$uvmm" "$work/bad.img" ok
    check "$v/small-mem-still-runs" 0 '' -- "$uvmm" --mem 2 "$guest" ok
done

# The well-behaved mode prints, the rest never print "the monitor let that pass".
"$uvmm" --mem 16 "$guest" ok >"$work/out" 2>&1 && grep -q 'still here' "$work/out" &&
    echo "PASS robustness/ok-guest" || echo "FAIL robustness/ok-guest: $(head -c 200 "$work/out")"

# Nothing the guests did reached beyond their volume.
if [ "$(cd "$work" && sha256sum secret)" = "$secret_sum" ] &&
    [ -z "$(cd "$work" && ls -A | grep -v -x -E 'vol|secret|out|err|spin.out|junk|empty|good.img|cut.img|bad.img')" ]; then
    echo "PASS robustness/volume-confined"
else
    echo "FAIL robustness/volume-confined: $(cd "$work" && ls -A | tr '\n' ' ')"
fi
