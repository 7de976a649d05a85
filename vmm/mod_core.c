/*
 * mod_core.c — the hypercalls every guest needs: exit, poll (the only place the
 * vCPU sleeps), host clocks, entropy, and diagnostics.
 *
 * UH_POLL is how an idle guest costs no CPU: the kernel computes its next deadline
 * and the monitor sleeps in ppoll() on the devices' host fds until one is ready or
 * the deadline passes. Devices add their fds with poll_register().
 *
 * SIGTERM and SIGINT to uvmm are the guest's: once the program runs they are
 * blocked, except inside that ppoll() and inside KVM_RUN, and the next UH_POLL
 * that asks for UH_READY_SIGNAL hands the signal to the guest kernel, which
 * raises it in the program as natively (a handler runs; the default action ends
 * it with 128 + N). So `uigniterd` stops a VM gracefully: the program cleans up
 * and exits, or the daemon's SIGKILL follows after its timeout. A second such
 * signal before the guest took the first ends uvmm at once, and so does the
 * first when the guest has not waited within TAKE_GRACE_S (a busy loop).
 */
#include "uvmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_POLL_FDS 16

static struct {
    int fd;
    uint32_t bit;
} poll_fds[MAX_POLL_FDS];
static int npoll_fds;

/* The host signal waiting to be handed to the guest (0: none), and the last
 * one handed over (its default action's exit is then no surprise to report). */
static volatile sig_atomic_t host_signal;
static int handed_signal;
static sigset_t run_mask; /* the thread's mask with SIGTERM and SIGINT open */

/* How long a guest that does not wait (a busy loop) may leave the signal
 * untaken before uvmm ends with it anyway, as a native process would. */
#define TAKE_GRACE_S 1

static void on_host_signal(int sig)
{
    if (host_signal)
        _exit(128 + sig); /* asked twice, and the guest has not taken the first */
    host_signal = sig;
    alarm(TAKE_GRACE_S);
}

static void on_take_timeout(int sig)
{
    (void)sig;
    if (host_signal)
        _exit(128 + host_signal); /* the guest did not wait in time to take it */
}

/* KVM_RUN ends with EINTR for a signal its mask lets in, but the signal stays
 * pending (blocked again outside KVM_RUN) until something opens the mask: a
 * guest that never waits would never take it, nor see the second ask. */
void host_signals_take(void)
{
    int saved = errno;
    ppoll(NULL, 0, &(struct timespec){0, 0}, &run_mask);
    errno = saved;
}

