/*
 * image_parse.h — validating reader of Uigniter images (format: docs/image-format.md).
 *
 * The image comes from outside the guest, so uimg_open checks every byte that any
 * later call will rely on, once, in time linear in the image's metadata. After it
 * succeeds the other functions trust the view and do no further checking beyond the
 * arguments their callers pass. The code is pure freestanding C (no libc, no
 * allocation, no globals) so that the kernel, the host tools, the unit tests and the
 * fuzzer all run the very same parser.
 */
#ifndef UIGNITER_IMAGE_PARSE_H
#define UIGNITER_IMAGE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "uigniter/image.h"

struct uimg_view {
    const uint8_t *base;
    uint64_t size; /* header.image_size: bytes past it are ignored */
    const struct uimg_header *hdr;
    const struct uimg_inode *inodes;
    uint32_t count;
    const char *names;
    const char *config;
};

/*
 * Validates the image at base[0..size) and fills *v. base must be 8-byte aligned.
 * Returns 0, or -1 with *why = a static one-line message and *where = the offending
 * inode index, byte offset or count. The message ends with the word naming *where
 * ("...: inode", "...: offset"), so printf("%s %llu", why, where) reads as a sentence.
 */
int uimg_open(struct uimg_view *v, const void *base, uint64_t size, const char **why,
              uint64_t *where);

/*
 * Looks up one path component (not NUL-terminated) in directory `dir`.
 * "." is dir itself and ".." its parent (the root's parent is the root).
 * Returns the inode index, or -2 (ENOENT), -20 (ENOTDIR: dir is not a directory),
 * -36 (ENAMETOOLONG: len > 255), -22 (EINVAL: dir out of range). O(log n).
 */
int64_t uimg_lookup(const struct uimg_view *v, uint32_t dir, const char *name, size_t len);

/* The inode, or NULL if ino is out of range. */
const struct uimg_inode *uimg_inode(const struct uimg_view *v, uint32_t ino);

/* The name of an inode (not NUL-terminated; the root's is empty), or NULL if out of range. */
const char *uimg_name(const struct uimg_view *v, uint32_t ino, uint32_t *len);

/*
 * The contents of a regular file or the target of a symlink (not NUL-terminated),
 * with *size set; NULL for directories and out-of-range inodes.
 */
const void *uimg_data(const struct uimg_view *v, uint32_t ino, uint64_t *size);

/* The i-th default argument / environment string (NUL-terminated), or NULL if
 * i >= argc / envc. Walks the config block: O(config size). */
const char *uimg_arg(const struct uimg_view *v, uint32_t i);
const char *uimg_env(const struct uimg_view *v, uint32_t i);

#endif
