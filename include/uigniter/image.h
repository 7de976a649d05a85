/*
 * image.h — the Uigniter image format (see docs/image-format.md).
 *
 * An image is one read-only file: a header, an inode table, a name pool, a config
 * block (default argv and environment) and file contents at 4 KiB-aligned offsets,
 * so the kernel can map program text straight from the image without copying.
 * Directories list their children as one contiguous run of inodes sorted by name,
 * which makes lookup a binary search and lets a reader check the tree in one pass.
 *
 * Written by uigniterctl build (lib/image_writer.c); read by the kernel, which treats
 * every byte as untrusted (kernel/fs/image_parse.c). All integers little-endian.
 */
#ifndef UIGNITER_IMAGE_H
#define UIGNITER_IMAGE_H

#include <stdint.h>

#define UIMG_MAGIC      "UIGNIMG\x01"
#define UIMG_VERSION    1
#define UIMG_ALIGN      4096u
#define UIMG_NAME_MAX   255u
#define UIMG_LINK_MAX   4095u
#define UIMG_ROOT       0u /* inode 0 is the root directory */

/* File types in uimg_inode.mode, same values as Linux's S_IF*. */
#define UIMG_S_IFMT  0170000u
#define UIMG_S_IFDIR 0040000u
#define UIMG_S_IFREG 0100000u
#define UIMG_S_IFLNK 0120000u

struct uimg_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;   /* sizeof(struct uimg_header) */
    uint64_t image_size;    /* the whole file; a shorter file is truncated */
    uint64_t inode_off;     /* table of inode_count struct uimg_inode */
    uint32_t inode_count;
    uint32_t inode_size;    /* sizeof(struct uimg_inode) */
    uint64_t names_off;     /* name pool: names are not NUL-terminated */
    uint64_t names_size;
    uint64_t config_off;    /* argc strings then envc strings, each NUL-terminated */
    uint64_t config_size;
    uint32_t argc;          /* default argv, argv[0] first (>= 1) */
    uint32_t envc;
    uint32_t entry;         /* inode of the program to run */
    uint32_t flags;         /* 0 */
    uint64_t reserved[4];
};

struct uimg_inode {
    uint32_t mode;      /* UIMG_S_IF* | permission bits */
    uint32_t parent;    /* inode of the parent directory (root: 0) */
    uint32_t name_off;  /* into the name pool (root: empty name) */
    uint32_t name_len;
    uint64_t data;      /* regular file, symlink: byte offset of the contents (files: aligned);
                           directory: inode of the first child */
    uint64_t size;      /* regular file, symlink: byte length; directory: number of children */
    int64_t mtime;      /* seconds since the epoch */
    uint64_t reserved;
};

#endif