void poll_register(int fd, uint32_t ready_bit)
{
    if (npoll_fds == MAX_POLL_FDS)
        vm_fatal("internal error: too many poll fds");
    poll_fds[npoll_fds].fd = fd;
    poll_fds[npoll_fds].bit = ready_bit;
    npoll_fds++;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const char *signal_name(int sig)
{
    static const char *names[] = {
        [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",   [SIGQUIT] = "SIGQUIT",
        [SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
        [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",   [SIGKILL] = "SIGKILL",
        [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
        [SIGSYS] = "SIGSYS",   [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
    };
    if (sig > 0 && sig < (int)(sizeof names / sizeof names[0]) && names[sig])
        return names[sig];
    return "signal";
}

static void hc_exit(struct vm *vm, uh_gpa_t arg)
{
    struct uh_exit e = *(struct uh_exit *)gpa_ptr(vm, arg, sizeof e);
    char msg[256];
    trace_mark("exit");
    trace_print(vm);
    switch (e.kind) {
    case UH_EXIT_STATUS:
        _exit(e.status & 0xff);
    case UH_EXIT_SIGNAL:
        if (e.status <= 0 || e.status >= 65)
            vm_fatal("bad hypercall: exit by signal %d", e.status);
        if (e.status == handed_signal && !e.rip && !e.addr)
            _exit(128 + e.status); /* what we were asked to do: no diagnostic */
        if (e.msg_len) {
            guest_text(vm, e.msg, e.msg_len, msg, sizeof msg);
            eprintf("uvmm: program killed by %s (signal %d): %s\n", signal_name(e.status),
                    e.status, msg);
        } else if (e.rip || e.addr)
            eprintf("uvmm: program killed by %s (signal %d) at rip 0x%llx, address 0x%llx\n",
                    signal_name(e.status), e.status, (unsigned long long)e.rip,
                    (unsigned long long)e.addr);
        else
            eprintf("uvmm: program killed by %s (signal %d)\n", signal_name(e.status),
                    e.status);
        _exit(128 + e.status);
    case UH_EXIT_PANIC:
        guest_text(vm, e.msg, e.msg_len, msg, sizeof msg);
        vm_fatal("kernel: %s", msg);
    default:
        vm_fatal("bad hypercall: exit kind %u", e.kind);
    }
}

static void hc_poll(struct vm *vm, uh_gpa_t arg)
{
    struct uh_poll *p = gpa_ptr(vm, arg, sizeof *p);
    if (p->net_tx.v)
        net_send_batch(vm, p->net_tx);
    struct pollfd fds[MAX_POLL_FDS];
    uint32_t bits[MAX_POLL_FDS];
    int n = 0;
    for (int i = 0; i < npoll_fds; i++) {
        if (!(p->want & poll_fds[i].bit))
            continue;
        fds[n].fd = poll_fds[i].fd;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        bits[n++] = poll_fds[i].bit;
    }
    struct timespec ts, *tsp = NULL;
    if (p->timeout_ns >= 0) {
        ts.tv_sec = p->timeout_ns / 1000000000;
        ts.tv_nsec = p->timeout_ns % 1000000000;
        tsp = &ts;
    }
    bool take_signal = p->want & UH_READY_SIGNAL;
    if (take_signal && host_signal)
        tsp = &(struct timespec){0, 0}; /* one is waiting already: do not sleep */
    int r = ppoll(fds, n, tsp, take_signal ? &run_mask : NULL);
    if (r < 0 && errno != EINTR)
        vm_fatal("ppoll: %s", strerror(errno));
    uint32_t ready = 0;
    for (int i = 0; r > 0 && i < n; i++) {
        if (fds[i].revents)
            ready |= bits[i];
    }
    p->signo = 0;
    if (take_signal && host_signal) {
        ready |= UH_READY_SIGNAL;
        p->signo = (uint32_t)host_signal;
        handed_signal = host_signal;
        host_signal = 0;
        alarm(0);
    }
    p->ready = ready;
    if (p->net_rx.v)
        net_recv_batch(vm, p->net_rx, ready & UH_READY_NET);
    p->mono_ns = clock_ns(CLOCK_MONOTONIC);
}

static void hc_time(struct vm *vm, uh_gpa_t arg)
{
    struct uh_time *t = gpa_ptr(vm, arg, sizeof *t);
    t->mono_ns = clock_ns(CLOCK_MONOTONIC);
    t->real_ns = clock_ns(CLOCK_REALTIME);
}

static void hc_random(struct vm *vm, uh_gpa_t arg)
{
    struct uh_io *io = gpa_ptr(vm, arg, sizeof *io);
    struct iovec iov[UH_IO_MAX_SEGS];
    uint64_t total;
    int cnt = guest_iovec(vm, io, iov, &total, false);
    for (int i = 0; i < cnt; i++) {
        size_t done = 0;
        while (done < iov[i].iov_len) {
            ssize_t r = getrandom((char *)iov[i].iov_base + done, iov[i].iov_len - done, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                vm_fatal("getrandom: %s", strerror(errno));
            done += r;
        }
    }
    io->ret = total;
}

static void hc_log(struct vm *vm, uh_gpa_t arg)
{
    struct uh_buf b = *(struct uh_buf *)gpa_ptr(vm, arg, sizeof b);
    char msg[512];
    guest_text(vm, b.buf, b.len, msg, sizeof msg);
    eprintf("uvmm: uk: %s\n", msg);
}

static void hc_mark(struct vm *vm, uh_gpa_t arg)
{
    struct uh_mark m = *(struct uh_mark *)gpa_ptr(vm, arg, sizeof m);
    trace_guest_mark(m.id, m.guest_tsc);
    /* The pool's "notify=1": tell the daemon once that the program starts. The
       guest may send the mark again; only the first one is passed on. */
    if (m.id == UH_MARK_APP_ENTRY && vm->cfg->notify && vm->cfg->wait_fd >= 0) {
        static const char started[] = "started\n";
        vm->cfg->notify = false;
        ssize_t r = write(vm->cfg->wait_fd, started, sizeof started - 1);
        (void)r; /* a daemon that went away does not need to know */
    }
}

static int core_setup(struct vm *vm, struct uh_bootinfo *bi)
{
    (void)vm;
    hypercall_register(UH_EXIT, hc_exit);
    hypercall_register(UH_POLL, hc_poll);
    hypercall_register(UH_TIME, hc_time);
    hypercall_register(UH_RANDOM, hc_random);
    hypercall_register(UH_LOG, hc_log);
    hypercall_register(UH_MARK, hc_mark);
    if (getrandom(bi->seed, sizeof bi->seed, 0) != (ssize_t)sizeof bi->seed) {
        eprintf("uvmm: getrandom: %s\n", strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is the guest's EPIPE, not our death */
    return 0;
}

/* From here on SIGTERM and SIGINT are the guest's (see the top of this file):
 * caught, blocked, and open only in UH_POLL's ppoll and in KVM_RUN, whose
 * EINTR for them the run loop answers with host_signals_take(). */
static int host_signals_to_guest(struct vm *vm)
{
    struct sigaction sa = {.sa_handler = on_host_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGTERM);
    sigaddset(&both, SIGINT);
    if (sigprocmask(SIG_BLOCK, &both, &run_mask) < 0)
        return -1;
    sigdelset(&run_mask, SIGTERM);
    sigdelset(&run_mask, SIGINT);
    /* KVM takes the kernel's 8-byte sigset right after the length. */
    union {
        struct kvm_signal_mask m;
        unsigned char bytes[sizeof(struct kvm_signal_mask) + 8];
    } km;
    km.m.len = 8;
    memcpy(km.m.sigset, &run_mask, 8);
    if (ioctl(vm->vcpu_fd, KVM_SET_SIGNAL_MASK, &km) < 0)
        return -1;
    /* A signal ignored by whoever started uvmm (SIGINT for a shell's background
     * job) stays ignored, as it would for the program run natively. */
    int sigs[] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) < 0)
            return -1;
        if (old.sa_handler != SIG_IGN && sigaction(sigs[i], &sa, NULL) < 0)
            return -1;
    }
    struct sigaction alrm = {.sa_handler = on_take_timeout, .sa_flags = SA_RESTART};
    sigemptyset(&alrm.sa_mask);
    return sigaction(SIGALRM, &alrm, NULL);
}

static int core_launch(struct vm *vm, struct uh_bootinfo *bi)
{
    bi->boot_mono_ns = clock_ns(CLOCK_MONOTONIC);
    bi->boot_real_ns = clock_ns(CLOCK_REALTIME);
    if (host_signals_to_guest(vm) < 0) {
        eprintf("uvmm: cannot pass SIGTERM and SIGINT to the guest: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

const struct uvmm_module mod_core = {.name = "core", .setup = core_setup, .launch = core_launch};
