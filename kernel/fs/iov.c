/*
 * iov.c — moving I/O vectors through devices whose hypercalls take lists of
 * guest-physical segments (console, volumes): one call moves a whole batch of
 * pages, however the buffer is scattered in physical memory.
 */
#include "vfs.h"

/* Fills segs (at most max) with the guest-physical segments of the iovecs from
 * iov[*i] at byte *off on, and advances *i and *off past them; *bytes is what they
 * cover. Returns the count of segments or -errno (-EFAULT, -ENOMEM). */
static int iov_segments(const struct kiovec *iov, int cnt, int *i, uint64_t *off, bool write,
                        struct uh_seg *segs, int max, uint64_t *bytes)
{
    int n = 0;
    *bytes = 0;
    while (*i < cnt && n < max) {
        uint64_t covered;
        int r = buf_segments((char *)iov[*i].base + *off, iov[*i].len - *off, write, segs + n,
                             max - n, &covered);
        if (r < 0)
            return r;
        n += r;
        *bytes += covered;
        *off += covered;
        if (*off < iov[*i].len)
            break; /* the segments ran out */
        (*i)++;
        *off = 0;
    }
    return n;
}

ssize_t iov_xfer(const struct kiovec *iov, int cnt, bool into_memory, bool one_batch,
                 iov_batch_fn fn, void *ctx)
{
    struct uh_seg segs[UH_IO_MAX_SEGS];
    uint64_t done = 0, off = 0;
    int i = 0;
    while (i < cnt) {
        uint64_t bytes;
        int n = iov_segments(iov, cnt, &i, &off, into_memory, segs, UH_IO_MAX_SEGS, &bytes);
        if (n < 0)
            return done ? (ssize_t)done : n;
        if (bytes == 0)
            break;
        int64_t r = fn(ctx, n, virt_to_phys(segs));
        if (r < 0)
            return done ? (ssize_t)done : r;
        done += r;
        if ((uint64_t)r < bytes || one_batch)
            break;
    }
    return done;
}
