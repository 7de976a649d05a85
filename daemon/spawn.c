/* spawn.c -- starting uvmm and talking to it over its --wait-fd socket.
 *
 * Every VM starts the same way, pooled or not: `uvmm --wait-fd 3 --net-fd 4
 * ...` on one end of a socketpair, which writes "ready" once its VM, memory,
 * kernel, tap and vCPU exist, then takes a request naming the program
 * (docs/uvmm.md). A pooled VM waits for its request in the pool; a cold one
 * gets it as soon as it is ready. With "notify=1" uvmm writes "started" when
 * the program's first instruction is about to run.
 *
 * posix_spawn (vfork underneath) keeps starting cheap however large the
 * daemon grows, and is safe from the pool's thread. Each child gets exactly
 * fds 0-4; every other fd of the daemon is close-on-exec, and closefrom makes
 * sure. The child's pidfd is how the daemon waits for it: it never waits for
 * "any child", so the pool's thread and the loop never steal each other's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

extern char **environ;

static int high_dup(int fd)
{
    return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

int uvmm_spawn(const spawn_opts *o, uvmm_proc *p, char *err, size_t errlen)
{
    p->pid = 0;
    p->pidfd = p->ctl = -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    /* The child's fds are dup2'ed to 0..4 from numbers above 9, so that no
       source is clobbered by an earlier target. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int child_ctl = high_dup(sv[1]);
    int child_null = null >= 0 ? high_dup(null) : -1;
    int child_out = o->out_fd >= 0 ? high_dup(o->out_fd) : -1;
    int child_tap = o->tap_fd >= 0 ? high_dup(o->tap_fd) : -1;
    close(sv[1]);
    if (null >= 0)
        close(null);

    char mem[16], ipbuf[16], ip[24], gw[16], mac[18];
    char *argv[16 + 2 * RR_VOLUMES_MAX + 4];
    int n = 0;
    argv[n++] = cfg.uvmm;
    argv[n++] = "--wait-fd";
    argv[n++] = "3";
    argv[n++] = "--mem";
    snprintf(mem, sizeof mem, "%d", o->mem_mib);
    argv[n++] = mem;
    argv[n++] = "--kernel";
    argv[n++] = cfg.kernel;
    if (o->tap_fd >= 0) {
        argv[n++] = "--net-fd";
        argv[n++] = "4";
        netmgr_ip_str(o->ip, ipbuf);
        snprintf(ip, sizeof ip, "%s/%d", ipbuf, netmgr_prefix(net));
        argv[n++] = "--ip";
        argv[n++] = ip;
        netmgr_ip_str(netmgr_gateway(net), gw);
        argv[n++] = "--gw";
        argv[n++] = gw;
        netmgr_mac_str(o->mac, mac);
        argv[n++] = "--mac";
        argv[n++] = mac;
        if (cfg.dns[0]) {
            argv[n++] = "--dns";
            argv[n++] = cfg.dns;
        }
    }
    for (int i = 0; i < o->nvolumes; i++) {
        argv[n++] = "--volume";
        argv[n++] = o->volumes[i];
    }
    argv[n] = NULL;

    /* The environment names the state directory, so that a later daemon on
       the same directory can recognise processes of its own (state.c). */
    char envvar[PATH_MAX + 32];
    snprintf(envvar, sizeof envvar, "UIGNITER_STATE_DIR=%s", cfg.state_dir);
    char *envp[] = {envvar, NULL};

    int rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (child_ctl < 0 || child_null < 0 || (o->out_fd >= 0 && child_out < 0) ||
        (o->tap_fd >= 0 && child_tap < 0)) {
        snprintf(err, errlen, "out of file descriptors: %s", strerror(errno));
        goto out;
    }
    /* A fresh signal mask and default dispositions: the daemon blocks SIGTERM,
       SIGINT and SIGCHLD for its signalfd, and uvmm must die of SIGTERM. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_adddup2(&fa, child_null, 0);
    posix_spawn_file_actions_adddup2(&fa, child_out >= 0 ? child_out : child_null, 1);
    if (child_out >= 0)
        posix_spawn_file_actions_adddup2(&fa, child_out, 2);
    posix_spawn_file_actions_adddup2(&fa, child_ctl, 3);
    if (child_tap >= 0)
        posix_spawn_file_actions_adddup2(&fa, child_tap, 4);
    posix_spawn_file_actions_addclosefrom_np(&fa, child_tap >= 0 ? 5 : 4);
    int e = posix_spawn(&p->pid, cfg.uvmm, &fa, &attr, argv, envp);
    if (e) {
        snprintf(err, errlen, "cannot start %s: %s", cfg.uvmm, strerror(e));
        p->pid = 0;
        goto out;
    }
    p->pidfd = pidfd_open(p->pid, 0);
    if (p->pidfd < 0) {
        snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
        goto out;
    }
    fcntl(p->pidfd, F_SETFD, FD_CLOEXEC);
    p->ctl = sv[0];
    sv[0] = -1;
    rc = 0;
out:
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (sv[0] >= 0)
        close(sv[0]);
    if (child_ctl >= 0)
        close(child_ctl);
    if (child_null >= 0)
        close(child_null);
    if (child_out >= 0)
        close(child_out);
    if (child_tap >= 0)
        close(child_tap);
    return rc;
}

int uvmm_wait_ready(uvmm_proc *p, int timeout_ms)
{
    char buf[6];
    size_t got = 0;
    while (got < sizeof buf) {
        struct pollfd pf = {.fd = p->ctl, .events = POLLIN};
        int r = poll(&pf, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            errno = r == 0 ? ETIMEDOUT : errno;
            return -1;
        }
        ssize_t n = read(p->ctl, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            errno = n == 0 ? EPIPE : errno;
            return -1;
        }
        got += n;
    }
    if (memcmp(buf, "ready\n", 6) != 0) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

static void field(buf *b, const char *key, const char *value)
{
    buf_puts(b, key);
    buf_puts(b, value);
    buf_append(b, "", 1);
}

int uvmm_send_request(uvmm_proc *p, const char *image, char *const *args, int nargs,
                      bool args_given, char *const *env, int nenv, int out_fd)
{
    buf b = BUF_INIT;
    field(&b, "image=", image);
    if (args_given && nargs == 0)
        field(&b, "args=", "");
    for (int i = 0; i < nargs; i++)
        field(&b, "arg=", args[i]);
    for (int i = 0; i < nenv; i++)
        field(&b, "env=", env[i]);
    field(&b, "notify=", "1");
    buf_append(&b, "", 1);

    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) {
        buf_free(&b);
        return -1;
    }
    int fds[3] = {null, out_fd, out_fd};
    char cbuf[CMSG_SPACE(sizeof fds)];
    memset(cbuf, 0, sizeof cbuf);
    size_t off = 0, len = buf_used(&b);
    int rc = 0;
    /* The socket is blocking for this: requests are a few KiB at most, and
       uvmm reads them at once. */
    int fl = fcntl(p->ctl, F_GETFL);
    fcntl(p->ctl, F_SETFL, fl & ~O_NONBLOCK);
    while (off < len) {
        struct iovec iov = {buf_peek(&b) + off, len - off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (off == 0) {
            mh.msg_control = cbuf;
            mh.msg_controllen = sizeof cbuf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof fds);
            memcpy(CMSG_DATA(c), fds, sizeof fds);
        }
        ssize_t n = sendmsg(p->ctl, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        off += n;
    }
    int e = errno;
    fcntl(p->ctl, F_SETFL, fl | O_NONBLOCK);
    close(null);
    buf_free(&b);
    errno = e;
    return rc;
}

int uvmm_reap(uvmm_proc *p, int *code, int *sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PIDFD, p->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return -1;
    if (si.si_code == CLD_EXITED) {
        *code = si.si_status;
        *sig = 0;
    } else {
        *code = 128 + si.si_status;
        *sig = si.si_status;
    }
    return 0;
}

void uvmm_close(uvmm_proc *p)
{
    if (p->ctl >= 0)
        close(p->ctl);
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->ctl = p->pidfd = -1;
    p->pid = 0;
}

unsigned long long proc_starttime(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Field 2 is "(comm)", which may hold spaces: count from the last ')'. */
    char *p = strrchr(line, ')');
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    return p ? strtoull(p + 1, NULL, 10) : 0;
}
