/*
 * fuzz_volume.c — libFuzzer target for the checks the monitor applies to volume
 * options and to names a guest sends (vmm/vol_path.c).
 *
 * The first byte picks the check, the rest is its input (a NUL separates the two
 * strings of a symlink). Each answer is checked against an independent reading:
 *   spec     an accepted "HOSTDIR:GUESTDIR[:ro]" splits back into exactly the input,
 *            with a normalised absolute GUESTDIR;
 *   link     an accepted symlink target, appended to the link's directory and
 *            resolved lexically with a stack of components, never climbs above the
 *            volume's root;
 *   split    parent and name join back into the path, and the name is one plain
 *            component.
 */
// fuzz-sources: vmm/vol_path.c
#include "vol_path.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPECT(c)                                                                                  \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

/* Resolves the components of s (len bytes) lexically onto a stack of depth *depth;
 * false if a ".." would pop the root. */
static bool walk(const char *s, size_t len, long *depth, bool skip_last)
{
    char *copy = malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = 0;
    char *parts[4096];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(copy, "/", &save); t && n < 4096;
         t = strtok_r(NULL, "/", &save))
        parts[n++] = t;
    bool ok = true;
    for (int i = 0; i < n - (skip_last ? 1 : 0); i++) {
        if (strcmp(parts[i], "..") == 0) {
            if (--*depth < 0) {
                ok = false;
                break;
            }
        } else if (strcmp(parts[i], ".") != 0) {
            ++*depth;
        }
    }
    free(copy);
    return ok;
}

static void check_spec(const char *s, size_t len)
{
    char host[64], guest[64];
    bool ro;
    const char *why = NULL;
    if (vol_parse_spec(s, host, sizeof host, guest, sizeof guest, &ro, &why) < 0) {
        EXPECT(why && why[0]);
        return;
    }
    EXPECT(host[0] && vol_guest_dir_ok(guest));
    size_t hl = strlen(host), gl = strlen(guest);
    EXPECT(hl < sizeof host && gl < sizeof guest);
    size_t rest = len - hl - 1 - gl;
    EXPECT(hl + 1 + gl <= len && s[hl] == ':' && memcmp(s, host, hl) == 0 &&
           memcmp(s + hl + 1, guest, gl) == 0);
    EXPECT(rest == 0 || rest == 3);
    EXPECT(ro == (rest == 3 && strcmp(s + len - 3, ":ro") == 0));
    EXPECT(!memchr(guest, ':', gl));
}

static void check_link(const char *s, size_t len)
{
    const char *nul = memchr(s, 0, len);
    if (!nul)
        return;
    const char *link = s, *target = nul + 1;
    size_t ll = nul - s, tl = len - ll - 1;
    if (memchr(target, 0, tl))
        return;
    if (!vol_link_inside(link, ll, target, tl))
        return;
    EXPECT(tl > 0 && target[0] != '/');
    long depth = 0;
    if (!walk(link, ll, &depth, true))
        return; /* a link path that itself leaves the root: openat2 refuses it */
    EXPECT(walk(target, tl, &depth, false));
}

static void check_split(const char *s, size_t len)
{
    if (memchr(s, 0, len))
        return;
    char parent[128];
    const char *name;
    if (vol_split(s, parent, sizeof parent, &name) < 0)
        return;
    size_t nl = strlen(name), pl = strlen(parent);
    EXPECT(nl > 0 && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, ".."));
    EXPECT(name >= s && name + nl == s + len);
    if (name == s)
        EXPECT(strcmp(parent, ".") == 0);
    else if (name == s + 1)
        EXPECT(strcmp(parent, "/") == 0);
    else
        EXPECT(pl == (size_t)(name - 1 - s) && memcmp(parent, s, pl) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        if (!memchr(s, 0, len))
            check_spec(s, len);
        break;
    case 1:
        check_link(s, len);
        break;
    case 2:
        check_split(s, len);
        break;
    }
    free(s);
    return 0;
}
