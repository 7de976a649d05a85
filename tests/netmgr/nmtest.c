/* nmtest.c -- drives daemon/netmgr.c for tests/netmgr/run.sh, under ASan and
 * UBSan, inside a network namespace the script made.
 *
 *   nmtest CASE BRIDGE SUBNET PREFIX [ARG...]
 *
 * Cases that check the allocator decide by themselves; cases that change
 * links print what they did and leave the judging to the script, which reads
 * the kernel's state with ip(8), independently of netmgr's own netlink code.
 * Exit status 0 means the case held; otherwise the first line on stdout that
 * starts with "error: " says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netmgr.h"

static netmgr_config cfg;
static char err[256];

static void die_(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("error: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            die_(__VA_ARGS__);                                                                     \
    } while (0)

static netmgr *open_or_die(void)
{
    netmgr *nm = netmgr_open(&cfg, err, sizeof(err));
    CHECK(nm, "netmgr_open: %s (errno %s)", err, strerrorname_np(errno));
    return nm;
}

static uint32_t ip_of(const char *s)
{
    unsigned a, b, c, d;
    if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
        die_("bad address %s", s);
    return a << 24 | b << 16 | c << 8 | d;
}

static const char *ipstr(uint32_t ip)
{
    static char bufs[4][16];
    static int k;
    char *b = bufs[k++ & 3];
    netmgr_ip_str(ip, b);
    return b;
}

/* ---- links --------------------------------------------------------------- */

/* Opens the manager n times (one handle kept open across the others): every
 * open must succeed against the bridge the first one made. */
static void case_open(int argc, char **argv)
{
    int n = argc > 0 ? atoi(argv[0]) : 1;
    netmgr *first = open_or_die();
    for (int i = 1; i < n; i++)
        netmgr_close(open_or_die());
    printf("gw %s/%d\n", ipstr(netmgr_gateway(first)), netmgr_prefix(first));
    netmgr_close(first);
}

/* netmgr_open must fail with the errno named. */
static void case_open_fail(int argc, char **argv)
{
    CHECK(argc == 1, "usage: open-fail ERRNO");
    netmgr *nm = netmgr_open(&cfg, err, sizeof(err));
    CHECK(!nm, "netmgr_open succeeded");
    CHECK(strcmp(strerrorname_np(errno), argv[0]) == 0, "errno %s, not %s (%s)",
          strerrorname_np(errno), argv[0], err);
    CHECK(err[0], "no message");
    printf("%s\n", err);
}

/* Creates n taps and prints their names, then "ready"; on a line from stdin
 * closes their fds and prints "closed"; exits at the next line or EOF. */
static void case_taps(int argc, char **argv)
{
    int n = argc > 0 ? atoi(argv[0]) : 1;
    netmgr *nm = open_or_die();
    int *fds = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++) {
        char name[IFNAMSIZ];
        fds[i] = netmgr_tap_create(nm, name, err, sizeof(err));
        CHECK(fds[i] >= 0, "netmgr_tap_create: %s", err);
        printf("%s\n", name);
    }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof(line), stdin)) {
        for (int i = 0; i < n; i++)
            close(fds[i]);
        printf("closed\n");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
            line[0] = 0;
    }
    free(fds);
    netmgr_close(nm);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Prints netmgr_tap_list's names, sorted, one a line. */
static void case_list(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    static char names[256][IFNAMSIZ];
    int n = netmgr_tap_list(nm, names, 256);
    CHECK(n >= 0, "netmgr_tap_list: %s", strerror(errno));
    qsort(names, (size_t)n, IFNAMSIZ, cmp_names);
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    /* A short array gets the first ones only. */
    int m = netmgr_tap_list(nm, names, 1);
    CHECK(m == (n > 0 ? 1 : 0), "tap_list with max 1 gave %d", m);
    netmgr_close(nm);
}

/* Deletes each name and prints "NAME RC ERRNO". */
static void case_delete(int argc, char **argv)
{
    netmgr *nm = open_or_die();
    for (int i = 0; i < argc; i++) {
        errno = 0;
        int rc = netmgr_tap_delete(nm, argv[i]);
        printf("%s %d %s\n", argv[i], rc, rc < 0 ? strerrorname_np(errno) : "-");
    }
    netmgr_close(nm);
}

/* A tap holds up while its fd is open, even after a tap_delete of a held one
 * was refused or not: netmgr_tap_delete of a held tap removes it (the fd goes
 * dead), which is what the daemon's orphan sweep relies on for its own taps. */
