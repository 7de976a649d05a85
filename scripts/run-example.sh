#!/usr/bin/env bash
# Boots the example unikernel build/images/hello.img with uvmm: first plainly, as a
# user would run it, then with --verbose for the boot-time breakdown.
# On a machine without /dev/kvm the boot happens inside scripts/kvmlab (a Linux
# with real KVM on an emulated CPU; see the script), so its timings are not
# representative.
set -euo pipefail
cd "$(dirname "$0")/.."

img=build/images/hello.img
for f in build/bin/uvmm build/uk.elf "$img"; do
    [ -e "$f" ] || { echo "run-example: $f is missing (run make)" >&2; exit 1; }
done
cmd=(sh -c 'set -x; build/bin/uvmm "$0" -- from a microVM; build/bin/uvmm --verbose "$0" -- again' "$img")
if [ -c /dev/kvm ] && [ -r /dev/kvm ]; then
    "${cmd[@]}"
else
    echo "run-example: this machine has no /dev/kvm; booting inside scripts/kvmlab" >&2
    scripts/kvmlab -- "${cmd[@]}"
fi
