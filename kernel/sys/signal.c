/*
 * signal.c — signals for the one process: dispositions, the mask, pending
 * signals, and delivery with Linux's x86-64 signal frame (rt_sigframe), so that
 * handlers, SA_SIGINFO, sigaltstack, ucontext inspection and rt_sigreturn work
 * as natively. Signals arise from faults, kill/tkill/raise to ourselves, and
 * SIGPIPE; they are delivered when the kernel returns to the application.
 * A signal whose action is to terminate ends the VM with 128+signal.
 */
#include "proc.h"
#include "mm/mm.h"
#include "sys/errno.h"
#include "sys/time.h"

#define SIG_DFL 0
#define SIG_IGN 1
#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define MINSIGSTKSZ 2048

#define BIT(s) (1ULL << ((s) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))

struct ksigaction {
    uint64_t handler, flags, restorer, mask;
};

struct ksiginfo {
    int32_t si_signo, si_errno, si_code, pad;
    union {
        struct {
            int32_t pid;
            uint32_t uid;
        } kill;
        uint64_t addr;
        uint8_t raw[112];
    };
};

struct kstack {
    uint64_t ss_sp;
    int32_t ss_flags, pad;
    uint64_t ss_size;
};

struct sigcontext { /* = mcontext_t: gregs[23], fpregs pointer, reserved[8] */
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
        eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved[8];
};

struct ucontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    struct kstack uc_stack;
    struct sigcontext uc_mcontext;
    uint64_t uc_sigmask;
};

struct rt_sigframe {
    uint64_t pretcode;
    struct ucontext uc;
    struct ksiginfo info;
};

static struct ksigaction actions[NSIG];
static uint64_t blocked, pending;
static struct ksiginfo infos[NSIG];
static uint64_t fault_rip[NSIG];
static struct kstack altstack = {.ss_flags = SS_DISABLE};
static uint64_t restore_mask; /* sigsuspend: the mask to restore after the handler */
static bool have_restore;
int64_t process_pid = 1;

static bool valid_sig(int64_t sig)
{
    return sig >= 1 && sig < NSIG;
}

bool signal_pending(void)
{
    return pending & ~(blocked & ~UNBLOCKABLE);
}

void signal_send(int sig, int code, uint64_t addr)
{
    pending |= BIT(sig);
    memset(&infos[sig], 0, sizeof infos[sig]);
    infos[sig].si_signo = sig;
    infos[sig].si_code = code;
    if (code > 0 && sig != SIGPIPE)
        infos[sig].addr = addr; /* a fault */
    else
        infos[sig].kill.pid = process_pid;
    fault_rip[sig] = 0;
}

/* A fault cannot be blocked or ignored: that would re-execute the faulting
 * instruction forever. Like Linux, it then takes the default action. */
void signal_fault(int sig, int code, uint64_t addr, uint64_t rip)
{
    if ((blocked & BIT(sig)) || actions[sig].handler == SIG_IGN) {
        blocked &= ~BIT(sig);
        actions[sig].handler = SIG_DFL;
    }
    signal_send(sig, code, addr);
    fault_rip[sig] = rip ? rip : 1;
}

