/* storage.h -- the blob files of storage: key rules, the header each blob
 * file starts with, and the durable write cycle (temporary file, fsync,
 * rename, fsync of the directory). No HTTP here. */
#ifndef STORAGE_H
#define STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define BLOB_KEY_MAX   200
#define BLOB_CTYPE_MAX 160
/* Every blob file starts with a fixed-size text header:
 *   "UIGBLOB1 <sha256 hex> <content type>" padded with spaces, then "\n". */
#define BLOB_HDR_LEN 256

typedef struct blob_store {
    char dir[512]; /* DIR */
    int blobs_fd;  /* DIR/blobs, for fsync after renames */
    unsigned long long tmp_seq;
} blob_store;

typedef struct blob_writer {
    int fd;
    char tmp[1024];
    char key[BLOB_KEY_MAX + 1];
    char ctype[BLOB_CTYPE_MAX + 1];
    long long size;
    sha256_ctx sha;
    char sha_hex[SHA256_HEX]; /* set by blob_write_commit */
} blob_writer;

typedef struct blob_info {
    long long size;
    char sha[SHA256_HEX];
    char ctype[BLOB_CTYPE_MAX + 1];
} blob_info;

/* 1-200 characters of [A-Za-z0-9._-], not starting with '.': no path can be
 * made of it. */
int blob_key_valid(const char *key);
/* Printable ASCII without quotes or backslashes, at most 160 bytes. */
int blob_ctype_valid(const char *ctype);

/* Creates DIR, DIR/blobs and DIR/tmp as needed and empties DIR/tmp (writes
 * a crash cut short). Returns 0 or -1 with errno. */
int blob_store_open(blob_store *s, const char *dir);
/* Counts the blobs (for /health). */
long blob_store_count(blob_store *s);

int blob_write_begin(blob_store *s, blob_writer *w, const char *key, const char *ctype);
int blob_write(blob_writer *w, const void *data, size_t len);
/* Header, fsync, rename over the old blob, fsync of the directory. On
 * failure the temporary file is gone and the old blob (if any) remains. */
int blob_write_commit(blob_store *s, blob_writer *w);
void blob_write_abort(blob_writer *w);

/* Opens a blob for reading: returns the fd (positioned nowhere: use pread
 * from BLOB_HDR_LEN) and fills info, or -1 with errno (ENOENT). */
int blob_open(blob_store *s, const char *key, blob_info *info);
/* Removes a blob durably. -1 with ENOENT when there is none. */
int blob_delete(blob_store *s, const char *key);

#endif