static void case_delete_held(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    char name[IFNAMSIZ];
    int fd = netmgr_tap_create(nm, name, err, sizeof(err));
    CHECK(fd >= 0, "netmgr_tap_create: %s", err);
    CHECK(netmgr_tap_delete(nm, name) == 0, "deleting held %s: %s", name, strerror(errno));
    static char names[64][IFNAMSIZ];
    int n = netmgr_tap_list(nm, names, 64);
    for (int i = 0; i < n; i++)
        CHECK(strcmp(names[i], name) != 0, "%s still listed after its deletion", name);
    close(fd);
    printf("%s\n", name);
    netmgr_close(nm);
}

/* What the fd of a tap is: close-on-exec, the tap named (IFF_TAP | IFF_NO_PI,
 * not persistent), and live: a frame written to it is taken whole. */
static void case_tap_fd(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    char name[IFNAMSIZ];
    memset(name, 'x', sizeof(name));
    int fd = netmgr_tap_create(nm, name, err, sizeof(err));
    CHECK(fd >= 0, "netmgr_tap_create: %s", err);
    CHECK(memchr(name, '\0', sizeof(name)), "name not terminated");
    int fdflags = fcntl(fd, F_GETFD);
    CHECK(fdflags >= 0 && (fdflags & FD_CLOEXEC), "fd %d is not close-on-exec", fd);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    CHECK(ioctl(fd, TUNGETIFF, &ifr) == 0, "TUNGETIFF: %s", strerror(errno));
    CHECK(strcmp(ifr.ifr_name, name) == 0, "fd is %s, name says %s", ifr.ifr_name, name);
    CHECK((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) == IFF_TAP, "not a tap (flags %#x)",
          (unsigned)ifr.ifr_flags);
    CHECK(ifr.ifr_flags & IFF_NO_PI, "IFF_NO_PI not set (flags %#x)", (unsigned)ifr.ifr_flags);
    CHECK(!(ifr.ifr_flags & IFF_PERSIST), "persistent (flags %#x)", (unsigned)ifr.ifr_flags);
    unsigned char frame[60];
    memset(frame, 0, sizeof(frame));
    memset(frame, 0xff, 6); /* broadcast */
    memcpy(frame + 6, (unsigned char[]){0x02, 0x75, 0x67, 0, 0, 9}, 6);
    frame[12] = 0x88; /* the local experimental ethertype 88b5 */
    frame[13] = 0xb5;
    ssize_t w = write(fd, frame, sizeof(frame));
    CHECK(w == (ssize_t)sizeof(frame), "write of a frame: %zd (%s)", w, strerror(errno));
    printf("%s\n", name);
    close(fd);
    netmgr_close(nm);
}

/* Every name a prefix leaves room for is taken: the next tap_create fails
 * with EBUSY and says so, and the taps made still work. */
static void case_tap_exhaust(int argc, char **argv)
{
    int n = argc > 0 ? atoi(argv[0]) : 10;
    netmgr *nm = open_or_die();
    int *fds = calloc((size_t)n, sizeof(int));
    char name[IFNAMSIZ];
    for (int i = 0; i < n; i++) {
        fds[i] = netmgr_tap_create(nm, name, err, sizeof(err));
        CHECK(fds[i] >= 0, "tap %d of %d: %s", i + 1, n, err);
    }
    err[0] = 0;
    errno = 0;
    int fd = netmgr_tap_create(nm, name, err, sizeof(err));
    CHECK(fd < 0, "tap %d of %d names was created (%s)", n + 1, n, name);
    CHECK(errno == EBUSY, "errno %s, not EBUSY (%s)", strerrorname_np(errno), err);
    CHECK(err[0], "no message");
    printf("%s\n", err);
    /* One freed name is found again. */
    close(fds[n / 2]);
    fds[n / 2] = netmgr_tap_create(nm, name, err, sizeof(err));
    CHECK(fds[n / 2] >= 0, "after closing one: %s", err);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    netmgr_close(nm);
}

/* Opens, prints "open", waits for a line (the script deletes the bridge
 * meanwhile): tap_create must then fail with a message and leave no tap. */