static bool default_ignores(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT ||
           sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static bool on_altstack(uint64_t sp)
{
    return !(altstack.ss_flags & SS_DISABLE) && sp > altstack.ss_sp &&
           sp <= altstack.ss_sp + altstack.ss_size;
}

static void die(int sig)
{
    uint64_t rip = fault_rip[sig], addr = 0;
    if (rip)
        addr = infos[sig].addr;
    kexit_signal(sig, rip == 1 ? 0 : rip, addr);
}

static void setup_frame(struct regs *r, int sig)
{
    struct ksigaction *a = &actions[sig];
    uint64_t sp = r->rsp - 128; /* the red zone */
    bool onstack = on_altstack(r->rsp);
    if ((a->flags & SA_ONSTACK) && !(altstack.ss_flags & SS_DISABLE) && !onstack)
        sp = altstack.ss_sp + altstack.ss_size;
    sp -= cpu_xsave_size;
    sp = ALIGN_DOWN(sp, 64);
    uint64_t fpstate = sp;
    sp -= sizeof(struct rt_sigframe);
    sp = ALIGN_DOWN(sp, 16) - 8; /* as if `call`ed: rsp+8 is 16-byte aligned */
    struct rt_sigframe *f = (struct rt_sigframe *)sp;
    if (user_check(f, fpstate + cpu_xsave_size - sp, true) < 0)
        kexit_signal(SIGSEGV, r->rip, sp); /* no room for the frame: Linux kills too */

    memset(f, 0, sizeof *f);
    memset((void *)fpstate, 0, MIN(cpu_xsave_size, 576));
    fpu_save((void *)fpstate);
    f->pretcode = a->restorer;
    f->info = infos[sig];
    f->uc.uc_stack.ss_sp = altstack.ss_sp;
    f->uc.uc_stack.ss_flags = (altstack.ss_flags & SS_DISABLE) ? SS_DISABLE
                              : onstack                       ? SS_ONSTACK
                                                              : 0;
    f->uc.uc_stack.ss_size = altstack.ss_size;
    struct sigcontext *c = &f->uc.uc_mcontext;
    c->r8 = r->r8, c->r9 = r->r9, c->r10 = r->r10, c->r11 = r->r11;
    c->r12 = r->r12, c->r13 = r->r13, c->r14 = r->r14, c->r15 = r->r15;
    c->rdi = r->rdi, c->rsi = r->rsi, c->rbp = r->rbp, c->rbx = r->rbx;
    c->rdx = r->rdx, c->rax = r->rax, c->rcx = r->rcx, c->rsp = r->rsp;
    c->rip = r->rip, c->eflags = r->rflags;
    c->cs = 0x33, c->ss = 0x2b; /* what a Linux program expects to see */
    c->err = r->err;
    c->trapno = r->vector < 32 ? r->vector : 0;
    uint64_t old_mask = have_restore ? restore_mask : blocked;
    have_restore = false;
    c->oldmask = old_mask;
    c->cr2 = fault_rip[sig] ? infos[sig].addr : 0;
    c->fpstate = fpstate;
    f->uc.uc_sigmask = old_mask;

    blocked |= a->mask;
    if (!(a->flags & SA_NODEFER))
        blocked |= BIT(sig);
    blocked &= ~UNBLOCKABLE;
    uint64_t handler = a->handler;
    if (a->flags & SA_RESETHAND)
        a->handler = SIG_DFL;

    r->rdi = sig;
    r->rsi = (uint64_t)&f->info;
    r->rdx = (uint64_t)&f->uc;
    r->rax = 0;
    r->rsp = sp;
    r->rip = handler;
    r->rflags &= ~0x400ULL; /* DF clear, as the ABI wants at function entry */
}

void signal_deliver(struct regs *r)
{
    while (signal_pending()) {
        uint64_t ready = pending & ~(blocked & ~UNBLOCKABLE);
        int sig = __builtin_ctzll(ready) + 1;
        pending &= ~BIT(sig);
        struct ksigaction *a = &actions[sig];
        if (sig == SIGKILL || a->handler == SIG_DFL) {
            if (default_ignores(sig))
                continue;
            die(sig);
        }
        if (a->handler == SIG_IGN)
            continue;
        setup_frame(r, sig);
        return; /* one handler at a time; the rest after rt_sigreturn */
    }
    if (have_restore) {
        blocked = restore_mask;
        have_restore = false;
    }
}

int64_t sys_rt_sigreturn(struct regs *r)
{
    struct ucontext *uc = (struct ucontext *)r->rsp; /* the handler's ret popped pretcode */
    if (user_check(uc, sizeof *uc, false) < 0)
        kexit_signal(SIGSEGV, r->rip, r->rsp);
    struct sigcontext *c = &uc->uc_mcontext;
    r->r8 = c->r8, r->r9 = c->r9, r->r10 = c->r10, r->r11 = c->r11;
    r->r12 = c->r12, r->r13 = c->r13, r->r14 = c->r14, r->r15 = c->r15;
    r->rdi = c->rdi, r->rsi = c->rsi, r->rbp = c->rbp, r->rbx = c->rbx;
    r->rdx = c->rdx, r->rcx = c->rcx, r->rsp = c->rsp, r->rip = c->rip;
    /* The application may change the arithmetic flags, DF, TF and AC; never IF. */
    uint64_t user_flags = 0x40dd5;
    r->rflags = (r->rflags & ~user_flags) | (c->eflags & user_flags);
    if (c->fpstate) {
        if (user_check((void *)c->fpstate, cpu_xsave_size, false) < 0 || (c->fpstate & 63))
            kexit_signal(SIGSEGV, r->rip, c->fpstate);
        fpu_restore((void *)c->fpstate);
    }
    blocked = uc->uc_sigmask & ~UNBLOCKABLE;
    return c->rax;
}

int64_t sys_rt_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old,
                         uint64_t size)
{
    if (size != 8 || !valid_sig(sig))
        return -EINVAL;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    if (act && user_check(act, sizeof *act, false) < 0)
        return -EFAULT;
    if (old && user_check(old, sizeof *old, true) < 0)
        return -EFAULT;
    struct ksigaction prev = actions[sig];
    if (act) {
        actions[sig] = *act;
        actions[sig].mask &= ~UNBLOCKABLE;
        if (act->handler == SIG_IGN || (act->handler == SIG_DFL && default_ignores(sig)))
            pending &= ~BIT(sig); /* POSIX: discard pending instances */
    }
    if (old)
        *old = prev;
    return 0;
}

