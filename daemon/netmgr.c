/* netmgr.c -- the network manager of uigniterd (see netmgr.h): the bridge,
 * the taps and the addresses of the VMs.
 *
 * Links and addresses are changed with raw rtnetlink, never by running ip(8):
 * the daemon must not depend on a program's output format or on PATH, and a
 * netlink ACK carries the kernel's own errno (and, with extended ACKs, its
 * reason), which becomes our errno and message. Every call opens its own
 * NETLINK_ROUTE socket, so threads never share one and a reply can never be
 * read by the wrong caller; opening one costs a few microseconds, which is
 * nothing next to starting a VM.
 *
 * The bridge is given a fixed MAC (derived from the gateway address like a
 * VM's): a bridge with a random MAC takes the smallest MAC of its ports, and
 * taps coming and going would then change the gateway's MAC under the VMs'
 * ARP caches.
 *
 * Taps are created with TUNSETIFF and IFF_TUN_EXCL, so an existing link of the
 * same name (a tap another VM holds, a persistent tap somebody left) is never
 * attached to: the kernel answers EBUSY (or EEXIST) and the next number is
 * tried. Numbers come from a counter that wraps, so a name is not reused at
 * once.
 *
 * Addresses: a bitmap over the subnet, one bit per address. The network, the
 * gateway (first host) and the broadcast address are marked in use for good.
 * Allocation is next fit from a cursor that stays after the last address
 * handed out, so a released address comes back only after all the others.
 */
#include "netmgr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define NL_RECV_SIZE   65536 /* more than the kernel's largest dump message batch (32 KiB) */
#define NL_REQ_SIZE    512   /* every request here is a header and a few attributes */
#define NL_TIMEOUT_S   5
#define TAP_NUMBER_MAX 1000000

struct netmgr {
    char bridge[IFNAMSIZ];
    char tap_prefix[IFNAMSIZ];
    uint32_t net;  /* network address, host order */
    uint32_t size; /* addresses in the subnet, network and broadcast included */
    int plen;
    pthread_mutex_t lock; /* the fields below */
    uint64_t *bits;       /* bit i: address net + i is in use */
    uint32_t cursor;      /* next fit starts here */
    int in_use;           /* addresses allocated or reserved */
    unsigned tap_next;    /* the next tap number to try */
};

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = e;
    return -1;
}

/* ---- netlink ------------------------------------------------------------- */

typedef struct nlreq {
    union {
        struct nlmsghdr h;
        char buf[NL_REQ_SIZE];
    } u;
} nlreq;

/* Called for every message of a reply that is not the final ACK or DONE. */
typedef void nl_msg_proc(const struct nlmsghdr *h, void *arg);

static void *nl_init(nlreq *r, int type, int flags, size_t hdrlen)
{
    memset(r, 0, sizeof(*r));
    r->u.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
    r->u.h.nlmsg_type = (uint16_t)type;
    r->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    r->u.h.nlmsg_seq = 1;
    return NLMSG_DATA(&r->u.h);
}

/* Appends an attribute; the requests are small and fixed, so running out of
 * room is a bug here, reported as EMSGSIZE rather than written past the end. */
static struct rtattr *nl_attr(nlreq *r, int type, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(r->u.h.nlmsg_len);
    size_t alen = RTA_LENGTH(len);
    if (off + RTA_ALIGN(alen) > sizeof(r->u.buf))
        return NULL;
    struct rtattr *a = (struct rtattr *)(r->u.buf + off);
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)alen;
    if (len)
        memcpy(RTA_DATA(a), data, len);
    r->u.h.nlmsg_len = (uint32_t)(off + RTA_ALIGN(alen));
    return a;
}

static void nl_nest_end(nlreq *r, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)((char *)&r->u.h + r->u.h.nlmsg_len - (char *)nest);
}

