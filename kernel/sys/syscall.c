/*
 * syscall.c — the system call table and dispatcher.
 *
 * syscall_entry (arch/entry.S) saves the application's registers and calls
 * syscall_dispatch with them; the result goes back in rax, pending signals are
 * delivered, and the registers are restored. Numbers come from Linux's own
 * <asm/unistd_64.h>. An unknown call returns -ENOSYS and is named once on stderr
 * under --verbose (names generated at build time from the same header).
 */
#include <asm/unistd_64.h>

#include "fs/vfs.h"
#include "sys/proc.h"
#include "syscall_names.h"

typedef int64_t (*syscall_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
#define S(fn) (syscall_fn)(void (*)(void))(fn)

#define DECL(name) int64_t name()
DECL(sys_read); DECL(sys_write); DECL(sys_open); DECL(sys_close); DECL(sys_stat);
DECL(sys_fstat); DECL(sys_lstat); DECL(sys_poll); DECL(sys_lseek); DECL(sys_mmap);
DECL(sys_mprotect); DECL(sys_munmap); DECL(sys_brk); DECL(sys_rt_sigaction);
DECL(sys_rt_sigprocmask); DECL(sys_ioctl); DECL(sys_pread64); DECL(sys_pwrite64);
DECL(sys_readv); DECL(sys_writev); DECL(sys_access); DECL(sys_pipe); DECL(sys_select);
DECL(sys_zero); DECL(sys_mremap); DECL(sys_madvise); DECL(sys_dup); DECL(sys_dup2);
DECL(sys_pause); DECL(sys_nanosleep); DECL(sys_getpid); DECL(sys_sendfile);
DECL(sys_exit_group); DECL(sys_wait4); DECL(sys_kill); DECL(sys_uname); DECL(sys_fcntl);
DECL(sys_flock); DECL(sys_fsync); DECL(sys_truncate); DECL(sys_ftruncate);
DECL(sys_getcwd); DECL(sys_chdir); DECL(sys_fchdir); DECL(sys_rename); DECL(sys_mkdir);
DECL(sys_rmdir); DECL(sys_creat); DECL(sys_unlink); DECL(sys_symlink); DECL(sys_readlink);
DECL(sys_chmod); DECL(sys_fchmod); DECL(sys_chown); DECL(sys_fchown); DECL(sys_umask);
DECL(sys_gettimeofday); DECL(sys_getrlimit); DECL(sys_getrusage); DECL(sys_sysinfo);
DECL(sys_times); DECL(sys_getuid); DECL(sys_setid); DECL(sys_getppid); DECL(sys_setpgid);
DECL(sys_getpgid); DECL(sys_setsid); DECL(sys_getgroups); DECL(sys_getresuid);
DECL(sys_rt_sigpending); DECL(sys_rt_sigsuspend); DECL(sys_sigaltstack);
DECL(sys_statfs); DECL(sys_fstatfs); DECL(sys_prctl); DECL(sys_arch_prctl);
DECL(sys_setrlimit); DECL(sys_sethostname); DECL(sys_tkill); DECL(sys_time);
DECL(sys_sched_setaffinity); DECL(sys_sched_getaffinity); DECL(sys_getdents64);
DECL(sys_set_tid_address); DECL(sys_clock_settime); DECL(sys_clock_gettime);
DECL(sys_clock_getres); DECL(sys_clock_nanosleep); DECL(sys_tgkill); DECL(sys_openat);
DECL(sys_mkdirat); DECL(sys_fchownat); DECL(sys_newfstatat); DECL(sys_unlinkat);
DECL(sys_renameat); DECL(sys_symlinkat); DECL(sys_readlinkat); DECL(sys_fchmodat);
DECL(sys_faccessat); DECL(sys_pselect6); DECL(sys_ppoll); DECL(sys_utimensat);
DECL(sys_dup3); DECL(sys_pipe2); DECL(sys_preadv); DECL(sys_pwritev); DECL(sys_prlimit64);
DECL(sys_renameat2); DECL(sys_getrandom); DECL(sys_faccessat2);
DECL(sys_socket); DECL(sys_socketpair); DECL(sys_bind); DECL(sys_listen); DECL(sys_accept);
DECL(sys_accept4); DECL(sys_connect); DECL(sys_sendto); DECL(sys_recvfrom); DECL(sys_sendmsg);
DECL(sys_recvmsg); DECL(sys_sendmmsg); DECL(sys_recvmmsg); DECL(sys_shutdown);
DECL(sys_getsockname); DECL(sys_getpeername); DECL(sys_setsockopt); DECL(sys_getsockopt);
DECL(sys_epoll_create); DECL(sys_epoll_create1); DECL(sys_epoll_ctl); DECL(sys_epoll_wait);
DECL(sys_epoll_pwait); DECL(sys_epoll_pwait2); DECL(sys_eventfd); DECL(sys_eventfd2);
int64_t sys_rt_sigreturn(struct regs *r);

static const syscall_fn table[] = {
    [__NR_read] = S(sys_read),
    [__NR_write] = S(sys_write),
    [__NR_open] = S(sys_open),
    [__NR_close] = S(sys_close),
    [__NR_stat] = S(sys_stat),
    [__NR_fstat] = S(sys_fstat),
    [__NR_lstat] = S(sys_lstat),
    [__NR_poll] = S(sys_poll),
    [__NR_lseek] = S(sys_lseek),
    [__NR_mmap] = S(sys_mmap),
    [__NR_mprotect] = S(sys_mprotect),
    [__NR_munmap] = S(sys_munmap),
    [__NR_brk] = S(sys_brk),
    [__NR_rt_sigaction] = S(sys_rt_sigaction),
    [__NR_rt_sigprocmask] = S(sys_rt_sigprocmask),
    [__NR_ioctl] = S(sys_ioctl),
    [__NR_pread64] = S(sys_pread64),
    [__NR_pwrite64] = S(sys_pwrite64),
    [__NR_readv] = S(sys_readv),
    [__NR_writev] = S(sys_writev),
    [__NR_access] = S(sys_access),
    [__NR_pipe] = S(sys_pipe),
    [__NR_select] = S(sys_select),
    [__NR_sched_yield] = S(sys_zero),
    [__NR_mremap] = S(sys_mremap),
    [__NR_msync] = S(sys_zero),
    [__NR_madvise] = S(sys_madvise),
    [__NR_dup] = S(sys_dup),
    [__NR_dup2] = S(sys_dup2),
    [__NR_pause] = S(sys_pause),
    [__NR_nanosleep] = S(sys_nanosleep),
    [__NR_getpid] = S(sys_getpid),
    [__NR_sendfile] = S(sys_sendfile),
    [__NR_exit] = S(sys_exit_group),
    [__NR_wait4] = S(sys_wait4),
    [__NR_kill] = S(sys_kill),
    [__NR_uname] = S(sys_uname),
    [__NR_fcntl] = S(sys_fcntl),
    [__NR_flock] = S(sys_flock),
    [__NR_fsync] = S(sys_fsync),
    [__NR_fdatasync] = S(sys_fsync),
    [__NR_truncate] = S(sys_truncate),
    [__NR_ftruncate] = S(sys_ftruncate),
    [__NR_getcwd] = S(sys_getcwd),
    [__NR_chdir] = S(sys_chdir),
    [__NR_fchdir] = S(sys_fchdir),
    [__NR_rename] = S(sys_rename),
    [__NR_mkdir] = S(sys_mkdir),
    [__NR_rmdir] = S(sys_rmdir),
    [__NR_creat] = S(sys_creat),
    [__NR_unlink] = S(sys_unlink),
    [__NR_symlink] = S(sys_symlink),
    [__NR_readlink] = S(sys_readlink),
    [__NR_chmod] = S(sys_chmod),
    [__NR_fchmod] = S(sys_fchmod),
    [__NR_chown] = S(sys_chown),
    [__NR_fchown] = S(sys_fchown),
    [__NR_lchown] = S(sys_chown),
    [__NR_umask] = S(sys_umask),
    [__NR_gettimeofday] = S(sys_gettimeofday),
    [__NR_getrlimit] = S(sys_getrlimit),
    [__NR_getrusage] = S(sys_getrusage),
    [__NR_sysinfo] = S(sys_sysinfo),
    [__NR_times] = S(sys_times),
    [__NR_getuid] = S(sys_getuid),
    [__NR_getgid] = S(sys_getuid),
    [__NR_geteuid] = S(sys_getuid),
    [__NR_getegid] = S(sys_getuid),
    [__NR_setuid] = S(sys_setid),
    [__NR_setgid] = S(sys_setid),
    [__NR_setreuid] = S(sys_setid),
    [__NR_setregid] = S(sys_setid),
    [__NR_setresuid] = S(sys_setid),
    [__NR_setresgid] = S(sys_setid),
    [__NR_setgroups] = S(sys_setid),
    [__NR_getresuid] = S(sys_getresuid),
    [__NR_getresgid] = S(sys_getresuid),
    [__NR_getgroups] = S(sys_getgroups),
    [__NR_getppid] = S(sys_getppid),
    [__NR_getpgrp] = S(sys_getpid),
    [__NR_setpgid] = S(sys_setpgid),
    [__NR_getpgid] = S(sys_getpgid),
    [__NR_getsid] = S(sys_getpgid),
    [__NR_setsid] = S(sys_setsid),
    [__NR_rt_sigpending] = S(sys_rt_sigpending),
    [__NR_rt_sigsuspend] = S(sys_rt_sigsuspend),
    [__NR_sigaltstack] = S(sys_sigaltstack),
    [__NR_statfs] = S(sys_statfs),
    [__NR_fstatfs] = S(sys_fstatfs),
    [__NR_getpriority] = S(sys_zero),
    [__NR_setpriority] = S(sys_zero),
    [__NR_mlock] = S(sys_zero),
    [__NR_munlock] = S(sys_zero),
    [__NR_mlockall] = S(sys_zero),
    [__NR_munlockall] = S(sys_zero),
    [__NR_prctl] = S(sys_prctl),
    [__NR_arch_prctl] = S(sys_arch_prctl),
    [__NR_setrlimit] = S(sys_setrlimit),
    [__NR_sync] = S(sys_zero),
    [__NR_syncfs] = S(sys_zero),
    [__NR_sethostname] = S(sys_sethostname),
    [__NR_gettid] = S(sys_getpid),
    [__NR_tkill] = S(sys_tkill),
    [__NR_time] = S(sys_time),
    [__NR_sched_setaffinity] = S(sys_sched_setaffinity),
    [__NR_sched_getaffinity] = S(sys_sched_getaffinity),
    [__NR_getdents64] = S(sys_getdents64),
    [__NR_set_tid_address] = S(sys_set_tid_address),
    [__NR_fadvise64] = S(sys_zero),
    [__NR_clock_settime] = S(sys_clock_settime),
    [__NR_clock_gettime] = S(sys_clock_gettime),
    [__NR_clock_getres] = S(sys_clock_getres),
    [__NR_clock_nanosleep] = S(sys_clock_nanosleep),
    [__NR_exit_group] = S(sys_exit_group),
    [__NR_tgkill] = S(sys_tgkill),
    [__NR_openat] = S(sys_openat),
    [__NR_mkdirat] = S(sys_mkdirat),
    [__NR_fchownat] = S(sys_fchownat),
    [__NR_newfstatat] = S(sys_newfstatat),
    [__NR_unlinkat] = S(sys_unlinkat),
    [__NR_renameat] = S(sys_renameat),
    [__NR_symlinkat] = S(sys_symlinkat),
    [__NR_readlinkat] = S(sys_readlinkat),
    [__NR_fchmodat] = S(sys_fchmodat),
    [__NR_faccessat] = S(sys_faccessat),
    [__NR_pselect6] = S(sys_pselect6),
    [__NR_ppoll] = S(sys_ppoll),
    [__NR_set_robust_list] = S(sys_zero),
    [__NR_utimensat] = S(sys_utimensat),
    [__NR_dup3] = S(sys_dup3),
    [__NR_pipe2] = S(sys_pipe2),
    [__NR_preadv] = S(sys_preadv),
    [__NR_pwritev] = S(sys_pwritev),
    [__NR_prlimit64] = S(sys_prlimit64),
    [__NR_getcpu] = S(sys_zero),
    [__NR_renameat2] = S(sys_renameat2),
    [__NR_getrandom] = S(sys_getrandom),
    [__NR_faccessat2] = S(sys_faccessat2),
    [__NR_socket] = S(sys_socket),
    [__NR_socketpair] = S(sys_socketpair),
    [__NR_bind] = S(sys_bind),
    [__NR_listen] = S(sys_listen),
    [__NR_accept] = S(sys_accept),
    [__NR_accept4] = S(sys_accept4),
    [__NR_connect] = S(sys_connect),
    [__NR_sendto] = S(sys_sendto),
    [__NR_recvfrom] = S(sys_recvfrom),
    [__NR_sendmsg] = S(sys_sendmsg),
    [__NR_recvmsg] = S(sys_recvmsg),
    [__NR_sendmmsg] = S(sys_sendmmsg),
    [__NR_recvmmsg] = S(sys_recvmmsg),
    [__NR_shutdown] = S(sys_shutdown),
    [__NR_getsockname] = S(sys_getsockname),
    [__NR_getpeername] = S(sys_getpeername),
    [__NR_setsockopt] = S(sys_setsockopt),
    [__NR_getsockopt] = S(sys_getsockopt),
    [__NR_epoll_create] = S(sys_epoll_create),
    [__NR_epoll_create1] = S(sys_epoll_create1),
    [__NR_epoll_ctl] = S(sys_epoll_ctl),
    [__NR_epoll_wait] = S(sys_epoll_wait),
    [__NR_epoll_pwait] = S(sys_epoll_pwait),
    [__NR_epoll_pwait2] = S(sys_epoll_pwait2),
    [__NR_eventfd] = S(sys_eventfd),
    [__NR_eventfd2] = S(sys_eventfd2),
};

static uint64_t reported[8]; /* one bit per call number below 512 */

void syscall_dispatch(struct regs *r)
{
    uint64_t nr = r->rax;
    int64_t ret;
    if (nr == __NR_rt_sigreturn) {
        ret = sys_rt_sigreturn(r);
    } else if (nr < ARRAY_SIZE(table) && table[nr]) {
        ret = table[nr](r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9);
    } else {
        if (kverbose && nr < 512 && !(reported[nr / 64] & (1ULL << (nr % 64)))) {
            reported[nr / 64] |= 1ULL << (nr % 64);
            const char *name = nr < ARRAY_SIZE(syscall_names) ? syscall_names[nr] : NULL;
            klog("unimplemented system call %lu (%s): ENOSYS", (unsigned long)nr,
                 name ? name : "unknown");
        }
        ret = -38; /* ENOSYS */
    }
    r->rax = ret;
    signal_deliver(r);
}
