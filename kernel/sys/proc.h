/*
 * proc.h — the one process: how it ends, its signals, and boot checkpoints.
 */
#ifndef UK_PROC_H
#define UK_PROC_H

#include "klib.h"
#include "arch/cpu.h"

__attribute__((noreturn)) void kexit(int status);
__attribute__((noreturn)) void kexit_signal(int sig, uint64_t rip, uint64_t addr);
__attribute__((noreturn)) void kexit_signal_msg(int sig, uint64_t rip, uint64_t addr,
                                                const char *msg);
void kmark(int id);

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGWINCH 28
#define SIGSYS 31
#define NSIG 65

/* si_code values */
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_TKILL (-6)
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define ILL_ILLOPN 2
#define FPE_INTDIV 1
#define FPE_FLTDIV 3
#define BUS_ADRALN 1

/* Makes sig pending (a fault, kill/raise, or SIGPIPE from a write). */
void signal_send(int sig, int code, uint64_t addr);
/* A synchronous fault: cannot be blocked or ignored (default action then). */
void signal_fault(int sig, int code, uint64_t addr, uint64_t rip);
/* Delivers pending, unblocked signals before returning to the app at r. */
void signal_deliver(struct regs *r);
/* True when an unblocked signal is pending (blocking calls return EINTR). */
bool signal_pending(void);

extern int64_t process_pid;

#endif
