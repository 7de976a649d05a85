/*
 * guest.c — a misbehaving guest for the monitor's robustness tests.
 *
 * The application runs in ring 0 inside the VM, so it can do everything a buggy or
 * hostile kernel could: issue hypercalls with bad pointers and lengths, use ports
 * nobody serves, write outside guest memory, wreck its own IDT, halt, spin. Each
 * mode does one such thing; the test checks that uvmm ends the guest cleanly with
 * the documented status and one diagnostic line, and never crashes itself.
 *
 * The vol-* modes do the same to the volume hypercalls; they expect a volume at
 * volume index 0 prepared by run.sh (a file "file", a directory "sub", a symlink
 * "out" to ../secret, a symlink "outdir" to .., and a FIFO "fifo").
 *
 * usage: guest MODE
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uigniter/hypercall.h"

#define PHYS(pa) ((volatile void *)(UH_PHYSMAP_BASE + (uint64_t)(pa)))
#define SCRATCH 0xf000 /* an unused page in the boot area, below 1 MiB */

static void out32(unsigned port, uint32_t value)
{
    __asm__ volatile("outl %0, %w1" : : "a"(value), "d"((uint16_t)port) : "memory");
}

static void hypercall(unsigned nr, uint64_t arg_gpa)
{
    out32(UH_PORT_BASE + nr, (uint32_t)arg_gpa);
}

/* A UH_WRITE to stdout with one segment (gpa, len) placed at SCRATCH. */
static void write_segment(uint64_t gpa, uint64_t len, uint32_t nsegs)
{
    volatile struct uh_seg *seg = PHYS(SCRATCH + 0x100);
    seg->gpa = gpa;
    seg->len = len;
    volatile struct uh_io *io = PHYS(SCRATCH);
    io->fd = 1;
    io->nsegs = nsegs;
    io->segs = SCRATCH + 0x100;
    io->ret = 0;
    hypercall(UH_WRITE, SCRATCH);
}

static uint64_t mem_size(void)
{
    volatile struct uh_bootinfo *bi = PHYS(UH_BOOTINFO_GPA);
    return bi->mem_size;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}


/* ---- volume hypercalls (run with --volume DIR:/vol, see run.sh) ---------------- */

#define VSTR (SCRATCH + 0x400) /* path strings */
#define VBUF (SCRATCH + 0x800) /* data */

/* A volume request for path (copied to VSTR) on volume 0, at SCRATCH. */
static volatile struct uh_vol_req *vol_req(const char *path)
{
    volatile struct uh_vol_req *r = PHYS(SCRATCH);
    memset((void *)r, 0, sizeof *r);
    r->handle = UH_VOL_NOHANDLE;
    if (path) {
        size_t n = strlen(path);
        memcpy((void *)PHYS(VSTR), path, n);
        r->path = VSTR;
        r->path_len = n;
    }
    return r;
}

static int vol_failures;

/* Issues call nr with the request at SCRATCH and checks its ret. */
static int64_t vol_expect(const char *what, unsigned nr, int64_t want)
{
    volatile struct uh_vol_req *r = PHYS(SCRATCH);
    hypercall(nr, SCRATCH);
    if (r->ret != want) {
        printf("%s: ret %lld, want %lld\n", what, (long long)r->ret, (long long)want);
        vol_failures++;
    }
    return r->ret;
}

/* A UH_VOL_READ or WRITE of one segment (gpa, len) on handle h at offset off. */
static int64_t vol_io(unsigned nr, uint32_t h, uint64_t gpa, uint64_t len, uint64_t off,
                      uint32_t nsegs)
{
    volatile struct uh_seg *seg = PHYS(SCRATCH + 0x100);
    seg->gpa = gpa;
    seg->len = len;
    volatile struct uh_vol_io *io = PHYS(SCRATCH);
    io->handle = h;
    io->nsegs = nsegs;
    io->segs = SCRATCH + 0x100;
    io->offset = off;
    io->ret = 0;
    hypercall(nr, SCRATCH);
    return io->ret;
}

static int64_t vol_readdir(uint32_t h, uint64_t gpa, uint32_t len)
{
    volatile struct uh_vol_dir *d = PHYS(SCRATCH);
    d->handle = h;
    d->len = len;
    d->buf = gpa;
    d->cookie = 0;
    d->ret = 0;
    hypercall(UH_VOL_READDIR, SCRATCH);
    return d->ret;
}

