/*
 * poolctl.c — drives one pooled uvmm for tests and benchmarks: starts
 * `uvmm --wait-fd 3 [UVMM_OPTION...]` on a socketpair, waits for "ready", sends a
 * request built from the command line, and exits with uvmm's status.
 *
 * usage: poolctl [-s] [-q] [-t] UVMM [UVMM_OPTION...] -- FIELD...
 *   FIELD  request fields as uvmm reads them (image=..., arg=..., env=...)
 *   -s     pass this process's stdin, stdout and stderr with SCM_RIGHTS
 *   -q     close the socket instead of sending a request
 *   -t     print to stderr the microseconds from request to uvmm's exit
 *   -n     after the request, copy what uvmm writes on the socket ("started\n"
 *          with notify=1) to stderr as "poolctl: said <line>"
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    int pass_stdio = 0, quit = 0, timing = 0, said = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] && argv[i][2] == 0; i++) {
        if (argv[i][1] == 's')
            pass_stdio = 1;
        else if (argv[i][1] == 'q')
            quit = 1;
        else if (argv[i][1] == 't')
            timing = 1;
        else if (argv[i][1] == 'n')
            said = 1;
        else
            break;
    }
    int sep = i;
    while (sep < argc && strcmp(argv[sep], "--") != 0)
        sep++;
    if (i >= sep) {
        fprintf(stderr, "usage: poolctl [-s] [-q] [-t] [-n] UVMM [OPTION...] -- FIELD...\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return perror("socketpair"), 2;
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(sv[1], 3) < 0)
            _exit(127);
        char **av = calloc(sep - i + 3, sizeof *av);
        int n = 0;
        av[n++] = argv[i];
        av[n++] = "--wait-fd";
        av[n++] = "3";
        for (int k = i + 1; k < sep; k++)
            av[n++] = argv[k];
        av[n] = NULL;
        /* Without -s the program's stdout goes nowhere, as in a pool whose
           requests bring no stdio: only the fds a request passes are its output. */
        if (!pass_stdio) {
            int null = open("/dev/null", O_WRONLY);
            if (null < 0 || dup2(null, 1) < 0)
                _exit(127);
            close(null);
        }
        execv(argv[i], av);
        _exit(127);
    }
    close(sv[1]);
    char ready[6];
    if (read(sv[0], ready, 6) != 6 || memcmp(ready, "ready\n", 6) != 0) {
        fprintf(stderr, "poolctl: uvmm did not become ready\n");
    } else if (!quit) {
        char buf[65536];
        size_t len = 0;
        for (int k = sep + 1; k < argc; k++) {
            size_t l = strlen(argv[k]) + 1;
            if (len + l + 1 > sizeof buf)
                return 2;
            memcpy(buf + len, argv[k], l);
            len += l;
        }
        buf[len++] = 0;
        struct iovec iov = {buf, len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        char cbuf[CMSG_SPACE(3 * sizeof(int))];
        if (pass_stdio) {
            int fds[3] = {0, 1, 2};
            mh.msg_control = cbuf;
            mh.msg_controllen = sizeof cbuf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof fds);
            memcpy(CMSG_DATA(c), fds, sizeof fds);
        }
        double t0 = now_us();
        if (sendmsg(sv[0], &mh, 0) != (ssize_t)len)
            perror("poolctl: sendmsg");
        if (said) {
            char line[256];
            size_t got = 0;
            ssize_t n;
            while (got < sizeof line - 1 && (n = read(sv[0], line + got, sizeof line - 1 - got)) > 0)
                got += n;
            line[got] = 0;
            for (char *l = line, *nl; *l; l = nl + 1) {
                if (!(nl = strchr(l, '\n')))
                    nl = l + strlen(l) - 1;
                fprintf(stderr, "poolctl: said %.*s\n", (int)(nl - l), l);
            }
        }
        int st;
        waitpid(pid, &st, 0);
        if (timing)
            fprintf(stderr, "poolctl: %.0f us from request to exit\n", now_us() - t0);
        close(sv[0]);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    close(sv[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
