/*
 * guest.c — a misbehaving guest for the monitor's robustness tests.
 *
 * The application runs in ring 0 inside the VM, so it can do everything a buggy or
 * hostile kernel could: issue hypercalls with bad pointers and lengths, use ports
 * nobody serves, write outside guest memory, wreck its own IDT, halt, spin. Each
 * mode does one such thing; the test checks that uvmm ends the guest cleanly with
 * the documented status and one diagnostic line, and never crashes itself.
 *
 * usage: guest MODE
 */
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
