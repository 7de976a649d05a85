/*
 * hypercall.c — the module registry: which hypercall number goes to which module,
 * and which host fds UH_POLL waits on.
 *
 * A hypercall is a 4-byte OUT to UH_PORT_BASE + nr carrying the guest-physical
 * address of its argument struct. Anything else (other ports, sizes, directions,
 * numbers nobody registered) is a bad hypercall and ends the guest.
 */
#include "uvmm.h"

#include <sys/uio.h>

static hypercall_fn calls[UH_NR_CALLS];

void hypercall_register(unsigned nr, hypercall_fn fn)
{
    if (nr >= UH_NR_CALLS || calls[nr])
        vm_fatal("internal error: hypercall %u registered twice", nr);
    calls[nr] = fn;
}

void hypercall_dispatch(struct vm *vm, unsigned port, uint32_t value)
{
    unsigned nr = port - UH_PORT_BASE;
    if (port < UH_PORT_BASE || nr >= UH_NR_CALLS || !calls[nr])
        vm_fatal("bad hypercall: unknown port 0x%x", port);
    calls[nr](vm, gpa_make(value));
}

void guest_text(struct vm *vm, uh_gpa_t gpa, uint64_t len, char *buf, size_t max)
{
    if (len > max - 1)
        len = max - 1;
    const char *src = gpa_ptr_ro(vm, gpa, len);
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = src[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (i > 0 && buf[i - 1] == '?' && (src[i - 1] == '\n'))
        i--;
    buf[i] = 0;
}

int guest_iovec(struct vm *vm, const struct uh_io *io, struct iovec *iov, uint64_t *total,
                bool readonly)
{
    if (io->nsegs > UH_IO_MAX_SEGS)
        vm_fatal("bad hypercall: %u segments (at most %d)", io->nsegs, UH_IO_MAX_SEGS);
    const struct uh_seg *segs = gpa_ptr(vm, io->segs, io->nsegs * sizeof *segs);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < io->nsegs; i++) {
        struct uh_seg s = segs[i];
        iov[i].iov_base = (void *)gpa_ptr_checked(vm, s.gpa.v, s.len, readonly, "segment");
        iov[i].iov_len = s.len;
        sum += s.len; /* cannot wrap: each segment lies inside guest memory */
    }
    *total = sum;
    return io->nsegs;
}
