#!/usr/bin/env bash
# Host tests of images: the writer/parser and shell-word unit tests (ASan + UBSan),
# then uigniterctl build/inspect end to end with the ASan build of the tool.
# Prints one "PASS <case>" or "FAIL <case>: <why>" line per case (see tests/run.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."

B=build
T=$B/tests/image
CTL=$B/bin/uigniterctl-asan
deps=("$B/bin/uigniterctl" "$CTL" "$T/test_image" "$T/test_shell_words" "$T/hello-static"
      "$T/hello-dynamic" "$T/hello-static-pie" "$T/hello-shared.so")

if ! env -u MAKEFLAGS -u MFLAGS make --no-print-directory -s "${deps[@]}" >&2; then
    echo "FAIL image/build: make ${deps[*]} failed"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uimg-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- unit tests -------------------------------------------------------------------
for unit in test_image test_shell_words; do
    "$T/$unit" > "$tmp/unit.out" 2> "$tmp/unit.err"
    rc=$?
    cat "$tmp/unit.out"
    if [ "$rc" != 0 ]; then
        echo "FAIL image/$unit: exited with status $rc: $(grep -m1 -E 'ERROR|SUMMARY' "$tmp/unit.err")"
        cat "$tmp/unit.err" >&2
    fi
done

# ---- CLI helpers --------------------------------------------------------------------
pass() { echo "PASS cli/$1"; }
fail() { echo "FAIL cli/$1: $2"; }

# expect NAME STATUS PATTERN CMD...: CMD exits with STATUS; when STATUS is not 0, its
# stderr is exactly one line "uigniterctl: ..." matching the extended regex PATTERN.
# stdout is left in $tmp/out.
expect() {
    local name=$1 want=$2 pat=$3 rc
    shift 3
    "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "exit status $rc, wanted $want: $(head -c 300 "$tmp/err")"
        return 1
    fi
    if [ "$want" != 0 ]; then
        if [ "$(wc -l < "$tmp/err")" != 1 ] || ! grep -qE "^uigniterctl: .*$pat" "$tmp/err"; then
            fail "$name" "stderr is not one line matching '$pat': $(head -c 300 "$tmp/err")"
            return 1
        fi
    elif [ -s "$tmp/err" ]; then
        fail "$name" "unexpected stderr: $(head -c 300 "$tmp/err")"
        return 1
    fi
    pass "$name"
}

# check NAME COMMAND...: a shell condition as a case.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

# ---- help --------------------------------------------------------------------------
expect help 0 '' "$CTL" --help && check help_lists_commands grep -q '^  build ' "$tmp/out"
expect help_build 0 '' "$CTL" build --help &&
    check help_build_documents_bin grep -q '/bin/<basename of BINARY>' "$tmp/out"
expect help_inspect 0 '' "$CTL" inspect --help
expect help_command 0 '' "$CTL" help build
expect release_binary_runs 0 '' "$B/bin/uigniterctl" --help
expect no_command 2 'no command' "$CTL"
expect unknown_command 2 "unknown command 'frob'" "$CTL" frob
expect unknown_option 2 "unknown option '--frob'" "$CTL" --frob

# ---- build: fixtures with fixed mtimes, so the listing below is exact ----------------
mkdir -p "$tmp/root/etc/sub" "$tmp/with:colon"
cp "$T/hello-static" "$tmp/hello"
printf 'motd\n' > "$tmp/root/etc/motd"
chmod 600 "$tmp/root/etc/motd"
ln -s ../motd "$tmp/root/etc/sub/link"
printf 'x' > "$tmp/with:colon/f"
printf 'single\n' > "$tmp/single"
touch -h -d @1700000000 "$tmp/root/etc/sub/link" "$tmp/root/etc/motd" "$tmp/root/etc/sub" \
    "$tmp/root/etc" "$tmp/root" "$tmp/hello" "$tmp/single" "$tmp/with:colon/f" "$tmp/with:colon"
hsize=$(stat -c %s "$tmp/hello")

