#!/usr/bin/env bash
# Installs what the build and the tests need. Idempotent and quick when all is there.
#  - Debian packages listed in scripts/deps/*.apt, with apt-get (needs root).
#  - Debian *source* packages listed in scripts/deps/*.src, fetched through a private
#    apt configuration under build/deps/apt (the system's apt sources stay untouched)
#    and unpacked into build/deps/<name>/ with Debian's patches applied.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=build/deps

want_pkgs=$(cat scripts/deps/*.apt | sed 's/#.*//' | xargs -n1 | sort -u)
missing=()
for p in $want_pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]} (run make setup as root)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || { echo "setup: apt-get update failed" >&2; exit 1; }
    mkdir -p build
    apt-get install -y -q --no-install-recommends "${missing[@]}" >"$PWD/build/apt-install.log" 2>&1 ||
        { tail -20 build/apt-install.log >&2; echo "setup: apt-get install failed" >&2; exit 1; }
fi

src_pkgs=$(cat scripts/deps/*.src | sed 's/#.*//' | xargs -n1 | sort -u)
todo=()
for s in $src_pkgs; do [ -f "$deps/$s/.unpacked" ] || todo+=("$s"); done
if [ ${#todo[@]} -gt 0 ]; then
    apt=$PWD/$deps/apt
    mkdir -p "$apt"/{lists/partial,cache/archives/partial,etc} "$deps/src"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
        > "$apt/etc/sources.list"
    opts=(-o Dir::Etc::SourceList="$apt/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root
          -o Debug::NoLocking=1)
    [ -n "$(ls "$apt/lists" 2>/dev/null | grep Sources || true)" ] ||
        apt-get "${opts[@]}" update -q >/dev/null || { echo "setup: source index update failed" >&2; exit 1; }
    for s in "${todo[@]}"; do
        echo "setup: fetching Debian source package $s"
        ( cd "$deps/src" && apt-get "${opts[@]}" source --download-only "$s" >/dev/null 2>&1 ) ||
            { echo "setup: cannot fetch source package $s" >&2; exit 1; }
        dsc=$(ls "$deps"/src/"$s"_*.dsc | head -1)
        rm -rf "$deps/$s"
        dpkg-source --no-check -x "$dsc" "$deps/$s" >/dev/null ||
            { echo "setup: cannot unpack $dsc" >&2; exit 1; }
        touch "$deps/$s/.unpacked"
    done
fi

# Components' own setup steps: every executable scripts/deps/*.sh, run after the
# packages above are in place (each must be idempotent and quick when done).
for hook in scripts/deps/*.sh; do
    [ -x "$hook" ] || continue
    "$hook" || { echo "setup: $hook failed" >&2; exit 1; }
done
