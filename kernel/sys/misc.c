/*
 * misc.c — process-wide system calls: clocks and sleeping, identity, limits,
 * uname, randomness, TLS, exit. There is one process (pid 1) with one thread
 * (tid 1), running as root on one CPU.
 */
#include "fs/vfs.h"
#include "sys/proc.h"
#include "sys/time.h"

struct ktimespec {
    int64_t tv_sec, tv_nsec;
};
struct ktimeval {
    int64_t tv_sec, tv_usec;
};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11
#define TIMER_ABSTIME 1

static uint64_t boot_ns;

void misc_init(void)
{
    boot_ns = now_ns();
}

extern uint64_t kwait_slept_ns;

static int clock_now(int64_t clk, uint64_t *ns)
{
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_TAI:
        *ns = realtime_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
        *ns = now_ns();
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID: {
        uint64_t run = now_ns() - boot_ns;
        *ns = run > kwait_slept_ns ? run - kwait_slept_ns : 0;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

int64_t sys_clock_gettime(int clk, struct ktimespec *ts)
{
    uint64_t ns;
    int r = clock_now(clk, &ns);
    if (r < 0)
        return r;
    if (user_check(ts, sizeof *ts, true) < 0)
        return -EFAULT;
    ts->tv_sec = ns / NSEC_PER_SEC;
    ts->tv_nsec = ns % NSEC_PER_SEC;
    return 0;
}

int64_t sys_clock_getres(int clk, struct ktimespec *ts)
{
    uint64_t ns;
    int r = clock_now(clk, &ns);
    if (r < 0)
        return r;
    if (!ts)
        return 0;
    if (user_check(ts, sizeof *ts, true) < 0)
        return -EFAULT;
    ts->tv_sec = 0;
    ts->tv_nsec = (clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE) ? 4000000 : 1;
    return 0;
}

int64_t sys_clock_settime(int clk, const struct ktimespec *ts)
{
    (void)ts;
    uint64_t ns;
    return clock_now(clk, &ns) < 0 ? -EINVAL : -EPERM;
}

int64_t sys_gettimeofday(struct ktimeval *tv, void *tz)
{
    uint64_t ns = realtime_ns();
    if (tv) {
        if (user_check(tv, sizeof *tv, true) < 0)
            return -EFAULT;
        tv->tv_sec = ns / NSEC_PER_SEC;
        tv->tv_usec = (ns % NSEC_PER_SEC) / 1000;
    }
    if (tz) {
        if (user_check(tz, 8, true) < 0)
            return -EFAULT;
        memset(tz, 0, 8);
    }
    return 0;
}

int64_t sys_time(int64_t *t)
{
    int64_t s = realtime_ns() / NSEC_PER_SEC;
    if (t) {
        if (user_check(t, sizeof *t, true) < 0)
            return -EFAULT;
        *t = s;
    }
    return s;
}

static int sleep_until(uint64_t deadline, struct ktimespec *rem)
{
    while (now_ns() < deadline) {
        kwait(deadline, 0);
        if (signal_pending()) {
            if (rem) {
                uint64_t now = now_ns(), left = deadline > now ? deadline - now : 0;
                rem->tv_sec = left / NSEC_PER_SEC;
                rem->tv_nsec = left % NSEC_PER_SEC;
            }
            return -EINTR;
        }
    }
    return 0;
}

static int check_ts(const struct ktimespec *ts)
{
    if (user_check(ts, sizeof *ts, false) < 0)
        return -EFAULT;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (int64_t)NSEC_PER_SEC)
        return -EINVAL;
    return 0;
}

static uint64_t ts_ns(const struct ktimespec *ts)
{
    if ((uint64_t)ts->tv_sec >= DEADLINE_NEVER / NSEC_PER_SEC / 2)
        return DEADLINE_NEVER / 2;
    return ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

int64_t sys_nanosleep(const struct ktimespec *req, struct ktimespec *rem)
{
    int r = check_ts(req);
    if (r < 0)
        return r;
    if (rem && user_check(rem, sizeof *rem, true) < 0)
        rem = NULL;
    return sleep_until(deadline_after(ts_ns(req)), rem);
}

int64_t sys_clock_nanosleep(int clk, int flags, const struct ktimespec *req,
                            struct ktimespec *rem)
{
    uint64_t now;
    if (clk == CLOCK_THREAD_CPUTIME_ID || clk == CLOCK_PROCESS_CPUTIME_ID)
        return -EINVAL;
    if (clock_now(clk, &now) < 0)
        return -EINVAL;
    int r = check_ts(req);
    if (r < 0)
        return r;
    uint64_t want = ts_ns(req);
    uint64_t deadline;
    if (flags & TIMER_ABSTIME)
        deadline = want > now ? deadline_after(want - now) : now_ns();
    else
        deadline = deadline_after(want);
    if (rem && ((flags & TIMER_ABSTIME) || user_check(rem, sizeof *rem, true) < 0))
        rem = NULL;
    return sleep_until(deadline, rem);
}

struct utsname {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static char hostname[65] = "uigniter";

int64_t sys_uname(struct utsname *u)
{
    if (user_check(u, sizeof *u, true) < 0)
        return -EFAULT;
    memset(u, 0, sizeof *u);
    strcpy(u->sysname, "Linux");
    strcpy(u->nodename, hostname);
    strcpy(u->release, "6.1.0-uigniter");
    strcpy(u->version, "#1 SMP Uigniter uk");
    strcpy(u->machine, "x86_64");
    strcpy(u->domainname, "(none)");
    return 0;
}

int64_t sys_sethostname(const char *name, int64_t len)
{
    if (len < 0 || len > 64)
        return -EINVAL;
    if (user_check(name, len, false) < 0)
        return -EFAULT;
    memcpy(hostname, name, len);
    hostname[len] = 0;
    return 0;
}

int host_random(void *buf, uint64_t len);

#define GRND_NONBLOCK 1
#define GRND_RANDOM 2
#define GRND_INSECURE 4

int64_t sys_getrandom(void *buf, uint64_t len, unsigned flags)
{
    if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) ||
        (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    len = MIN(len, 33554431ULL);
    if (user_check(buf, len, true) < 0)
        return -EFAULT;
    return len ? host_random(buf, len) : 0;
}

/* ---- identity ------------------------------------------------------------ */

int64_t sys_getpid(void)
{
    return process_pid;
}

int64_t sys_getppid(void)
{
    return 0;
}

int64_t sys_getuid(void)
{
    return 0;
}

int64_t sys_set_tid_address(int *p)
{
    (void)p;
    return process_pid;
}

int64_t sys_setsid(void)
{
    return -EPERM; /* pid 1 already leads its session */
}

int64_t sys_getpgid(int pid)
{
    if (pid != 0 && pid != process_pid)
        return -ESRCH;
    return process_pid;
}

int64_t sys_setpgid(int pid, int64_t pgid)
{
    if (pid != 0 && pid != process_pid)
        return -ESRCH;
    return pgid == 0 || pgid == process_pid ? 0 : -EPERM;
}

int64_t sys_setid(void)
{
    return 0; /* setuid, setgid and friends: we are root and stay root */
}

int64_t sys_getgroups(int64_t n, uint32_t *list)
{
    (void)list;
    return n < 0 ? -EINVAL : 0;
}

int64_t sys_getresuid(uint32_t *r, uint32_t *e, uint32_t *s)
{
    uint32_t *p[3] = {r, e, s};
    for (int i = 0; i < 3; i++) {
        if (user_check(p[i], 4, true) < 0)
            return -EFAULT;
        *p[i] = 0;
    }
    return 0;
}

/* ---- limits ------------------------------------------------------------------- */

struct krlimit {
    uint64_t cur, max;
};

#define RLIM_INFINITY (~0ULL)
#define RLIMIT_STACK 3
#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS 16

uint64_t fd_hard_limit(void);

static struct krlimit limits[RLIM_NLIMITS] = {
    [0] = {RLIM_INFINITY, RLIM_INFINITY},  /* CPU */
    [1] = {RLIM_INFINITY, RLIM_INFINITY},  /* FSIZE */
    [2] = {RLIM_INFINITY, RLIM_INFINITY},  /* DATA */
    [3] = {8 << 20, RLIM_INFINITY},        /* STACK */
    [4] = {0, RLIM_INFINITY},              /* CORE */
    [5] = {RLIM_INFINITY, RLIM_INFINITY},  /* RSS */
    [6] = {1, 1},                          /* NPROC */
    [8] = {8 << 20, 8 << 20},              /* MEMLOCK */
    [9] = {RLIM_INFINITY, RLIM_INFINITY},  /* AS */
    [10] = {RLIM_INFINITY, RLIM_INFINITY}, /* LOCKS */
    [11] = {0, 0},                         /* SIGPENDING */
    [12] = {819200, 819200},               /* MSGQUEUE */
    [13] = {0, 0},                         /* NICE */
    [14] = {0, 0},                         /* RTPRIO */
    [15] = {RLIM_INFINITY, RLIM_INFINITY}, /* RTTIME */
};

int64_t sys_prlimit64(int pid, int res, const struct krlimit *nl, struct krlimit *ol)
{
    if (pid != 0 && pid != process_pid)
        return -ESRCH;
    if (res < 0 || res >= RLIM_NLIMITS)
        return -EINVAL;
    if (nl && user_check(nl, sizeof *nl, false) < 0)
        return -EFAULT;
    if (ol && user_check(ol, sizeof *ol, true) < 0)
        return -EFAULT;
    struct krlimit cur = limits[res];
    if (res == RLIMIT_NOFILE)
        cur = (struct krlimit){fd_limit(), fd_hard_limit()};
    if (nl) {
        if (nl->cur > nl->max)
            return -EINVAL;
        if (res == RLIMIT_NOFILE) {
            if (nl->max > fd_hard_limit())
                return -EPERM;
            fd_set_limit(nl->cur);
        }
        limits[res] = *nl;
    }
    if (ol)
        *ol = cur;
    return 0;
}

int64_t sys_getrlimit(int res, struct krlimit *rl)
{
    return sys_prlimit64(0, res, NULL, rl);
}

int64_t sys_setrlimit(int res, const struct krlimit *rl)
{
    return sys_prlimit64(0, res, rl, NULL);
}

int64_t sys_sched_getaffinity(int pid, uint64_t len, uint64_t *mask)
{
    if (pid != 0 && pid != process_pid)
        return -ESRCH;
    if (len < 8 || (len & 7))
        return -EINVAL;
    if (user_check(mask, 8, true) < 0)
        return -EFAULT;
    *mask = 1;
    return 8;
}

int64_t sys_sched_setaffinity(int pid, uint64_t len, const uint64_t *mask)
{
    if (pid != 0 && pid != process_pid)
        return -ESRCH;
    if (user_check(mask, MIN(len, 8), false) < 0)
        return -EFAULT;
    return len >= 8 && (*mask & 1) ? 0 : -EINVAL;
}

int64_t sys_zero(void)
{
    return 0; /* calls that have nothing to do here: sched_yield, mlock, sync... */
}

struct ksysinfo {
    int64_t uptime;
    uint64_t loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    uint16_t procs, pad;
    uint64_t totalhigh, freehigh;
    uint32_t mem_unit;
    char f[4];
};

int64_t sys_sysinfo(struct ksysinfo *si)
{
    if (user_check(si, sizeof *si, true) < 0)
        return -EFAULT;
    memset(si, 0, sizeof *si);
    si->uptime = (now_ns() - boot_ns) / NSEC_PER_SEC;
    si->totalram = page_total_count() * PAGE_SIZE;
    si->freeram = page_free_count() * PAGE_SIZE;
    si->procs = 1;
    si->mem_unit = 1;
    return 0;
}

struct krusage {
    struct ktimeval utime, stime;
    int64_t rest[14];
};

int64_t sys_getrusage(int who, struct krusage *ru)
{
    if (who != 0 && who != -1 && who != 1)
        return -EINVAL;
    if (user_check(ru, sizeof *ru, true) < 0)
        return -EFAULT;
    memset(ru, 0, sizeof *ru);
    if (who == -1)
        return 0; /* RUSAGE_CHILDREN: none */
    uint64_t ns;
    clock_now(CLOCK_PROCESS_CPUTIME_ID, &ns);
    ru->utime.tv_sec = ns / NSEC_PER_SEC;
    ru->utime.tv_usec = (ns % NSEC_PER_SEC) / 1000;
    return 0;
}

int64_t sys_times(int64_t *buf)
{
    uint64_t ns;
    clock_now(CLOCK_PROCESS_CPUTIME_ID, &ns);
    if (buf) {
        if (user_check(buf, 32, true) < 0)
            return -EFAULT;
        buf[0] = ns / 10000000;
        buf[1] = buf[2] = buf[3] = 0;
    }
    return (now_ns() - boot_ns) / 10000000;
}

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

int64_t sys_arch_prctl(int code, uint64_t addr)
{
    switch (code) {
    case ARCH_SET_FS:
        if (addr >= USER_TOP)
            return -EPERM;
        cpu_set_fs(addr);
        return 0;
    case ARCH_GET_FS:
        if (user_check((void *)addr, 8, true) < 0)
            return -EFAULT;
        *(uint64_t *)addr = cpu_get_fs();
        return 0;
    case ARCH_GET_GS:
        if (user_check((void *)addr, 8, true) < 0)
            return -EFAULT;
        *(uint64_t *)addr = 0;
        return 0;
    case ARCH_SET_GS:
        return -EPERM; /* %gs belongs to the kernel */
    default:
        return -EINVAL;
    }
}

#define PR_SET_NAME 15
#define PR_GET_NAME 16
static char comm[16];

int64_t sys_prctl(int op, uint64_t a2)
{
    switch (op) {
    case PR_SET_NAME: {
        int64_t n = user_strlen((const char *)a2, 4096);
        if (n < 0)
            return n;
        memset(comm, 0, sizeof comm);
        memcpy(comm, (const char *)a2, MIN((uint64_t)n, sizeof comm - 1));
        return 0;
    }
    case PR_GET_NAME:
        if (user_check((void *)a2, 16, true) < 0)
            return -EFAULT;
        memcpy((void *)a2, comm, 16);
        return 0;
    default:
        return -EINVAL;
    }
}

int64_t sys_exit_group(int status)
{
    kexit((int)status);
}

int64_t sys_wait4(void)
{
    return -ECHILD;
}