expect build 0 '' "$CTL" build -o "$tmp/app.img" --cmd "--port 80 'a b' \"c\\\"d\"" \
    --env HOME=/ --env K=1 --env K=2 "$tmp/hello" "$tmp/root:/" "$tmp/single:/srv/" \
    "$tmp/with:colon:/data"
check build_leaves_no_temp_files test "$(ls "$tmp" | grep -c '^app.img')" = 1
check build_image_page_sized test $(( $(stat -c %s "$tmp/app.img") % 4096 )) = 0
expect inspect 0 '' "$CTL" inspect "$tmp/app.img"
cat > "$tmp/want" <<EOF
image: $tmp/app.img ($(stat -c %s "$tmp/app.img") bytes, 11 inodes)
entry: /bin/hello
argv: "/bin/hello" "--port" "80" "a b" "c\\"d"
env: "HOME=/" "K=2"
drwxr-xr-x          4 2023-11-14T22:13:20Z /
drwxr-xr-x          1 1970-01-01T00:00:00Z /bin
-rwxr-xr-x $(printf '%10d' "$hsize") 2023-11-14T22:13:20Z /bin/hello
drwxr-xr-x          1 2023-11-14T22:13:20Z /data
-rw-r--r--          1 2023-11-14T22:13:20Z /data/f
drwxr-xr-x          2 2023-11-14T22:13:20Z /etc
-rw-------          5 2023-11-14T22:13:20Z /etc/motd
drwxr-xr-x          1 2023-11-14T22:13:20Z /etc/sub
lrwxrwxrwx          7 2023-11-14T22:13:20Z /etc/sub/link -> ../motd
drwxr-xr-x          1 1970-01-01T00:00:00Z /srv
-rw-r--r--          7 2023-11-14T22:13:20Z /srv/single
EOF
if diff -u "$tmp/want" "$tmp/out" > "$tmp/diff"; then
    pass inspect_listing
else
    fail inspect_listing "listing differs: $(head -c 600 "$tmp/diff" | tr '\n' '|')"
fi

# Same inputs, same bytes; the release and ASan builds agree.
"$B/bin/uigniterctl" build -o "$tmp/again.img" --cmd "--port 80 'a b' \"c\\\"d\"" \
    --env HOME=/ --env K=1 --env K=2 "$tmp/hello" "$tmp/root:/" "$tmp/single:/srv/" \
    "$tmp/with:colon:/data" 2> "$tmp/err"
check deterministic cmp -s "$tmp/app.img" "$tmp/again.img"

expect build_default_argv 0 '' "$CTL" build -o "$tmp/plain.img" "$tmp/hello"
expect inspect_default_argv 0 '' "$CTL" inspect "$tmp/plain.img" &&
    check default_argv_is_entry grep -qx 'argv: "/bin/hello"' "$tmp/out"
expect build_static_pie 0 '' "$CTL" build -o "$tmp/pie.img" "$T/hello-static-pie"
expect build_options_after_binary 0 '' "$CTL" build "$tmp/hello" -o "$tmp/late.img" --env A=b

# ---- build errors --------------------------------------------------------------------
expect missing_binary 1 'No such file or directory' "$CTL" build -o "$tmp/x.img" "$tmp/nope"
expect dynamic_elf 1 'dynamically linked \(PT_INTERP /.+\)' \
    "$CTL" build -o "$tmp/x.img" "$T/hello-dynamic"
expect shared_library 1 'needs shared libraries \(DT_NEEDED\)' \
    "$CTL" build -o "$tmp/x.img" "$T/hello-shared.so"
expect not_elf 1 'not an ELF executable' "$CTL" build -o "$tmp/x.img" tests/image/run.sh
cp "$tmp/hello" "$tmp/elf32" && printf '\001' | dd of="$tmp/elf32" bs=1 seek=4 conv=notrunc status=none
expect elf32 1 'not an x86-64' "$CTL" build -o "$tmp/x.img" "$tmp/elf32"
cp "$tmp/hello" "$tmp/noexec" && chmod 644 "$tmp/noexec"
expect not_executable 1 'not executable' "$CTL" build -o "$tmp/x.img" "$tmp/noexec"
expect binary_is_dir 1 'not a regular file' "$CTL" build -o "$tmp/x.img" "$tmp/root"
expect cmd_unbalanced_single 2 "--cmd: unbalanced single quote" \
    "$CTL" build -o "$tmp/x.img" --cmd "a 'b" "$tmp/hello"