static void case_tap_nobridge(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    printf("open\n");
    fflush(stdout);
    char line[64], name[IFNAMSIZ];
    CHECK(fgets(line, sizeof(line), stdin), "no go-ahead on stdin");
    err[0] = 0;
    errno = 0;
    int fd = netmgr_tap_create(nm, name, err, sizeof(err));
    CHECK(fd < 0, "tap %s created without a bridge", name);
    CHECK(errno == ENODEV, "errno %s, not ENODEV (%s)", strerrorname_np(errno), err);
    CHECK(err[0], "no message");
    static char names[64][IFNAMSIZ];
    int n = netmgr_tap_list(nm, names, 64);
    CHECK(n == 0, "%d taps left (%s)", n, n > 0 ? names[0] : strerror(errno));
    printf("%s\n", err);
    netmgr_close(nm);
}

/* ---- addresses ----------------------------------------------------------- */

/* Allocates everything: each address once, all host addresses of the subnet
 * but the gateway, none twice, then EADDRNOTAVAIL. */
static void case_alloc_all(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    uint32_t gw = netmgr_gateway(nm), net = gw - 1;
    uint32_t size = 1u << (32 - netmgr_prefix(nm));
    char *seen = calloc(size, 1);
    uint32_t ip;
    for (uint32_t i = 0; i < size - 3; i++) {
        CHECK(netmgr_ip_alloc(nm, &ip) == 0, "alloc %u of %u failed: %s", i, size - 3,
              strerror(errno));
        CHECK(ip - net < size, "%s is outside the subnet", ipstr(ip));
        CHECK(ip != net && ip != gw && ip != net + size - 1, "%s handed out", ipstr(ip));
        CHECK(!seen[ip - net], "%s handed out twice", ipstr(ip));
        seen[ip - net] = 1;
        CHECK(netmgr_ip_in_use(nm) == (int)i + 1, "in_use %d after %u", netmgr_ip_in_use(nm),
              i + 1);
    }
    errno = 0;
    CHECK(netmgr_ip_alloc(nm, &ip) < 0 && errno == EADDRNOTAVAIL,
          "alloc beyond the end: %s, not EADDRNOTAVAIL", strerrorname_np(errno));
    /* Releasing one makes exactly that one available again (the middle one:
       a /30 has a single address to hand out). */
    uint32_t mid = net + 2 + (size - 3) / 2;
    netmgr_ip_release(nm, mid);
    CHECK(netmgr_ip_alloc(nm, &ip) == 0 && ip == mid, "after releasing %s got %s", ipstr(mid),
          ipstr(ip));
    CHECK(netmgr_ip_alloc(nm, &ip) < 0 && errno == EADDRNOTAVAIL, "a second one came");
    printf("%u addresses\n", size - 3);
    free(seen);
    netmgr_close(nm);
}

/* Next fit: in order from the first host after the gateway; a released
 * address comes back only after all the others. */
static void case_alloc_nextfit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    uint32_t net = netmgr_gateway(nm) - 1, size = 1u << (32 - netmgr_prefix(nm));
    uint32_t a, b, c, d, ip;
    CHECK(netmgr_ip_alloc(nm, &a) == 0 && a == net + 2, "first is %s", ipstr(a));
    CHECK(netmgr_ip_alloc(nm, &b) == 0 && b == net + 3, "second is %s", ipstr(b));
    CHECK(netmgr_ip_alloc(nm, &c) == 0 && c == net + 4, "third is %s", ipstr(c));
    netmgr_ip_release(nm, b);
    CHECK(netmgr_ip_alloc(nm, &d) == 0 && d == net + 5, "after releasing %s got %s", ipstr(b),
          ipstr(d));
    /* The rest up to the broadcast, then the released one. */
    for (uint32_t want = net + 6; want < net + size - 1; want++)
        CHECK(netmgr_ip_alloc(nm, &ip) == 0 && ip == want, "wanted %s, got %s", ipstr(want),
              ipstr(ip));
    CHECK(netmgr_ip_alloc(nm, &ip) == 0 && ip == b, "after the wrap wanted %s, got %s",
          ipstr(b), ipstr(ip));
    /* Release two in a row: they come back in address order after the cursor. */
    netmgr_ip_release(nm, net + 10);
    netmgr_ip_release(nm, net + 7);
    CHECK(netmgr_ip_alloc(nm, &ip) == 0 && ip == net + 7, "wanted .7, got %s", ipstr(ip));
    CHECK(netmgr_ip_alloc(nm, &ip) == 0 && ip == net + 10, "wanted .10, got %s", ipstr(ip));
    netmgr_close(nm);
}

