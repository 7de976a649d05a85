/* filter_ref.c -- the reference run of the worker's filter: the same
 * filter.c, called directly on files, no services involved. The pipeline
 * test compares every result that went through gateway, master, storage
 * and a worker with this tool's output, byte for byte.
 *   filter_ref IN OUT [IN OUT]...     exit 0, or 1 with one line per failure
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "filter.h"

static int read_file(const char *path, buf *b)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    for (;;) {
        char *p = buf_reserve(b, 65536);
        ssize_t n = read(fd, p, 65536);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        buf_commit(b, (size_t)n);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: filter_ref IN OUT [IN OUT]...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        buf in = BUF_INIT;
        unsigned char *out;
        size_t outlen;
        char why[200];
        if (read_file(argv[i], &in) < 0) {
            fprintf(stderr, "filter_ref: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (filter_image((unsigned char *)buf_peek(&in), buf_used(&in), FILTER_MAX_PIXELS,
                                &out, &outlen, why, sizeof(why)) < 0) {
            fprintf(stderr, "filter_ref: %s: %s\n", argv[i], why);
            rc = 1;
        } else {
            FILE *f = fopen(argv[i + 1], "wb");
            if (!f || fwrite(out, 1, outlen, f) != outlen || fclose(f) != 0) {
                fprintf(stderr, "filter_ref: %s: %s\n", argv[i + 1], strerror(errno));
                rc = 1;
            }
            free(out);
        }
        buf_free(&in);
    }
    return rc;
}