expect cmd_unbalanced_double 2 "--cmd: unbalanced double quote" \
    "$CTL" build -o "$tmp/x.img" --cmd 'a "b' "$tmp/hello"
expect cmd_twice 2 "--cmd given twice" \
    "$CTL" build -o "$tmp/x.img" --cmd a --cmd b "$tmp/hello"
expect mapping_no_colon 2 'expected HOSTPATH:GUESTPATH' \
    "$CTL" build -o "$tmp/x.img" "$tmp/hello" "$tmp/single"
expect mapping_relative_guest 2 'expected HOSTPATH:GUESTPATH' \
    "$CTL" build -o "$tmp/x.img" "$tmp/hello" "$tmp/single:srv"
expect mapping_empty_host 2 'expected HOSTPATH:GUESTPATH' \
    "$CTL" build -o "$tmp/x.img" "$tmp/hello" ":/srv"
expect mapping_missing_host 1 'nope: No such file or directory' \
    "$CTL" build -o "$tmp/x.img" "$tmp/hello" "$tmp/nope:/srv"
expect mapping_dotdot 1 '"\.\." are not allowed' \
    "$CTL" build -o "$tmp/x.img" "$tmp/hello" "$tmp/single:/a/../b"
expect mapping_clash 1 '/bin/hello: already in the image' \
    "$CTL" build -o "$tmp/x.img" "$tmp/hello" "$tmp/single:/bin/hello"
expect bad_env 2 '--env: =x: environment entries are NAME=VALUE' \
    "$CTL" build -o "$tmp/x.img" --env =x "$tmp/hello"
expect missing_output 2 '-o APP.img is required' "$CTL" build "$tmp/hello"
expect missing_binary_arg 2 'BINARY is missing' "$CTL" build -o "$tmp/x.img"
expect option_needs_argument 2 '--cmd needs an argument' "$CTL" build -o "$tmp/x.img" --cmd
expect unknown_build_option 2 "unknown option '--frob'" "$CTL" build --frob
expect output_in_missing_dir 1 'No such file or directory' \
    "$CTL" build -o "$tmp/no/dir/x.img" "$tmp/hello"
check failed_builds_leave_nothing test -z "$(ls "$tmp" | grep '^x\.img')"
cp "$tmp/app.img" "$tmp/keep.img"
expect failed_build_keeps_old_image 1 'not an ELF' "$CTL" build -o "$tmp/keep.img" tests/image/run.sh &&
    check old_image_untouched cmp -s "$tmp/app.img" "$tmp/keep.img"

# ---- inspect errors ------------------------------------------------------------------
expect inspect_missing 1 'No such file or directory' "$CTL" inspect "$tmp/nope.img"
expect inspect_not_image 1 'invalid image: bad magic' "$CTL" inspect tests/image/run.sh
: > "$tmp/empty.img"
expect inspect_empty 1 'invalid image: image shorter than its header' "$CTL" inspect "$tmp/empty.img"
head -c 5000 "$tmp/app.img" > "$tmp/short.img"
expect inspect_truncated 1 'invalid image: image truncated' "$CTL" inspect "$tmp/short.img"
cp "$tmp/app.img" "$tmp/bad.img"
printf '\377\377\377\377' | dd of="$tmp/bad.img" bs=1 seek=80 conv=notrunc status=none # entry
expect inspect_bad_entry 1 'invalid image: entry inode out of range: offset 80' \
    "$CTL" inspect "$tmp/bad.img"
expect inspect_usage 2 'expected one APP.img' "$CTL" inspect
expect inspect_directory 1 'not a regular file' "$CTL" inspect "$tmp/root"
exit 0