/* The kernel's reason from an extended ACK (NLMSGERR_ATTR_MSG), or "". */
static const char *ack_reason(const struct nlmsghdr *h)
{
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return "";
    const struct nlmsgerr *e = NLMSG_DATA(h);
    size_t off = sizeof(*e);
    if (!(h->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof(e->msg);
    size_t total = h->nlmsg_len - NLMSG_HDRLEN;
    if (off > total)
        return "";
    const struct rtattr *a = (const struct rtattr *)((const char *)e + NLMSG_ALIGN(off));
    int len = (int)(total - NLMSG_ALIGN(off));
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(a) > 1) {
            const char *s = RTA_DATA(a);
            if (memchr(s, '\0', RTA_PAYLOAD(a)))
                return s;
        }
    }
    return "";
}

/* Sends one request and reads its reply up to the ACK (or, for a dump, the
 * DONE), passing every other message to proc. Returns 0, or -1 with errno
 * (the kernel's when it refused) and a message naming what. */
static int nl_talk(nlreq *r, nl_msg_proc *proc, void *arg, char *err, size_t errlen,
                   const char *what)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return fail(err, errlen, errno, "%s: netlink socket: %s", what, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    struct timeval tv = {.tv_sec = NL_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    char *buf = malloc(NL_RECV_SIZE);
    int rc = -1, e = 0;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    if (!buf) {
        fail(err, errlen, ENOMEM, "%s: out of memory", what);
        goto out;
    }
    do
        n = sendto(fd, &r->u.h, r->u.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail(err, errlen, errno, "%s: netlink send: %s", what, strerror(errno));
        goto out;
    }
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = buf, .iov_len = NL_RECV_SIZE};
        struct msghdr mh = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        n = recvmsg(fd, &mh, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno == EAGAIN ? ETIMEDOUT : errno;
            fail(err, errlen, e, "%s: netlink receive: %s", what, strerror(e));
            goto out;
        }
        if (mh.msg_flags & MSG_TRUNC) {
            fail(err, errlen, EMSGSIZE, "%s: netlink reply truncated", what);
            goto out;
        }
        if (from.nl_pid != 0)
            continue; /* not from the kernel */
        int len = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != r->u.h.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                /* A dump may end with an error in DONE's payload. */
                if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
                    int derr = *(const int *)NLMSG_DATA(h);
                    if (derr < 0) {
                        fail(err, errlen, -derr, "%s: %s", what, strerror(-derr));
                        goto out;
                    }
                }
                rc = 0;
                goto out;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *ne = NLMSG_DATA(h);
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
                    fail(err, errlen, EPROTO, "%s: short netlink error message", what);
                    goto out;
                }
                if (ne->error == 0) {
                    rc = 0;
                    goto out;
                }
                const char *why = ack_reason(h);
                e = -ne->error;
                fail(err, errlen, e, "%s: %s%s%s%s", what, strerror(e), *why ? " (" : "", why,
                     *why ? ")" : "");
                goto out;
            }
            if (proc)
                proc(h, arg);
        }
    }
out:
    e = errno;
    free(buf);
    close(fd);
    errno = e;
    return rc;
}

/* ---- links and addresses ------------------------------------------------- */

typedef struct link_info {
    const char *want; /* name asked for */
    bool found;
    char other[IFNAMSIZ]; /* the link that answered to want under another name */
    int index;
    unsigned flags;
    int master;
    char kind[32];
} link_info;

static void parse_linkinfo(const struct rtattr *nest, char *kind, size_t kindlen)
{
    int len = (int)RTA_PAYLOAD(nest);
    for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_INFO_KIND) {
            size_t n = RTA_PAYLOAD(a);
            const char *s = RTA_DATA(a);
            if (n && s[n - 1] == '\0')
                n--;
            if (n >= kindlen)
                n = kindlen - 1;
            memcpy(kind, s, n);
            kind[n] = '\0';
        }
    }
}

