/*
 * trap.c — CPU exceptions. A page fault in the application's half is usually
 * demand paging (mm/vm.c); anything else the application did wrong becomes the
 * signal Linux would send (SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP). A fault in
 * the kernel's own code is a bug: panic with the registers.
 */
#include "cpu.h"
#include "klib.h"
#include "mm/mm.h"
#include "sys/errno.h"
#include "sys/proc.h"

static const char *const names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
    "invalid opcode", "no FPU", "double fault", "coprocessor overrun", "invalid TSS",
    "segment not present", "stack fault", "general protection", "page fault", "reserved",
    "x87 error", "alignment check", "machine check", "SIMD error",
};

__attribute__((noreturn)) void oom_kill(void)
{
    static char msg[96];
    snprintf(msg, sizeof msg, "out of memory (%lu MiB of guest RAM in use; see --mem)",
             (unsigned long)(page_total_count() * PAGE_SIZE >> 20));
    kexit_signal_msg(SIGKILL, 0, 0, msg);
}

static void kernel_fault(struct regs *r, uint64_t cr2)
{
    panic("%s in the kernel at rip %p (address %p, error %lu)",
          r->vector < 32 && names[r->vector] ? names[r->vector] : "exception", (void *)r->rip,
          (void *)cr2, (unsigned long)r->err);
}

void trap_handler(struct regs *r, int from_app)
{
    uint64_t cr2 = r->vector == 14 ? read_cr2() : 0;
    if (r->vector == 14 && cr2 < USER_TOP) {
        int e = vm_fault_at(cr2, r->err & 2, r->err & 16);
        if (e == 0)
            return;
        if (e == -ENOMEM)
            oom_kill();
        if (!from_app) {
            /* The kernel touched a bad application address after checking it: a bug. */
            kernel_fault(r, cr2);
        }
        signal_fault(SIGSEGV, e == -EACCES ? SEGV_ACCERR : SEGV_MAPERR, cr2, r->rip);
        signal_deliver(r);
        return;
    }
    if (!from_app)
        kernel_fault(r, cr2);
    switch (r->vector) {
    case 0:
        signal_fault(SIGFPE, FPE_INTDIV, r->rip, r->rip);
        break;
    case 16:
    case 19:
        signal_fault(SIGFPE, FPE_FLTDIV, r->rip, r->rip);
        break;
    case 6:
        signal_fault(SIGILL, ILL_ILLOPN, r->rip, r->rip);
        break;
    case 1:
    case 3:
        signal_fault(SIGTRAP, SI_KERNEL, 0, r->rip);
        break;
    case 12:
    case 17:
        signal_fault(SIGBUS, BUS_ADRALN, 0, r->rip);
        break;
    case 8:
        /* Only a broken stack gets here; no handler could run. */
        kexit_signal(SIGSEGV, r->rip, 0);
    case 14: /* a kernel-half address from the application */
        signal_fault(SIGSEGV, SEGV_MAPERR, cr2, r->rip);
        break;
    default: /* #GP and friends */
        signal_fault(SIGSEGV, SI_KERNEL, 0, r->rip);
        break;
    }
    signal_deliver(r);
}