static void case_reserve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    netmgr *nm = open_or_die();
    uint32_t gw = netmgr_gateway(nm), net = gw - 1, size = 1u << (32 - netmgr_prefix(nm));
    uint32_t ip;
    CHECK(netmgr_ip_reserve(nm, net + 10) == 0, "reserve .10: %s", strerror(errno));
    CHECK(netmgr_ip_in_use(nm) == 1, "in_use %d", netmgr_ip_in_use(nm));
    errno = 0;
    CHECK(netmgr_ip_reserve(nm, net + 10) < 0 && errno == EADDRINUSE, "reserve .10 twice: %s",
          strerrorname_np(errno));
    errno = 0;
    CHECK(netmgr_ip_reserve(nm, gw) < 0 && errno == EADDRINUSE, "reserve the gateway: %s",
          strerrorname_np(errno));
    struct {
        uint32_t ip;
        const char *what;
    } bad[] = {{net, "the network"},
               {net + size - 1, "the broadcast"},
               {net - 1, "below"},
               {net + size, "above"},
               {0, "0.0.0.0"},
               {0xffffffffu, "255.255.255.255"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        CHECK(netmgr_ip_reserve(nm, bad[i].ip) < 0 && errno == EINVAL, "reserve %s (%s): %s",
              bad[i].what, ipstr(bad[i].ip), strerrorname_np(errno));
    }
    CHECK(netmgr_ip_in_use(nm) == 1, "in_use %d after refused reservations",
          netmgr_ip_in_use(nm));
    /* Next fit goes on after a reserved address (the daemon's recovery). */
    CHECK(netmgr_ip_alloc(nm, &ip) == 0 && ip == net + 11, "alloc after reserving .10: %s",
          ipstr(ip));
    /* A reserved address cannot be allocated; released, it can be reserved. */
    netmgr_ip_release(nm, net + 10);
    CHECK(netmgr_ip_in_use(nm) == 1, "in_use %d after release", netmgr_ip_in_use(nm));
    CHECK(netmgr_ip_reserve(nm, net + 10) == 0, "reserve .10 again: %s", strerror(errno));
    /* Releasing what is not in use, or not ours, changes nothing. */
    netmgr_ip_release(nm, net + 20);
    netmgr_ip_release(nm, gw);
    netmgr_ip_release(nm, net);
    netmgr_ip_release(nm, net + size + 5);
    CHECK(netmgr_ip_in_use(nm) == 2, "in_use %d after stray releases", netmgr_ip_in_use(nm));
    errno = 0;
    CHECK(netmgr_ip_reserve(nm, gw) < 0 && errno == EADDRINUSE,
          "the gateway became free after releasing it: %s", strerrorname_np(errno));
    netmgr_close(nm);
}

static void case_mac(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct {
        const char *ip, *mac;
    } t[] = {{"10.87.0.2", "02:75:67:57:00:02"},
             {"10.87.255.254", "02:75:67:57:ff:fe"},
             {"192.168.1.10", "02:75:67:a8:01:0a"},
             {"0.0.0.0", "02:75:67:00:00:00"}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint8_t mac[6];
        char s[18], ips[16];
        memset(s, 'x', sizeof(s));
        netmgr_mac(ip_of(t[i].ip), mac);
        netmgr_mac_str(mac, s);
        CHECK(strcmp(s, t[i].mac) == 0, "%s: mac %s, want %s", t[i].ip, s, t[i].mac);
        CHECK(mac[0] & 0x02 && !(mac[0] & 0x01), "%s: not a local unicast MAC", t[i].ip);
        netmgr_ip_str(ip_of(t[i].ip), ips);
        CHECK(strcmp(ips, t[i].ip) == 0, "ip_str %s, want %s", ips, t[i].ip);
    }
    char ips[16];
    netmgr_ip_str(0xffffffffu, ips);
    CHECK(strcmp(ips, "255.255.255.255") == 0, "ip_str of all ones: %s", ips);
}

/* ---- threads ------------------------------------------------------------- */

#define THREADS     8
#define PER_THREAD  2000
#define TAP_THREADS 4
#define TAPS_EACH   6

static netmgr *shared;
static uint32_t got[THREADS][PER_THREAD];