static void on_link(const struct nlmsghdr *h, void *arg)
{
    link_info *li = arg;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    int len = (int)IFLA_PAYLOAD(h);
    link_info got = {.index = ifi->ifi_index, .flags = ifi->ifi_flags};
    const char *name = NULL;
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME && memchr(RTA_DATA(a), '\0', RTA_PAYLOAD(a)))
            name = RTA_DATA(a);
        else if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4)
            memcpy(&got.master, RTA_DATA(a), 4);
        else if (a->rta_type == IFLA_LINKINFO)
            parse_linkinfo(a, got.kind, sizeof(got.kind));
    }
    if (name && strcmp(name, li->want) == 0) {
        got.want = li->want;
        got.found = true;
        *li = got;
    } else if (name && !li->found) {
        snprintf(li->other, sizeof(li->other), "%s", name);
    }
}

/* Looks a link up by name: 0 and li filled, or -1 (ENODEV when absent). The
 * kernel looks names up among the links' alternative names too (ip link
 * property add ... altname): a link that only has name as one is another
 * link, and the answer is EEXIST. */
static int link_get(const char *name, link_info *li, char *err, size_t errlen)
{
    nlreq r;
    struct ifinfomsg *ifi = nl_init(&r, RTM_GETLINK, NLM_F_ACK, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    nl_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
    memset(li, 0, sizeof(*li));
    li->want = name;
    char what[64];
    snprintf(what, sizeof(what), "link %s", name);
    if (nl_talk(&r, on_link, li, err, errlen, what) < 0)
        return -1;
    if (!li->found && li->other[0])
        return fail(err, errlen, EEXIST, "%s is an alternative name of the link %s", name,
                    li->other);
    if (!li->found)
        return fail(err, errlen, ENODEV, "link %s: not in the kernel's answer", name);
    return 0;
}

static void derive_mac(uint32_t ip, uint8_t mac[6])
{
    mac[0] = 0x02;
    mac[1] = 0x75;
    mac[2] = 0x67;
    mac[3] = (uint8_t)(ip >> 16);
    mac[4] = (uint8_t)(ip >> 8);
    mac[5] = (uint8_t)ip;
}

/* RTM_NEWLINK with NLM_F_EXCL: 0 created, 1 a link of that name exists. */
static int bridge_create(const char *name, uint32_t gw, char *err, size_t errlen)
{
    nlreq r;
    struct ifinfomsg *ifi =
        nl_init(&r, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    uint8_t mac[6];
    derive_mac(gw, mac);
    nl_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
    nl_attr(&r, IFLA_ADDRESS, mac, sizeof(mac));
    struct rtattr *li = nl_attr(&r, IFLA_LINKINFO, NULL, 0);
    nl_attr(&r, IFLA_INFO_KIND, "bridge", sizeof("bridge"));
    nl_nest_end(&r, li);
    char what[64];
    snprintf(what, sizeof(what), "creating the bridge %s", name);
    if (nl_talk(&r, NULL, NULL, err, errlen, what) == 0)
        return 0;
    return errno == EEXIST ? 1 : -1;
}

/* Guests speak IPv4 only. A link with IPv6 on would send router solicitations
 * and MLD reports for its link-local address now and then for as long as it
 * exists; the bridge floods them to every tap, and each one wakes every idle
 * guest. So our taps, and a bridge we create, have IPv6 off before they come up
 * (best effort: a kernel without IPv6 has nothing to turn off). */
static void ipv6_off(const char *ifname)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = write(fd, "1\n", 2);
    (void)n;
    close(fd);
}

/* Brings a link up and, when master > 0, attaches it to that bridge. The link
 * is named by index, or by name when index is 0. */
static int link_set(int index, const char *name, int master, char *err, size_t errlen,
                    const char *what)
{
    nlreq r;
    struct ifinfomsg *ifi = nl_init(&r, RTM_SETLINK, NLM_F_ACK, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    if (!index)
        nl_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
    if (master > 0) {
        uint32_t m = (uint32_t)master;
        nl_attr(&r, IFLA_MASTER, &m, sizeof(m));
    }
    return nl_talk(&r, NULL, NULL, err, errlen, what);
}

typedef struct addr_find {
    int index;
    uint32_t addr; /* network order */
    int plen;
    bool found;
} addr_find;

static void on_addr(const struct nlmsghdr *h, void *arg)
{
    addr_find *af = arg;
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != af->index ||
        ifa->ifa_prefixlen != af->plen)
        return;
    int len = (int)IFA_PAYLOAD(h);
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == 4 &&
            memcmp(RTA_DATA(a), &af->addr, 4) == 0)
            af->found = true;
    }
}

