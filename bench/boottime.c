/*
 * boottime.c — the timing driver of bench/boot. Runs several commands RUNS times
 * each, interleaved (run i of every row before run i+1 of any, so that a noisy
 * moment of the host hits every row alike), and prints for each row the median,
 * p90, minimum and maximum wall time from spawning the process to reaping it,
 * its peak RSS and its mean user and system CPU time per run (from wait4).
 *
 * usage: boottime [-n RUNS] [-w WARMUP] ROW [:: ROW]...
 *   ROW    NAME [-x STATUS] [-f FIELD]... -- CMD [ARG...]
 *   -n     timed runs per row (default 50)
 *   -w     untimed runs per row first (default 3): page cache, KVM's first VM
 *   -x     the exit status of a good run (default 0); any other ends the row
 *   -f     warm-pool mode: CMD is a `uvmm ... --wait-fd 3`; it starts untimed with
 *          fd 3 one end of a socketpair, and once it has written "ready\n" the
 *          clock runs from sending the request (the -f fields, each NUL-terminated,
 *          then an empty field) to reaping uvmm.
 * Children get /dev/null as stdin and stdout, and as stderr an unlinked temporary
 * file, emptied before each run, whose start is shown when a run fails. CMD is
 * looked up in PATH.
 *
 * Output, one line per row, times in microseconds, RSS in KiB:
 *   NAME ok RUNS MEDIAN P90 MIN MAX MAXRSS UTIME STIME
 *   NAME failed STATUS             (a run ended with another status)
 * and last `self HWM`: the peak RSS of the driver's own address space (VmHWM).
 * A spawned child's ru_maxrss is the larger of the child's peak and the peak of
 * the address space it had before exec (the driver's, as posix_spawn shares it),
 * so a child's MAXRSS above HWM is the child's own, exactly; one at HWM says only
 * that the child's peak is no larger.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct row {
    const char *name;
    char **argv;
    int want;        /* expected exit status */
    char *req;       /* pool request, NULL for a plain row */
    size_t reqlen;
    double *us;      /* one sample per timed run */
    long maxrss;     /* KiB */
    double utime, stime; /* microseconds, summed */
    int failed;      /* the status of the run that failed, or -1 */
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double tv_us(struct timeval tv)
{
    return tv.tv_sec * 1e6 + tv.tv_usec;
}

static int devnull, errfile;

/* Spawns ROW's command with /dev/null as stdin and stdout, errfile as stderr (and
 * SOCK as fd 3 if >= 0). */
static pid_t spawn(struct row *r, int sock)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, devnull, 1);
    posix_spawn_file_actions_adddup2(&fa, errfile, 2);
    if (sock >= 0)
        posix_spawn_file_actions_adddup2(&fa, sock, 3);
    pid_t pid;
    int err = posix_spawnp(&pid, r->argv[0], &fa, NULL, r->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        fprintf(stderr, "boottime: %s: %s\n", r->argv[0], strerror(err));
        return -1;
    }
    return pid;
}