static void *alloc_thread(void *arg)
{
    uint32_t *mine = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        if (netmgr_ip_alloc(shared, &mine[i]) < 0)
            return "alloc failed";
        /* Churn: give some back at once and take another. */
        if (i % 7 == 3) {
            netmgr_ip_release(shared, mine[i]);
            if (netmgr_ip_alloc(shared, &mine[i]) < 0)
                return "alloc after release failed";
        }
    }
    return NULL;
}

static char tapnames[TAP_THREADS][TAPS_EACH][IFNAMSIZ];
static int tapfds[TAP_THREADS][TAPS_EACH];
static char taperr[TAP_THREADS][256];

static void *tap_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < TAPS_EACH; i++) {
        tapfds[t][i] = netmgr_tap_create(shared, tapnames[t][i], taperr[t], sizeof(taperr[t]));
        if (tapfds[t][i] < 0)
            return "tap_create failed";
    }
    return NULL;
}

static void case_threads(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    shared = open_or_die();
    uint32_t net = netmgr_gateway(shared) - 1, size = 1u << (32 - netmgr_prefix(shared));
    CHECK(size - 3 >= THREADS * PER_THREAD, "subnet too small for the case");
    pthread_t th[THREADS + TAP_THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, alloc_thread, got[i]);
    for (int i = 0; i < TAP_THREADS; i++)
        pthread_create(&th[THREADS + i], NULL, tap_thread, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS + TAP_THREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(!r, "thread %d: %s %s", i, (char *)r, i >= THREADS ? taperr[i - THREADS] : "");
    }
    char *seen = calloc(size, 1);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            uint32_t k = got[t][i] - net;
            CHECK(k < size && k > 1 && k < size - 1, "%s handed out", ipstr(got[t][i]));
            CHECK(!seen[k], "%s held twice", ipstr(got[t][i]));
            seen[k] = 1;
        }
    CHECK(netmgr_ip_in_use(shared) == THREADS * PER_THREAD, "in_use %d, want %d",
          netmgr_ip_in_use(shared), THREADS * PER_THREAD);
    for (int t = 0; t < TAP_THREADS; t++)
        for (int i = 0; i < TAPS_EACH; i++)
            for (int u = 0; u < TAP_THREADS; u++)
                for (int j = 0; j < TAPS_EACH; j++)
                    CHECK((u == t && j == i) || strcmp(tapnames[t][i], tapnames[u][j]) != 0,
                          "tap name %s given twice", tapnames[t][i]);
    static char names[64][IFNAMSIZ];
    int n = netmgr_tap_list(shared, names, 64);
    CHECK(n == TAP_THREADS * TAPS_EACH, "tap_list found %d taps, want %d", n,
          TAP_THREADS * TAPS_EACH);
    for (int t = 0; t < TAP_THREADS; t++)
        for (int i = 0; i < TAPS_EACH; i++)
            close(tapfds[t][i]);
    n = netmgr_tap_list(shared, names, 64);
    CHECK(n == 0, "%d taps left after closing their fds", n);
    /* Concurrent release brings the count back to zero. */
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            netmgr_ip_release(shared, got[t][i]);
    CHECK(netmgr_ip_in_use(shared) == 0, "in_use %d after releasing all",
          netmgr_ip_in_use(shared));
    free(seen);
    netmgr_close(shared);
    printf("%d addresses, %d taps from %d threads\n", THREADS * PER_THREAD,
           TAP_THREADS * TAPS_EACH, THREADS + TAP_THREADS);
}

static const struct {
    const char *name;
    void (*fn)(int, char **);
} cases[] = {
    {"open", case_open},
    {"open-fail", case_open_fail},
    {"taps", case_taps},
    {"list", case_list},
    {"delete", case_delete},
    {"delete-held", case_delete_held},
    {"tap-fd", case_tap_fd},
    {"tap-exhaust", case_tap_exhaust},
    {"tap-nobridge", case_tap_nobridge},
    {"alloc-all", case_alloc_all},
    {"alloc-nextfit", case_alloc_nextfit},
    {"reserve", case_reserve},
    {"mac", case_mac},
    {"threads", case_threads},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 5) {
        fprintf(stderr, "usage: nmtest CASE BRIDGE SUBNET TAP_PREFIX [ARG...]\n");
        return 2;
    }
    cfg.bridge = argv[2];
    cfg.subnet = argv[3];
    cfg.tap_prefix = argv[4];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].fn(argc - 5, argv + 5);
            return 0;
        }
    }
    fprintf(stderr, "nmtest: no case %s\n", argv[1]);
    return 2;
}
