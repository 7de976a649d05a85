/*
 * trace.c — the boot-time breakdown printed by `uvmm --verbose`.
 *
 * The monitor stamps CLOCK_MONOTONIC at each boot stage; the kernel reports its own
 * checkpoints (first C code, jump to the program) through UH_MARK, stamped here on
 * arrival. Recording costs a clock read; printing happens only with --verbose.
 */
#include "uvmm.h"

#include <stdio.h>
#include <time.h>

#define MAX_MARKS 24

static struct {
    const char *what;
    uint64_t ns;
} marks[MAX_MARKS];
static int nmarks;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void trace_mark(const char *what)
{
    if (nmarks < MAX_MARKS) {
        marks[nmarks].what = what;
        marks[nmarks].ns = now_ns();
        nmarks++;
    }
}

void trace_guest_mark(int id, uint64_t guest_tsc)
{
    (void)guest_tsc;
    static const char *names[UH_MARK_NR] = {
        [UH_MARK_KERNEL_ENTRY] = "guest: kernel entry",
        [UH_MARK_APP_ENTRY] = "guest: kernel ready, jump to program",
    };
    trace_mark(id >= 0 && id < UH_MARK_NR ? names[id] : "guest: unknown mark");
}

void trace_print(const struct vm *vm)
{
    if (!uvmm_verbose || nmarks == 0)
        return;
    eprintf("uvmm: boot-time breakdown (ms since uvmm started; step):\n");
    for (int i = 1; i < nmarks; i++)
        eprintf("uvmm:   %8.3f  %+8.3f  %s\n", (marks[i].ns - marks[0].ns) / 1e6,
                (marks[i].ns - marks[i - 1].ns) / 1e6, marks[i].what);
    eprintf("uvmm: guest memory %llu MiB, image %llu KiB, TSC %llu kHz\n",
            (unsigned long long)(vm->mem_size >> 20),
            (unsigned long long)(vm->image_size >> 10), (unsigned long long)vm->tsc_khz);
}