/* Bad volumes, handles and paths: each an errno, never a way out of the volume. */
static int vol_errnos(void)
{
    volatile struct uh_vol_req *r = vol_req("file");
    r->vol = 99;
    vol_expect("lookup on volume 99", UH_VOL_LOOKUP, -ENODEV);
    vol_req("file")->vol = UH_VOL_MAX;
    vol_expect("open on volume UH_VOL_MAX", UH_VOL_OPEN, -ENODEV);
    vol_req(NULL)->handle = 12345;
    vol_expect("close of handle 12345", UH_VOL_CLOSE, -EBADF);
    vol_req(NULL);
    vol_expect("close of no handle", UH_VOL_CLOSE, -EBADF);
    vol_req(NULL)->handle = 7;
    vol_expect("fstat of a free handle", UH_VOL_FSTAT, -EBADF);
    vol_req(NULL)->handle = 7;
    vol_expect("fsync of a free handle", UH_VOL_FSYNC, -EBADF);
    vol_req(NULL)->handle = 4095;
    vol_expect("truncate of a free handle", UH_VOL_TRUNCATE, -EBADF);
    if (vol_io(UH_VOL_READ, 4095, VBUF, 16, 0, 1) != -EBADF ||
        vol_io(UH_VOL_WRITE, 0xffffffffu, VBUF, 16, 0, 1) != -EBADF ||
        vol_readdir(99, VBUF, 512) != -EBADF) {
        printf("I/O on bad handles did not give EBADF\n");
        vol_failures++;
    }

    vol_req("../secret");
    vol_expect("lookup ../secret", UH_VOL_LOOKUP, -EXDEV);
    vol_req("/etc/passwd");
    vol_expect("lookup /etc/passwd", UH_VOL_LOOKUP, -EXDEV);
    vol_req("sub/../../secret");
    vol_expect("lookup sub/../../secret", UH_VOL_LOOKUP, -EXDEV);
    vol_req("outdir/secret");
    vol_expect("lookup outdir/secret", UH_VOL_LOOKUP, -EXDEV);
    vol_req("out");
    vol_expect("lookup out (a symlink itself)", UH_VOL_LOOKUP, 0);
    if ((r->attr.mode & 0170000) != 0120000) {
        printf("lookup out: mode %o, want a symlink\n", r->attr.mode);
        vol_failures++;
    }
    vol_req("out")->flags = UH_VOL_O_READ;
    vol_expect("open out", UH_VOL_OPEN, -ELOOP);
    vol_req("outdir")->flags = UH_VOL_O_READ | UH_VOL_O_DIRECTORY;
    vol_expect("open outdir", UH_VOL_OPEN, -ELOOP);
    vol_req("fifo")->flags = UH_VOL_O_READ;
    vol_expect("open fifo", UH_VOL_OPEN, -ENXIO);
    vol_req("../secret")->flags = UH_VOL_O_WRITE;
    vol_expect("open ../secret for writing", UH_VOL_OPEN, -EXDEV);
    vol_req("../stolen")->mode = 0644;
    vol_expect("create ../stolen", UH_VOL_CREATE, -EXDEV);
    vol_req("../newdir")->mode = 0755;
    vol_expect("mkdir ../newdir", UH_VOL_MKDIR, -EXDEV);
    vol_req("../secret");
    vol_expect("unlink ../secret", UH_VOL_UNLINK, -EXDEV);
    vol_req("..")->flags = UH_VOL_RMDIR;
    vol_expect("rmdir ..", UH_VOL_UNLINK, -EINVAL);
    vol_req("../secret")->arg = 0;
    vol_expect("truncate ../secret", UH_VOL_TRUNCATE, -EXDEV);
    vol_req("out");
    vol_expect("truncate out", UH_VOL_TRUNCATE, -ELOOP);
    r = vol_req("../secret");
    r->flags = UH_VOL_SET_MODE;
    r->mode = 0777;
    vol_expect("chmod ../secret", UH_VOL_SETATTR, -EXDEV);
    r = vol_req("file");
    memcpy((void *)PHYS(VSTR + 0x100), "../stolen", 9);
    r->path2 = VSTR + 0x100;
    r->path2_len = 9;
    vol_expect("rename file ../stolen", UH_VOL_RENAME, -EXDEV);
    r = vol_req("evil");
    memcpy((void *)PHYS(VSTR + 0x100), "/etc/passwd", 11);
    r->path2 = VSTR + 0x100;
    r->path2_len = 11;
    vol_expect("symlink evil -> /etc/passwd", UH_VOL_SYMLINK, -EPERM);

    /* A good handle used wrongly. */
    vol_req("file")->flags = UH_VOL_O_READ;
    vol_expect("open file", UH_VOL_OPEN, 0);
    uint32_t h = r->handle;
    if (vol_io(UH_VOL_READ, h, VBUF, 16, 1ULL << 63, 1) != -EINVAL ||
        vol_io(UH_VOL_READ, h, VBUF, 16, UINT64_MAX - 4, 1) != -EINVAL ||
        vol_io(UH_VOL_WRITE, h, VBUF, 4, 0, 1) != -EBADF || vol_readdir(h, VBUF, 512) != -ENOTDIR ||
        vol_io(UH_VOL_READ, h, VBUF, 4, 0, 1) != 4) {
        printf("misuse of a read-only file handle was not refused\n");
        vol_failures++;
    }
    vol_req(NULL)->handle = h;
    vol_expect("truncate of a read-only handle", UH_VOL_TRUNCATE, -EINVAL);
    vol_req(NULL)->handle = h;
    vol_expect("close", UH_VOL_CLOSE, 0);
    vol_req(NULL)->handle = h;
    vol_expect("close again", UH_VOL_CLOSE, -EBADF);
    if (vol_failures)
        return 1;
    puts("all refused");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: guest MODE\n");
        return 2;
    }
    const char *m = argv[1];
    if (!strcmp(m, "ok")) {
        write_segment(SCRATCH + 0x200, 0, 1);
        puts("still here");
        return 0;
    }
    if (!strcmp(m, "ptr-beyond-ram"))
        write_segment(mem_size() + 4096, 16, 1);
    else if (!strcmp(m, "ptr-huge"))
        write_segment(0xfffffffffffff000ULL, 16, 1);
    else if (!strcmp(m, "len-wraps"))
        write_segment(0x1000, UINT64_MAX - 0x800, 1);
    else if (!strcmp(m, "len-past-end"))
        write_segment(mem_size() - 8, 64, 1);
    else if (!strcmp(m, "too-many-segments"))
        write_segment(SCRATCH + 0x200, 1, 100000);
    else if (!strcmp(m, "struct-past-end"))
        hypercall(UH_TIME, mem_size() - 4);
    else if (!strcmp(m, "struct-beyond-4g"))
        hypercall(UH_TIME, 0xfffffff0u);
    else if (!strcmp(m, "unknown-port"))
        out32(UH_PORT_BASE + UH_NR_CALLS - 1, SCRATCH);
    else if (!strcmp(m, "foreign-port"))
        out32(0x3f8, 0);
    else if (!strcmp(m, "port-read")) {
        uint32_t v;
        __asm__ volatile("inl %w1, %0" : "=a"(v) : "d"((uint16_t)(UH_PORT_BASE + UH_TIME)));
        (void)v;
    } else if (!strcmp(m, "port-byte")) {
        __asm__ volatile("outb %b0, %w1" : : "a"(0), "d"((uint16_t)(UH_PORT_BASE + UH_TIME)));
    } else if (!strcmp(m, "exit-kind")) {
        volatile struct uh_exit *e = PHYS(SCRATCH);
        e->kind = 77;
        hypercall(UH_EXIT, SCRATCH);
    } else if (!strcmp(m, "exit-signal")) {
        volatile struct uh_exit *e = PHYS(SCRATCH);
        e->kind = UH_EXIT_SIGNAL;
        e->status = 1000;
        hypercall(UH_EXIT, SCRATCH);
    } else if (!strcmp(m, "panic-message")) {
        /* A kernel panic whose message holds terminal escapes and no end. */
        volatile char *msg = PHYS(SCRATCH + 0x100);
        for (int i = 0; i < 3000; i++)
            msg[i] = (char)(i % 7 == 0 ? 0x1b : 'A' + i % 26);
        volatile struct uh_exit *e = PHYS(SCRATCH);
        e->kind = UH_EXIT_PANIC;
        e->msg = SCRATCH + 0x100;
        e->msg_len = 3000;
        hypercall(UH_EXIT, SCRATCH);
    } else if (!strcmp(m, "vol-errnos")) {
        return vol_errnos();
    } else if (!strcmp(m, "vol-path-beyond-ram")) {
        vol_req("file")->path = mem_size() + 4096;
        hypercall(UH_VOL_LOOKUP, SCRATCH);
    } else if (!strcmp(m, "vol-path-past-end")) {
        volatile struct uh_vol_req *r = vol_req("file");
        r->path = mem_size() - 2;
        r->path_len = 100;
        hypercall(UH_VOL_OPEN, SCRATCH);
    } else if (!strcmp(m, "vol-path-huge")) {
        vol_req("file")->path_len = 1 << 20;
        hypercall(UH_VOL_LOOKUP, SCRATCH);
    } else if (!strcmp(m, "vol-path-empty")) {
        vol_req("file")->path_len = 0;
        hypercall(UH_VOL_MKDIR, SCRATCH);
    } else if (!strcmp(m, "vol-path-nul")) {
        vol_req("file");
        ((volatile char *)PHYS(VSTR))[2] = 0;
        hypercall(UH_VOL_UNLINK, SCRATCH);
    } else if (!strcmp(m, "vol-path2-bad")) {
        volatile struct uh_vol_req *r = vol_req("file");
        r->path2 = 0xfffffffffff00000ULL;
        r->path2_len = 8;
        hypercall(UH_VOL_RENAME, SCRATCH);
    } else if (!strcmp(m, "vol-readlink-bad-buf")) {
        volatile struct uh_vol_req *r = vol_req("out");
        r->path2 = mem_size() - 16;
        r->path2_len = 4096;
        hypercall(UH_VOL_READLINK, SCRATCH);
    } else if (!strcmp(m, "vol-io-bad-segment")) {
        vol_io(UH_VOL_READ, 12345, mem_size() + 8192, 4096, 0, 1);
    } else if (!strcmp(m, "vol-io-too-many-segments")) {
        vol_io(UH_VOL_WRITE, 0, VBUF, 1, 0, UH_IO_MAX_SEGS + 1);
    } else if (!strcmp(m, "vol-io-into-image")) {
        volatile struct uh_bootinfo *bi = PHYS(UH_BOOTINFO_GPA);
        vol_req("file")->flags = UH_VOL_O_READ;
        hypercall(UH_VOL_OPEN, SCRATCH);
        volatile struct uh_vol_req *r = PHYS(SCRATCH);
        vol_io(UH_VOL_READ, r->handle, bi->image, 4, 0, 1);
    } else if (!strcmp(m, "vol-dir-huge")) {
        vol_readdir(0, VBUF, 1 << 30);
    } else if (!strcmp(m, "vol-dir-bad-buf")) {
        vol_readdir(0, mem_size() - 100, 4096);
    } else if (!strcmp(m, "vol-struct-past-end")) {
        hypercall(UH_VOL_LOOKUP, mem_size() - 16);
    } else if (!strcmp(m, "write-past-ram")) {
        /* Inside the last 2 MiB page the monitor maps, but beyond RAM. */
        uint64_t top = mem_size();
        *(volatile uint64_t *)PHYS(top + ((2 << 20) - top % (2 << 20)) / 2) = 1;
    } else if (!strcmp(m, "write-image")) {
        volatile struct uh_bootinfo *bi = PHYS(UH_BOOTINFO_GPA);
        *(volatile uint64_t *)PHYS(bi->image) = 1;
    } else if (!strcmp(m, "triple-fault")) {
        struct __attribute__((packed)) {
            uint16_t limit;
            uint64_t base;
        } idt = {0, 0};
        __asm__ volatile("lidt %0\n ud2" : : "m"(idt));
    } else if (!strcmp(m, "halt")) {
        __asm__ volatile("cli; hlt");
    } else if (!strcmp(m, "spin")) {
        puts("spinning");
        fflush(stdout);
        for (;;)
            __asm__ volatile("" ::: "memory");
    } else if (!strcmp(m, "random")) {
        /* Many hypercalls with random numbers and arguments: each either works or
         * ends the guest cleanly; the monitor must not crash or hang. */
        uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : 1;
        for (int i = 0; i < 3000; i++) {
            unsigned nr = xorshift(&seed) % (UH_NR_CALLS + 4);
            if (nr == UH_POLL || nr == UH_EXIT || nr == UH_READ)
                continue; /* would block, or end the run early by design */
            volatile uint64_t *words = PHYS(SCRATCH);
            for (int w = 0; w < 8; w++)
                words[w] = (xorshift(&seed) & 1) ? xorshift(&seed) : xorshift(&seed) % mem_size();
            if (nr == UH_WRITE || nr == UH_RANDOM || nr == UH_SEEK) {
                words[0] = (words[0] & 0xffffffff00000000ULL) | 2; /* fd 2: stderr */
            }
            hypercall(nr, xorshift(&seed) % 3 ? SCRATCH : xorshift(&seed));
        }
        puts("survived");
        return 0;
    } else if (!strcmp(m, "oom")) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p)
                break;
            memset(p, 1, 1 << 20);
        }
        puts("malloc failed cleanly");
        return 3;
    } else if (!strcmp(m, "oom-touch")) {
        /* Map lazily in pieces that each fit, then touch more than exists: the
         * OOM killer's case (like Linux's overcommit, each mmap alone is fine). */
        size_t piece = mem_size() / 2;
        volatile char *p[4];
        for (int i = 0; i < 4; i++) {
            p[i] = mmap(0, piece, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p[i] == MAP_FAILED)
                return 5;
        }
        for (int i = 0; i < 4; i++)
            for (size_t off = 0; off < piece; off += 4096)
                p[i][off] = 1;
        return 4;
    } else {
        fprintf(stderr, "guest: unknown mode %s\n", m);
        return 2;
    }
    puts("the monitor let that pass");
    return 1;
}
