/*
 * pool.c — the warm pool's side of uvmm (--wait-fd FD).
 *
 * A pooled uvmm does all the work that does not depend on the program ahead of
 * time (VM, guest RAM, uk.elf, devices, vCPU), writes "ready\n" to FD and waits.
 * The request that follows names the program; only mapping its image and writing
 * the boot information remain, so a request starts a guest in well under a
 * millisecond. Request: NUL-terminated fields, an empty field ends it:
 *   image=PATH   the image or static ELF (required)
 *   arg=ARG      one argument; any arg= (or a lone "args=") replaces the image's
 *   args=        "arguments given, and there are none"
 *   argv0=NAME   argv[0] instead of the image's
 *   env=K=V      one environment variable (after the image's)
 *   verbose=1    the boot-time breakdown on stderr
 *   notify=1     write "started\n" to FD when the program's first instruction is
 *                about to run (the daemon's running state and boot time)
 * When FD is a Unix socket, the first message may carry up to three fds
 * (SCM_RIGHTS); they become the program's stdin, stdout and stderr, in order.
 * EOF before a complete request means "not needed": uvmm exits 0 quietly.
 */
#include "uvmm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQUEST (256 * 1024)
#define MAX_FIELDS 4096

static int take_fds(struct msghdr *mh)
{
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int *fds = (int *)CMSG_DATA(c);
        int count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (int i = 0; i < count; i++) {
            if (n < 3 && dup2(fds[i], n) < 0)
                vm_fatal("pool request: cannot install fd %d: %s", n, strerror(errno));
            close(fds[i]);
            n++;
        }
    }
    return n;
}

/* Reads until the request's terminating empty field; returns its length or -1 on EOF. */
static ssize_t read_request(int fd, char *buf, size_t max)
{
    size_t len = 0;
    bool first = true;
    for (;;) {
        char cbuf[CMSG_SPACE(3 * sizeof(int))];
        struct iovec iov = {buf + len, max - len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (first) {
            mh.msg_control = cbuf;
            mh.msg_controllen = sizeof cbuf;
        }
        ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == ENOTSOCK)
            r = read(fd, buf + len, max - len);
        else if (r >= 0 && first)
            take_fds(&mh);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            vm_fatal("pool request: %s", strerror(errno));
        if (r == 0)
            return -1;
        first = false;
        len += r;
        /* Complete when the buffer ends with an empty field: "...\0\0" or just "\0". */
        if ((len == 1 && buf[0] == 0) || (len >= 2 && buf[len - 1] == 0 && buf[len - 2] == 0))
            return len;
        if (len == max)
            vm_fatal("pool request larger than %d bytes", MAX_REQUEST);
    }
}

int pool_wait(struct uvmm_config *cfg)
{
    static const char ready[] = "ready\n";
    if (write(cfg->wait_fd, ready, sizeof ready - 1) != sizeof ready - 1)
        return -1;
    char *buf = malloc(MAX_REQUEST);
    char **args = calloc(MAX_FIELDS, sizeof *args);
    const char **env = calloc(MAX_FIELDS, sizeof *env);
    if (!buf || !args || !env)
        vm_fatal("out of memory");
    ssize_t len = read_request(cfg->wait_fd, buf, MAX_REQUEST);
    if (len < 0) {
        free(buf);
        free(args);
        free(env);
        return -1;
    }
    int nargs = 0, nenv = 0;
    /* The command line's environment first; the request's may override it. */
    for (int i = 0; i < cfg->nenv && nenv < MAX_FIELDS; i++)
        env[nenv++] = cfg->env[i];
    for (char *f = buf, *next; f < buf + len && *f; f = next) {
        next = f + strlen(f) + 1;
        char *eq = strchr(f, '=');
        if (!eq)
            vm_fatal("pool request: field without '=': %.40s", f);
        *eq = 0;
        char *v = eq + 1;
        if (!strcmp(f, "image"))
            cfg->image = v;
        else if (!strcmp(f, "arg") && nargs < MAX_FIELDS)
            args[nargs++] = v, cfg->args_given = true;
        else if (!strcmp(f, "args"))
            cfg->args_given = true;
        else if (!strcmp(f, "argv0"))
            cfg->argv0 = v;
        else if (!strcmp(f, "env") && nenv < MAX_FIELDS && strchr(v, '='))
            env[nenv++] = v;
        else if (!strcmp(f, "notify"))
            cfg->notify = strcmp(v, "0") != 0;
        else if (!strcmp(f, "verbose"))
            cfg->verbose = strcmp(v, "0") != 0;
        else
            vm_fatal("pool request: unknown or bad field %.40s", f);
    }
    if (!cfg->image)
        vm_fatal("pool request without image=");
    cfg->args = args;
    cfg->nargs = nargs;
    cfg->env = env;
    cfg->nenv = nenv;
    return 0;
}
