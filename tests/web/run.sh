#!/usr/bin/env bash
# The web UI in headless Chromium (Debian's /usr/bin/chromium driven by
# playwright-core from tests/web/node_modules, installed by make setup):
# upload several images and a non-image through the gateway, watch the
# states reach done, check the result images, the download links (bytes
# equal to the reference filter) and a screenshot of the page
# (build/tests/web/ui.png).
set -uo pipefail
SUITE=web
source "$(dirname "$0")/../pipeline/stack.sh"

for f in "$BIN"/{kvstore,taskdb,storage,master,worker,gateway} "$TBIN/filter_ref" "$TBIN/mkimg"; do
    [ -x "$f" ] || { fail build "$f missing"; exit 0; }
done
[ -x /usr/bin/chromium ] || { fail setup "/usr/bin/chromium missing (make setup)"; exit 0; }
command -v node >/dev/null || { fail setup "node missing"; exit 0; }
[ -d "$ROOT/tests/web/node_modules/playwright-core" ] ||
    { fail setup "playwright-core missing in tests/web/node_modules (make setup)"; exit 0; }

IMG=$WORK/images REF=$WORK/ref
mkdir -p "$IMG"
"$TBIN/mkimg" "$IMG" 4 && make_refs "$IMG" "$REF" || { fail images "mkimg/filter_ref failed"; exit 0; }
echo "not an image" >"$WORK/notes.txt"
stack_up kvstore 2 || { fail start "stack did not come up"; exit 0; }

shots=$ROOT/build/tests/web
mkdir -p "$shots"
refs=()
for f in "$REF"/*.png; do refs+=("$(sha256sum "$f" | cut -c1-64)"); done
# HOME in the work directory: chromium writes its profile and crash files there.
HOME=$WORK timeout 120 node "$ROOT/tests/web/ui.mjs" "$GW/" "$shots/ui.png" "$IMG"/* -- "$WORK/notes.txt" -- \
    "${refs[@]}" 2>"$WORK/node.err"
rc=$?
[ "$rc" = 0 ] || fail "browser run" "status $rc: $(tail -3 "$WORK/node.err" | tr '\n' ' ')"
exit 0