/* One run of ROW; returns its wall time in µs, or -1 (and sets r->failed). */
static double run_once(struct row *r, struct rusage *ru)
{
    int sv[2] = {-1, -1};
    double t0;
    pid_t pid;
    if (ftruncate(errfile, 0) < 0 || lseek(errfile, 0, SEEK_SET) < 0) {
        perror("boottime: temporary file");
        exit(2);
    }
    if (r->req) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            perror("boottime: socketpair");
            exit(2);
        }
        pid = spawn(r, sv[1]);
        close(sv[1]);
        char ready[6];
        size_t got = 0;
        while (pid > 0 && got < sizeof ready) {
            ssize_t n = read(sv[0], ready + got, sizeof ready - got);
            if (n <= 0)
                break;
            got += n;
        }
        if (pid > 0 && (got != sizeof ready || memcmp(ready, "ready\n", 6) != 0))
            fprintf(stderr, "boottime: %s: no \"ready\" on the pool fd\n", r->name);
        t0 = now_us();
        if (pid > 0 && write(sv[0], r->req, r->reqlen) != (ssize_t)r->reqlen)
            fprintf(stderr, "boottime: %s: sending the request: %s\n", r->name, strerror(errno));
    } else {
        t0 = now_us();
        pid = spawn(r, -1);
    }
    if (pid < 0) {
        r->failed = 127;
        return -1;
    }
    int st;
    while (wait4(pid, &st, 0, ru) < 0 && errno == EINTR)
        ;
    double t = now_us() - t0;
    if (sv[0] >= 0)
        close(sv[0]);
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (status != r->want) {
        r->failed = status;
        char msg[512];
        ssize_t n = pread(errfile, msg, sizeof msg - 1, 0);
        msg[n > 0 ? n : 0] = 0;
        fprintf(stderr, "boottime: %s: exit status %d, not %d%s%s", r->name, status, r->want,
                n > 0 ? "; its stderr:\n" : "\n", msg);
        return -1;
    }
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: boottime [-n RUNS] [-w WARMUP] NAME [-x STATUS] [-f FIELD]... "
                    "-- CMD [ARG...] [:: NAME ...]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int runs = 50, warmup = 3, i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-w") == 0)
            warmup = atoi(argv[i + 1]);
        else
            usage();
    }
    if (runs < 1 || warmup < 0 || i >= argc)
        usage();

    struct row rows[16];
    int nrows = 0;
    while (i < argc) {
        if (nrows == 16)
            usage();
        struct row *r = &rows[nrows++];
        memset(r, 0, sizeof *r);
        r->failed = -1;
        r->name = argv[i++];
        char req[65536];
        size_t len = 0;
        for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
            if (strcmp(argv[i], "-x") == 0) {
                r->want = atoi(argv[i + 1]);
            } else if (strcmp(argv[i], "-f") == 0) {
                size_t l = strlen(argv[i + 1]) + 1;
                if (len + l + 1 > sizeof req)
                    usage();
                memcpy(req + len, argv[i + 1], l);
                len += l;
            } else {
                usage();
            }
        }
        if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc)
            usage();
        if (len) {
            req[len++] = 0;
            r->req = malloc(len);
            memcpy(r->req, req, len);
            r->reqlen = len;
        }
        r->argv = argv + ++i;
        while (i < argc && strcmp(argv[i], "::") != 0)
            i++;
        if (i < argc)
            argv[i++] = NULL; /* ends this row's argv */
        r->us = calloc(runs, sizeof *r->us);
    }

    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return perror("boottime: /dev/null"), 2;
    FILE *tmp = tmpfile();
    if (!tmp)
        return perror("boottime: tmpfile"), 2;
    errfile = fileno(tmp);
    fcntl(errfile, F_SETFD, FD_CLOEXEC);
    for (int k = 0; k < warmup + runs; k++) {
        for (int j = 0; j < nrows; j++) {
            struct row *r = &rows[j];
            if (r->failed >= 0)
                continue;
            struct rusage ru;
            double t = run_once(r, &ru);
            if (t < 0 || k < warmup)
                continue;
            r->us[k - warmup] = t;
            if (ru.ru_maxrss > r->maxrss)
                r->maxrss = ru.ru_maxrss;
            r->utime += tv_us(ru.ru_utime);
            r->stime += tv_us(ru.ru_stime);
        }
    }

    for (int j = 0; j < nrows; j++) {
        struct row *r = &rows[j];
        if (r->failed >= 0) {
            printf("%s failed %d\n", r->name, r->failed);
            continue;
        }
        qsort(r->us, runs, sizeof *r->us, cmp_double);
        double median = runs % 2 ? r->us[runs / 2] : (r->us[runs / 2 - 1] + r->us[runs / 2]) / 2;
        int p90 = (runs * 9 + 9) / 10 - 1; /* nearest rank */
        printf("%s ok %d %.0f %.0f %.0f %.0f %ld %.0f %.0f\n", r->name, runs, median, r->us[p90],
               r->us[0], r->us[runs - 1], r->maxrss, r->utime / runs, r->stime / runs);
    }
    /* Not getrusage(RUSAGE_SELF): that also counts the shell this driver was
       forked from, before its exec. */
    long hwm = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &hwm) == 1)
            break;
    if (f)
        fclose(f);
    printf("self %ld\n", hwm);
    return 0;
}
