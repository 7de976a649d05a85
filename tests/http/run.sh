#!/usr/bin/env bash
# Unit tests of lib's HTTP/1.1 server and client (keep-alive, pipelining,
# chunked bodies, limits, timeouts, streaming), built with ASan + UBSan.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=build/tests/http_test
if [ ! -x "$bin" ]; then
    echo "FAIL http build: $bin missing (make $bin)"
    exit 0
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
timeout 120 "$bin"
rc=$?
[ $rc = 0 ] || echo "FAIL http binary: exited with status $rc"
exit 0
