/*
 * iov.c — I/O vectors as guest-physical segments, for the devices whose hypercalls
 * take segment lists (console, volumes): one call moves a whole batch of pages,
 * however the buffer is scattered in physical memory.
 */
#include "vfs.h"

int iov_segments(const struct kiovec *iov, int cnt, int *i, uint64_t *off, bool write,
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
