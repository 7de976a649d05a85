/* Helpers shared by the conformance programs.
 *
 * Each program runs natively and under uvmm and the two stdouts must be equal
 * byte for byte, so everything printed here is a name or a property: errno
 * names instead of strerror text (which is the same anyway, but names read
 * better in a diff), "ok" instead of returned pointers, "yes"/"no" instead of
 * times or sizes that legitimately differ between two kernels. Programs write
 * to stdout with stdio, so a crash loses what was still buffered the same way
 * in both runs. Including this header makes stdout line buffered (unless
 * CONF_FULL_BUFFER is defined first), so that a program that dies early under
 * uvmm still shows in the diff how far it got. */
#ifndef CONF_H
#define CONF_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static inline const char *errname(int e)
{
    static char other[16];
    switch (e) {
#define E(x)                                                                                       \
    case x:                                                                                        \
        return #x;
        E(EPERM)
        E(ENOENT)
        E(ESRCH)
        E(EINTR)
        E(EIO)
        E(ENXIO)
        E(E2BIG)
        E(ENOEXEC)
        E(EBADF)
        E(ECHILD)
        E(EAGAIN)
        E(ENOMEM)
        E(EACCES)
        E(EFAULT)
        E(EBUSY)
        E(EEXIST)
        E(EXDEV)
        E(ENODEV)
        E(ENOTDIR)
        E(EISDIR)
        E(EINVAL)
        E(ENFILE)
        E(EMFILE)
        E(ENOTTY)
        E(ETXTBSY)
        E(EFBIG)
        E(ENOSPC)
        E(ESPIPE)
        E(EROFS)
        E(EMLINK)
        E(EPIPE)
        E(EDOM)
        E(ERANGE)
        E(ENAMETOOLONG)
        E(ENOSYS)
        E(ENOTEMPTY)
        E(ELOOP)
        E(EOVERFLOW)
        E(EOPNOTSUPP)
        E(ETIMEDOUT)
        E(ENOTSOCK)
        E(EDESTADDRREQ)
        E(EMSGSIZE)
        E(EPROTOTYPE)
        E(ENOPROTOOPT)
        E(EPROTONOSUPPORT)
        E(ESOCKTNOSUPPORT)
        E(EAFNOSUPPORT)
        E(EADDRINUSE)
        E(EADDRNOTAVAIL)
        E(ENETUNREACH)
        E(ECONNABORTED)
        E(ECONNRESET)
        E(ENOBUFS)
        E(EISCONN)
        E(ENOTCONN)
        E(ECONNREFUSED)
        E(EHOSTUNREACH)
        E(EALREADY)
        E(EINPROGRESS)
#undef E
    case 0:
        return "0";
    }
    snprintf(other, sizeof other, "E%d", e);
    return other;
}

static inline const char *signame(int s)
{
    static char other[16];
    switch (s) {
    case 0:
        return "none";
    case SIGILL:
        return "SIGILL";
    case SIGTRAP:
        return "SIGTRAP";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGUSR1:
        return "SIGUSR1";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGUSR2:
        return "SIGUSR2";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGALRM:
        return "SIGALRM";
    case SIGTERM:
        return "SIGTERM";
    }
    snprintf(other, sizeof other, "SIG%d", s);
    return other;
}

/* "what -> value" on success, "what -> ENAME" when the call returned -1. */
static inline void conf_show(const char *what, long ret)
{
    if (ret == -1)
        printf("%s -> %s\n", what, errname(errno));
    else
        printf("%s -> %ld\n", what, ret);
}

/* "what -> ok" for any non-negative result (fds, sizes that may differ). */
static inline void conf_ok(const char *what, long ret)
{
    if (ret < 0)
        printf("%s -> %s\n", what, errname(errno));
    else
        printf("%s -> ok\n", what);
}

/* For calls that return an error number instead of setting errno. */
static inline void conf_rc(const char *what, int rc)
{
    printf("%s -> %s\n", what, rc ? errname(rc) : "0");
}

static inline void conf_map(const char *what, void *p)
{
    if (p == MAP_FAILED)
        printf("%s -> %s\n", what, errname(errno));
    else
        printf("%s -> ok\n", what);
}

#ifndef CONF_FULL_BUFFER
__attribute__((constructor)) static void conf_line_buffered(void)
{
    setvbuf(stdout, 0, _IOLBF, 0);
}
#endif

#define SHOW(e)  (errno = 0, conf_show(#e, (long)(e)))
#define OK(e)    (errno = 0, conf_ok(#e, (long)(e)))
#define RC(e)    conf_rc(#e, (e))
#define MAPOK(e) (errno = 0, conf_map(#e, (void *)(e)))
#define YES(c)   printf("%s: %s\n", #c, (c) ? "yes" : "no")

/* The byte stream of the "pipe-gen:N" stdin (see README.md): xorshift32 from a
 * fixed seed, one byte (the top eight bits) per step. */
static inline unsigned char conf_gen_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return (unsigned char)(*x >> 24);
}
#define CONF_GEN_SEED 2463534242u

/* 64-bit FNV-1a, to print a short digest of large data. */
static inline uint64_t conf_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define CONF_FNV_INIT 0xcbf29ce484222325ull

/* Runs fn(arg) and returns the synchronous signal it raised (0 if none), with
 * the si_code and whether si_addr was the given address. Handlers jump out
 * with siglongjmp, which restores the signal mask. */
static sigjmp_buf conf_jmp __attribute__((unused));
static volatile sig_atomic_t conf_sig __attribute__((unused));
static volatile sig_atomic_t conf_code __attribute__((unused));
static void *volatile conf_addr __attribute__((unused));

static inline void conf_fault_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    conf_sig = sig;
    conf_code = si->si_code;
    conf_addr = si->si_addr;
    siglongjmp(conf_jmp, 1);
}

static inline int conf_trap(void (*fn)(void *), void *arg)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    struct sigaction sa, old[5];
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = conf_fault_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 5; i++)
        sigaction(sigs[i], &sa, &old[i]);
    conf_sig = 0;
    conf_code = 0;
    conf_addr = 0;
    if (sigsetjmp(conf_jmp, 1) == 0)
        fn(arg);
    for (int i = 0; i < 5; i++)
        sigaction(sigs[i], &old[i], 0);
    return conf_sig;
}

#endif