static int addr_present(int index, uint32_t addr, int plen, char *err, size_t errlen)
{
    nlreq r;
    struct ifaddrmsg *ifa = nl_init(&r, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_index = (uint32_t)index;
    addr_find af = {.index = index, .addr = htonl(addr), .plen = plen};
    if (nl_talk(&r, on_addr, &af, err, errlen, "listing addresses") < 0)
        return -1;
    return af.found;
}

static int addr_add(int index, uint32_t addr, uint32_t bcast, int plen, char *err, size_t errlen,
                    const char *what)
{
    nlreq r;
    struct ifaddrmsg *ifa =
        nl_init(&r, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)plen;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)index;
    uint32_t a = htonl(addr), b = htonl(bcast);
    nl_attr(&r, IFA_LOCAL, &a, 4);
    nl_attr(&r, IFA_ADDRESS, &a, 4);
    nl_attr(&r, IFA_BROADCAST, &b, 4);
    if (nl_talk(&r, NULL, NULL, err, errlen, what) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

/* ---- configuration ------------------------------------------------------- */

/* What the kernel accepts as an interface name (dev_valid_name), without '%':
 * the kernel takes a name with '%' for a pattern ("br%d" makes br0), so the
 * link made would not be the one named, and could not be found again. */
static bool ifname_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == ':' || s[i] == '%' || s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

static bool is_tap_name(const char *prefix, const char *name)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] == '\0')
        return false;
    for (const char *p = name + n; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static int parse_subnet(const char *s, uint32_t *net, int *plen, char *err, size_t errlen)
{
    char buf[32];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return fail(err, errlen, EINVAL, "subnet '%s': expected ADDR/PREFIX", s ? s : "");
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return fail(err, errlen, EINVAL, "subnet '%s': '%s' is not an IPv4 address", s, buf);
    const char *p = slash + 1;
    int v = 0;
    if (!*p || strlen(p) > 2)
        v = -1;
    for (; v >= 0 && *p; p++)
        v = *p >= '0' && *p <= '9' ? v * 10 + (*p - '0') : -1;
    if (v < 8 || v > 30)
        return fail(err, errlen, EINVAL, "subnet '%s': the prefix must be 8..30", s);
    uint32_t addr = ntohl(a.s_addr), mask = ~0u << (32 - v);
    if (addr & ~mask) {
        struct in_addr n = {.s_addr = htonl(addr & mask)};
        char nb[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &n, nb, sizeof(nb));
        return fail(err, errlen, EINVAL, "subnet '%s': host bits set (the network is %s/%d)", s, nb,
                    v);
    }
    *net = addr;
    *plen = v;
    return 0;
}

/* ---- the manager --------------------------------------------------------- */

static void bit_set(uint64_t *b, uint32_t i)
{
    b[i >> 6] |= 1ULL << (i & 63);
}

static void bit_clear(uint64_t *b, uint32_t i)
{
    b[i >> 6] &= ~(1ULL << (i & 63));
}

static bool bit_test(const uint64_t *b, uint32_t i)
{
    return b[i >> 6] >> (i & 63) & 1;
}

/* The lowest clear bit in [from, to), or -1. */
static int64_t find_clear(const uint64_t *b, uint32_t from, uint32_t to)
{
    uint32_t i = from;
    while (i < to) {
        uint64_t w = b[i >> 6] | ((1ULL << (i & 63)) - 1);
        if (~w) {
            uint32_t j = (i & ~63u) + (uint32_t)__builtin_ctzll(~w);
            return j < to ? (int64_t)j : -1;
        }
        i = (i & ~63u) + 64;
    }
    return -1;
}

/* Creates the bridge when missing, gives it the gateway address when it lacks
 * it and brings it up: each step is skipped or harmless when already done, so
 * this is idempotent. */
static int setup_bridge(const netmgr *nm, char *err, size_t errlen)
{
    uint32_t gw = nm->net + 1, bcast = nm->net + nm->size - 1;
    char what[96], gws[16];
    link_info li;
    int made = bridge_create(nm->bridge, gw, err, errlen);
    if (made < 0 || link_get(nm->bridge, &li, err, errlen) < 0)
        return -1;
    if (strcmp(li.kind, "bridge") != 0)
        return fail(err, errlen, EEXIST, "%s exists and is not a bridge (kind '%s')", nm->bridge,
                    li.kind[0] ? li.kind : "none");
    if (made == 0)
        ipv6_off(nm->bridge);
    int have = addr_present(li.index, gw, nm->plen, err, errlen);
    if (have < 0)
        return -1;
    netmgr_ip_str(gw, gws);
    snprintf(what, sizeof(what), "adding %s/%d to %s", gws, nm->plen, nm->bridge);
    if (!have && addr_add(li.index, gw, bcast, nm->plen, err, errlen, what) < 0)
        return -1;
    snprintf(what, sizeof(what), "bringing %s up", nm->bridge);
    return link_set(li.index, NULL, 0, err, errlen, what);
}

netmgr *netmgr_open(const netmgr_config *cfg, char *err, size_t errlen)
{
    uint32_t net = 0;
    int plen = 0;
    if (!cfg || !cfg->bridge || !ifname_ok(cfg->bridge, IFNAMSIZ - 1)) {
        fail(err, errlen, EINVAL, "bridge name '%s' is not a valid interface name",
             cfg && cfg->bridge ? cfg->bridge : "");
        return NULL;
    }
    if (!cfg->tap_prefix || !ifname_ok(cfg->tap_prefix, IFNAMSIZ - 2)) {
        fail(err, errlen, EINVAL, "tap prefix '%s': 1..%d characters of an interface name",
             cfg->tap_prefix ? cfg->tap_prefix : "", IFNAMSIZ - 2);
        return NULL;
    }
    if (is_tap_name(cfg->tap_prefix, cfg->bridge)) {
        fail(err, errlen, EINVAL, "bridge name '%s' looks like a tap name (prefix '%s')",
             cfg->bridge, cfg->tap_prefix);
        return NULL;
    }
    if (parse_subnet(cfg->subnet, &net, &plen, err, errlen) < 0)
        return NULL;

    netmgr *nm = calloc(1, sizeof(*nm));
    if (!nm) {
        fail(err, errlen, ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(nm->bridge, sizeof(nm->bridge), "%s", cfg->bridge);
    snprintf(nm->tap_prefix, sizeof(nm->tap_prefix), "%s", cfg->tap_prefix);
    nm->net = net;
    nm->plen = plen;
    nm->size = 1u << (32 - plen);
    size_t words = (nm->size + 63) / 64;
    nm->bits = calloc(words, sizeof(uint64_t));
    if (!nm->bits) {
        free(nm);
        fail(err, errlen, ENOMEM, "out of memory for a /%d", plen);
        return NULL;
    }
    for (uint32_t i = nm->size; i < words * 64; i++)
        bit_set(nm->bits, i);
    bit_set(nm->bits, 0);            /* network */
    bit_set(nm->bits, 1);            /* gateway */
    bit_set(nm->bits, nm->size - 1); /* broadcast */
    nm->cursor = 2;
    pthread_mutex_init(&nm->lock, NULL);

    if (setup_bridge(nm, err, errlen) < 0) {
        int e = errno;
        netmgr_close(nm);
        errno = e;
        return NULL;
    }
    return nm;
}

void netmgr_close(netmgr *nm)
{
    if (!nm)
        return;
    pthread_mutex_destroy(&nm->lock);
    free(nm->bits);
    free(nm);
}

uint32_t netmgr_gateway(const netmgr *nm)
{
    return nm->net + 1;
}

int netmgr_prefix(const netmgr *nm)
{
    return nm->plen;
}

int netmgr_ip_alloc(netmgr *nm, uint32_t *ip)
{
    pthread_mutex_lock(&nm->lock);
    int64_t i = find_clear(nm->bits, nm->cursor, nm->size);
    if (i < 0)
        i = find_clear(nm->bits, 0, nm->cursor);
    if (i >= 0) {
        bit_set(nm->bits, (uint32_t)i);
        nm->cursor = (uint32_t)i + 1;
        nm->in_use++;
    }
    pthread_mutex_unlock(&nm->lock);
    if (i < 0) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    *ip = nm->net + (uint32_t)i;
    return 0;
}

/* The index of ip in the bitmap, or -1 when it is outside the subnet or is
 * its network or broadcast address. */
static int64_t host_index(const netmgr *nm, uint32_t ip)
{
    uint32_t i = ip - nm->net;
    if (i >= nm->size || i == 0 || i == nm->size - 1)
        return -1;
    return i;
}

int netmgr_ip_reserve(netmgr *nm, uint32_t ip)
{
    int64_t i = host_index(nm, ip);
    if (i < 0) {
        errno = EINVAL;
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&nm->lock);
    if (bit_test(nm->bits, (uint32_t)i)) {
        rc = -1; /* in use, or the gateway */
    } else {
        bit_set(nm->bits, (uint32_t)i);
        nm->in_use++;
        /* Keep next fit going after the addresses that were in use before a
           restart, so one freed meanwhile is not the first handed out. */
        if ((uint32_t)i >= nm->cursor)
            nm->cursor = (uint32_t)i + 1;
    }
    pthread_mutex_unlock(&nm->lock);
    if (rc < 0)
        errno = EADDRINUSE;
    return rc;
}

void netmgr_ip_release(netmgr *nm, uint32_t ip)
{
    int64_t i = host_index(nm, ip);
    if (i < 0 || i == 1)
        return;
    pthread_mutex_lock(&nm->lock);
    if (bit_test(nm->bits, (uint32_t)i)) {
        bit_clear(nm->bits, (uint32_t)i);
        nm->in_use--;
    }
    pthread_mutex_unlock(&nm->lock);
}

int netmgr_ip_in_use(netmgr *nm)
{
    pthread_mutex_lock(&nm->lock);
    int n = nm->in_use;
    pthread_mutex_unlock(&nm->lock);
    return n;
}

void netmgr_mac(uint32_t ip, uint8_t mac[6])
{
    derive_mac(ip, mac);
}

void netmgr_ip_str(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

void netmgr_mac_str(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

/* ---- taps ---------------------------------------------------------------- */

static unsigned tap_numbers(const netmgr *nm)
{
    unsigned max = 1;
    for (size_t d = strlen(nm->tap_prefix); d < IFNAMSIZ - 1 && max < TAP_NUMBER_MAX; d++)
        max *= 10;
    return max;
}

int netmgr_tap_create(netmgr *nm, char name[IFNAMSIZ], char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, errno, "/dev/net/tun: %s", strerror(errno));
    unsigned numbers = tap_numbers(nm);
    struct ifreq ifr;
    int rc = -1;
    for (unsigned tries = 0; tries < numbers; tries++) {
        pthread_mutex_lock(&nm->lock);
        unsigned n = nm->tap_next;
        nm->tap_next = (n + 1) % numbers;
        pthread_mutex_unlock(&nm->lock);
        memset(&ifr, 0, sizeof(ifr));
        char try_name[32]; /* tap_numbers() keeps prefix + number within IFNAMSIZ - 1 */
        snprintf(try_name, sizeof(try_name), "%s%u", nm->tap_prefix, n);
        memcpy(ifr.ifr_name, try_name, IFNAMSIZ - 1);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL;
        rc = ioctl(fd, TUNSETIFF, &ifr);
        if (rc == 0 || (errno != EBUSY && errno != EEXIST))
            break;
    }
    if (rc < 0) {
        int e = errno;
        close(fd);
        if (e == EBUSY || e == EEXIST)
            return fail(err, errlen, EBUSY, "no free tap name %s0..%s%u", nm->tap_prefix,
                        nm->tap_prefix, numbers - 1);
        return fail(err, errlen, e, "creating tap %s: %s", ifr.ifr_name, strerror(e));
    }
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = '\0';

    char what[96];
    unsigned master = if_nametoindex(nm->bridge);
    if (!master) {
        int e = errno;
        close(fd);
        return fail(err, errlen, e, "bridge %s: %s", nm->bridge, strerror(e));
    }
    ipv6_off(name);
    snprintf(what, sizeof(what), "attaching %s to %s", name, nm->bridge);
    if (link_set(0, name, (int)master, err, errlen, what) < 0) {
        int e = errno;
        close(fd); /* not persistent: the tap goes with its only fd */
        errno = e;
        return -1;
    }
    return fd;
}

int netmgr_tap_delete(netmgr *nm, const char *name)
{
    /* Only our own taps: a typo must not take down the bridge or eth0, nor a
       link of another kind that happens to have a tap's name. The link is
       looked up first and deleted by index, since a deletion by name would
       also take a link that has the name only as an alternative name. */
    if (!name || strlen(name) >= IFNAMSIZ || !is_tap_name(nm->tap_prefix, name)) {
        errno = EINVAL;
        return -1;
    }
    link_info li;
    if (link_get(name, &li, NULL, 0) < 0)
        return errno == ENODEV ? 0 : -1;
    if (strcmp(li.kind, "tun") != 0) {
        errno = EINVAL;
        return -1;
    }
    nlreq r;
    struct ifinfomsg *ifi = nl_init(&r, RTM_DELLINK, NLM_F_ACK, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = li.index;
    if (nl_talk(&r, NULL, NULL, NULL, 0, "deleting a tap") == 0 || errno == ENODEV)
        return 0;
    return -1;
}

typedef struct tap_names {
    const char *prefix;
    char (*names)[IFNAMSIZ];
    int max, n;
} tap_names;

static void on_tap_link(const struct nlmsghdr *h, void *arg)
{
    tap_names *t = arg;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    int len = (int)IFLA_PAYLOAD(h);
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type != IFLA_IFNAME || RTA_PAYLOAD(a) > IFNAMSIZ ||
            !memchr(RTA_DATA(a), '\0', RTA_PAYLOAD(a)))
            continue;
        const char *name = RTA_DATA(a);
        if (t->n < t->max && is_tap_name(t->prefix, name))
            snprintf(t->names[t->n++], IFNAMSIZ, "%s", name);
    }
}

int netmgr_tap_list(netmgr *nm, char (*names)[IFNAMSIZ], int max)
{
    nlreq r;
    struct ifinfomsg *ifi = nl_init(&r, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    tap_names t = {.prefix = nm->tap_prefix, .names = names, .max = max};
    if (nl_talk(&r, on_tap_link, &t, NULL, 0, "listing links") < 0)
        return -1;
    return t.n;
}