int64_t sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old, uint64_t size)
{
    if (size != 8)
        return -EINVAL;
    if (set && user_check(set, 8, false) < 0)
        return -EFAULT;
    if (old && user_check(old, 8, true) < 0)
        return -EFAULT;
    uint64_t prev = blocked;
    if (set) {
        switch (how) {
        case SIG_BLOCK:
            blocked |= *set;
            break;
        case SIG_UNBLOCK:
            blocked &= ~*set;
            break;
        case SIG_SETMASK:
            blocked = *set;
            break;
        default:
            return -EINVAL;
        }
        blocked &= ~UNBLOCKABLE;
    }
    if (old)
        *old = prev;
    return 0;
}

uint64_t sig_swap_mask(const uint64_t *mask, uint64_t *saved)
{
    *saved = blocked;
    blocked = *mask & ~UNBLOCKABLE;
    return *saved;
}

void sig_restore_mask(uint64_t saved)
{
    blocked = saved;
}

int64_t sys_rt_sigpending(uint64_t *set, uint64_t size)
{
    if (size > 8)
        return -EINVAL;
    if (user_check(set, size, true) < 0)
        return -EFAULT;
    uint64_t p = pending & blocked;
    memcpy(set, &p, size);
    return 0;
}

int64_t sys_rt_sigsuspend(const uint64_t *mask, uint64_t size)
{
    if (size != 8)
        return -EINVAL;
    if (user_check(mask, 8, false) < 0)
        return -EFAULT;
    restore_mask = blocked;
    have_restore = true;
    blocked = *mask & ~UNBLOCKABLE;
    while (!signal_pending())
        kwait(DEADLINE_NEVER, 0);
    /* The handler runs with the temporary mask; its sigreturn restores the old one. */
    return -EINTR;
}

int64_t sys_pause(void)
{
    while (!signal_pending())
        kwait(DEADLINE_NEVER, 0);
    return -EINTR;
}

static int64_t send_to_self(int64_t sig, int code)
{
    if (sig == 0)
        return 0;
    if (!valid_sig(sig))
        return -EINVAL;
    signal_send(sig, code, 0);
    return 0;
}

int64_t sys_kill(int pid, int sig)
{
    if (sig < 0 || sig >= NSIG)
        return -EINVAL;
    if (pid != process_pid && pid != 0 && pid != -1 && pid != -process_pid)
        return -ESRCH;
    return send_to_self(sig, SI_USER);
}

int64_t sys_tkill(int tid, int sig)
{
    if (tid <= 0 || sig < 0 || sig >= NSIG)
        return -EINVAL;
    if (tid != process_pid)
        return -ESRCH;
    return send_to_self(sig, SI_TKILL);
}

int64_t sys_tgkill(int tgid, int tid, int sig)
{
    if (tgid <= 0)
        return -EINVAL;
    if (tgid != process_pid)
        return -ESRCH;
    return sys_tkill(tid, sig);
}

int64_t sys_sigaltstack(const struct kstack *ss, struct kstack *old)
{
    if (ss && user_check(ss, sizeof *ss, false) < 0)
        return -EFAULT;
    if (old && user_check(old, sizeof *old, true) < 0)
        return -EFAULT;
    struct kstack prev = altstack;
    uint64_t sp;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(sp)); /* the app's rsp at syscall entry */
    bool onstack = on_altstack(sp);
    if (ss) {
        if (onstack)
            return -EPERM;
        if (ss->ss_flags & ~(SS_DISABLE | (int32_t)0x80000000 /* SS_AUTODISARM */))
            return -EINVAL;
        if (ss->ss_flags & SS_DISABLE) {
            altstack.ss_flags = SS_DISABLE;
            altstack.ss_sp = altstack.ss_size = 0;
        } else {
            if (ss->ss_size < MINSIGSTKSZ)
                return -ENOMEM;
            altstack.ss_sp = ss->ss_sp;
            altstack.ss_size = ss->ss_size;
            altstack.ss_flags = 0;
        }
    }
    if (old) {
        *old = prev;
        if (onstack)
            old->ss_flags = SS_ONSTACK;
    }
    return 0;
}
