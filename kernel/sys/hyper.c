/*
 * hyper.c — the kernel's ways out: exit, death by signal, panic, and --verbose
 * log lines, each a single hypercall.
 */
#include "klib.h"
#include "sys/proc.h"
#include "arch/cpu.h"
#include "arch/hcall.h"

bool kverbose;
bool knotify;

void kexit(int status)
{
    struct uh_exit e = {.kind = UH_EXIT_STATUS, .status = status & 0xff};
    hcall(UH_EXIT, &e);
    for (;;)
        __asm__ volatile("hlt");
}

void kexit_signal_msg(int sig, uint64_t rip, uint64_t addr, const char *msg)
{
    struct uh_exit e = {.kind = UH_EXIT_SIGNAL, .status = sig, .rip = rip, .addr = addr};
    if (msg) {
        e.msg = virt_to_phys(msg);
        e.msg_len = strlen(msg);
    }
    hcall(UH_EXIT, &e);
    for (;;)
        __asm__ volatile("hlt");
}

void kexit_signal(int sig, uint64_t rip, uint64_t addr)
{
    struct uh_exit e = {.kind = UH_EXIT_SIGNAL, .status = sig, .rip = rip, .addr = addr};
    hcall(UH_EXIT, &e);
    for (;;)
        __asm__ volatile("hlt");
}

void panic(const char *fmt, ...)
{
    static char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct uh_exit e = {.kind = UH_EXIT_PANIC,
                        .status = 125,
                        .msg = virt_to_phys(msg),
                        .msg_len = MIN((size_t)n, sizeof msg - 1)};
    hcall(UH_EXIT, &e);
    for (;;)
        __asm__ volatile("hlt");
}

void klog(const char *fmt, ...)
{
    if (!kverbose)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct uh_buf b = {.buf = virt_to_phys(msg), .len = MIN((size_t)n, sizeof msg - 1)};
    hcall(UH_LOG, &b);
}

void kmark(int id)
{
    if (!kverbose && !(knotify && id == UH_MARK_APP_ENTRY))
        return;
    struct uh_mark m = {.id = id, .guest_tsc = rdtsc()};
    hcall(UH_MARK, &m);
}
