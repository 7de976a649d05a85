/*
 * fuzz_image.c — libFuzzer target for the kernel's image parser.
 *
 * Any input either gets refused with a message, or it is an image every later call
 * may trust: so on success this walks all of it the way the file system would —
 * every name, every file's bytes, every directory entry looked up by name (which
 * must find exactly that entry), ".", "..", names that are absent, argv and env —
 * and traps if an answer contradicts the tree. ASan catches any read out of bounds.
 * The seed corpus is written at test time by seed_image.c.
 */
// fuzz-sources: kernel/fs/image_parse.c
#include "fs/image_parse.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EXPECT(c)                                                                                  \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static volatile uint8_t sink;

static void touch(const void *p, uint64_t len)
{
    const uint8_t *b = p;
    uint8_t x = 0;
    for (uint64_t i = 0; i < len; i++)
        x ^= b[i];
    sink = x;
}

static void walk_dir(const struct uimg_view *v, uint32_t dir, const struct uimg_inode *d)
{
    for (uint64_t c = d->data; c < d->data + d->size; c++) {
        uint32_t len;
        const char *name = uimg_name(v, (uint32_t)c, &len);
        EXPECT(name && len >= 1 && len <= UIMG_NAME_MAX);
        EXPECT(uimg_lookup(v, dir, name, len) == (int64_t)c);
        EXPECT(uimg_inode(v, (uint32_t)c)->parent == dir);
    }
    EXPECT(uimg_lookup(v, dir, ".", 1) == dir);
    EXPECT(uimg_lookup(v, dir, "..", 2) == d->parent);
    EXPECT(uimg_lookup(v, dir, "\x01\x02", 2) == -2);
}

static void walk(const struct uimg_view *v)
{
    for (uint32_t i = 0; i < v->count; i++) {
        const struct uimg_inode *n = uimg_inode(v, i);
        uint32_t len;
        EXPECT(uimg_name(v, i, &len) != NULL);
        uint64_t size;
        const void *data = uimg_data(v, i, &size);
        if ((n->mode & UIMG_S_IFMT) == UIMG_S_IFDIR) {
            EXPECT(data == NULL);
            walk_dir(v, i, n);
        } else {
            EXPECT(data != NULL && size == n->size);
            touch(data, size);
            EXPECT(uimg_lookup(v, i, "a", 1) == -20);
        }
    }
    EXPECT(uimg_lookup(v, v->count, "a", 1) == -22);
    for (uint32_t i = 0; i < v->hdr->argc; i++) {
        const char *s = uimg_arg(v, i);
        EXPECT(s != NULL);
        touch(s, strlen(s));
    }
    EXPECT(uimg_arg(v, v->hdr->argc) == NULL);
    for (uint32_t i = 0; i < v->hdr->envc; i++) {
        const char *s = uimg_env(v, i);
        EXPECT(s != NULL && strchr(s, '=') != NULL && s[0] != '=');
    }
    EXPECT(uimg_env(v, v->hdr->envc) == NULL);
    EXPECT((uimg_inode(v, v->hdr->entry)->mode & UIMG_S_IFMT) == UIMG_S_IFREG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uimg_view v;
    const char *why = NULL;
    uint64_t where;
    if (uimg_open(&v, data, size, &why, &where) < 0) {
        EXPECT(why != NULL && why[0] != '\0');
        return 0;
    }
    walk(&v);
    return 0;
}
