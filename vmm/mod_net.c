/*
 * mod_net.c — one Ethernet interface backed by a host tap device.
 *
 * `--net TAP` attaches to an existing tap by name (needs the right to open it);
 * `--net-fd FD` takes an already attached tap fd from whoever started uvmm, so a
 * daemon can create taps and run uvmm without privileges. The guest moves frames
 * in batches (UH_NET_SEND / UH_NET_RECV, up to UH_NET_MAX_BATCH frames per exit),
 * and UH_POLL wakes it when the tap is readable. The address configuration
 * (--mac, --ip, --gw, --dns) is handed to the guest through UH_NET_INFO.
 *
 * The tap fd is non-blocking: a frame the host cannot take now is dropped, as a
 * NIC drops it when its queue is full, and TCP in the guest retransmits.
 */
#include "uvmm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    int fd;
    struct uh_net_info info;
    uint64_t tx_dropped, rx_frames, tx_frames;
} net = {.fd = -1};

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &end) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = v[i];
    return mac[0] & 1 ? -1 : 0; /* multicast addresses cannot be an interface's */
}

static int parse_ipv4(const char *s, uint32_t *addr)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *addr = a.s_addr;
    return 0;
}

/* ADDR/PREFIX; a bare ADDR means /24. */
static int parse_cidr(const char *s, uint32_t *addr, uint32_t *prefix)
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    *prefix = 24;
    if (slash) {
        char *end;
        *slash = 0;
        long p = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || p < 1 || p > 32)
            return -1;
        *prefix = p;
    }
    return parse_ipv4(buf, addr);
}

static int attach_by_name(const char *name)
{
    if (strlen(name) >= IFNAMSIZ) {
        eprintf("uvmm: --net %s: interface names have at most %d characters\n", name,
                IFNAMSIZ - 1);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        eprintf("uvmm: --net %s: /dev/net/tun: %s\n", name, strerror(errno));
        return -1;
    }
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    strcpy(ifr.ifr_name, name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        eprintf("uvmm: --net %s: cannot attach to the tap: %s\n", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void hc_net_info(struct vm *vm, uh_gpa_t arg);
static void hc_net_send(struct vm *vm, uh_gpa_t arg);
static void hc_net_recv(struct vm *vm, uh_gpa_t arg);

static int net_setup(struct vm *vm, struct uh_bootinfo *bi)
{
    (void)bi;
    struct uvmm_config *cfg = vm->cfg;
    hypercall_register(UH_NET_INFO, hc_net_info);
    hypercall_register(UH_NET_SEND, hc_net_send);
    hypercall_register(UH_NET_RECV, hc_net_recv);
    if (!cfg->net_tap && cfg->net_fd < 0) {
        if (cfg->mac || cfg->ip || cfg->gw || cfg->dns) {
            eprintf("uvmm: --mac, --ip, --gw and --dns need --net or --net-fd\n");
            return -1;
        }
        return 0;
    }
    if (cfg->net_tap) {
        net.fd = attach_by_name(cfg->net_tap);
        if (net.fd < 0)
            return -1;
    } else {
        net.fd = cfg->net_fd;
        if (fcntl(net.fd, F_SETFD, FD_CLOEXEC) < 0) {
            eprintf("uvmm: --net-fd %d: %s\n", net.fd, strerror(errno));
            return -1;
        }
    }
    struct ifreq ifr = {0};
    if (ioctl(net.fd, TUNGETIFF, &ifr) < 0) {
        eprintf("uvmm: network fd %d is not a tap device: %s\n", net.fd, strerror(errno));
        return -1;
    }
    if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI) ||
        (ifr.ifr_flags & IFF_VNET_HDR)) {
        eprintf("uvmm: %s: want a tap opened with IFF_TAP | IFF_NO_PI and no IFF_VNET_HDR\n",
                ifr.ifr_name);
        return -1;
    }
    int fl = fcntl(net.fd, F_GETFL);
    if (fl < 0 || fcntl(net.fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        eprintf("uvmm: %s: cannot make the tap non-blocking: %s\n", ifr.ifr_name,
                strerror(errno));
        return -1;
    }
    net.info.present = 1;
    net.info.mtu = 1500;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
        struct ifreq q = {0};
        strcpy(q.ifr_name, ifr.ifr_name);
        if (ioctl(s, SIOCGIFMTU, &q) == 0 && q.ifr_mtu >= 576)
            net.info.mtu = q.ifr_mtu;
        close(s);
    }
    if (net.info.mtu > UH_NET_SLOT - 22) {
        eprintf("uvmm: %s: MTU %u is larger than the guest's frames (at most %d)\n",
                ifr.ifr_name, net.info.mtu, UH_NET_SLOT - 22);
        return -1;
    }
    if (cfg->mac) {
        if (parse_mac(cfg->mac, net.info.mac) < 0) {
            eprintf("uvmm: --mac %s: want a unicast MAC like 02:00:00:00:00:01\n", cfg->mac);
            return -1;
        }
    } else {
        /* Locally administered, unicast: 02:xx:xx:xx:xx:xx. */
        if (getrandom(net.info.mac + 1, 5, 0) != 5) {
            eprintf("uvmm: getrandom: %s\n", strerror(errno));
            return -1;
        }
        net.info.mac[0] = 0x02;
    }
    if (cfg->ip && parse_cidr(cfg->ip, &net.info.ipv4, &net.info.prefix) < 0) {
        eprintf("uvmm: --ip %s: want an IPv4 address with a prefix, like 10.0.0.2/24\n",
                cfg->ip);
        return -1;
    }
    if (cfg->gw && parse_ipv4(cfg->gw, &net.info.gateway) < 0) {
        eprintf("uvmm: --gw %s: want an IPv4 address\n", cfg->gw);
        return -1;
    }
    if (cfg->dns && parse_ipv4(cfg->dns, &net.info.dns) < 0) {
        eprintf("uvmm: --dns %s: want an IPv4 address\n", cfg->dns);
        return -1;
    }
    poll_register(net.fd, UH_READY_NET);
    vm_log("net: %s, mtu %u, mac %02x:%02x:%02x:%02x:%02x:%02x", ifr.ifr_name, net.info.mtu,
           net.info.mac[0], net.info.mac[1], net.info.mac[2], net.info.mac[3], net.info.mac[4],
           net.info.mac[5]);
    return 0;
}

static void hc_net_info(struct vm *vm, uh_gpa_t arg)
{
    struct uh_net_info *info = gpa_ptr(vm, arg, sizeof *info);
    *info = net.info;
}

/* Checks a batch header and its arrays; slots are checked one by one as used. */
static struct uh_net_batch *batch_check(struct vm *vm, uh_gpa_t arg, const uh_gpa_t **slots,
                                        uint16_t **lens, bool to_guest)
{
    struct uh_net_batch *b = gpa_ptr(vm, arg, sizeof *b);
    if (net.fd < 0)
        vm_fatal("bad hypercall: network call without a network device");
    uint32_t n = b->n;
    if (n == 0 || n > UH_NET_MAX_BATCH)
        vm_fatal("bad hypercall: network batch of %u frames (1 to %d)", n, UH_NET_MAX_BATCH);
    *slots = gpa_ptr_ro(vm, b->slots, (uint64_t)n * sizeof(uh_gpa_t));
    if (to_guest)
        *lens = gpa_ptr(vm, b->lens, (uint64_t)n * sizeof(uint16_t));
    else
        *lens = (uint16_t *)gpa_ptr_ro(vm, b->lens, (uint64_t)n * sizeof(uint16_t));
    return b;
}

void net_send_batch(struct vm *vm, uh_gpa_t arg)
{
    const uh_gpa_t *slots;
    uint16_t *lens;
    struct uh_net_batch *b = batch_check(vm, arg, &slots, &lens, false);
    uint32_t n = b->n, sent = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t len = lens[i];
        if (len > UH_NET_SLOT)
            vm_fatal("bad hypercall: frame of %u bytes (at most %d)", len, UH_NET_SLOT);
        const uint8_t *frame = gpa_ptr_ro(vm, slots[i], len);
        if (len < 14) {
            net.tx_dropped++;
            continue;
        }
        ssize_t r;
        do
            r = write(net.fd, frame, len);
        while (r < 0 && errno == EINTR);
        if (r == len)
            sent++;
        else
            net.tx_dropped++; /* EAGAIN, ENOBUFS, EIO (link down): the wire ate it */
    }
    net.tx_frames += sent;
    b->ret = sent;
}

void net_recv_batch(struct vm *vm, uh_gpa_t arg, bool readable)
{
    const uh_gpa_t *slots;
    uint16_t *lens;
    struct uh_net_batch *b = batch_check(vm, arg, &slots, &lens, true);
    uint32_t n = readable ? b->n : 0, got = 0;
    uint8_t *slot = NULL;
    while (got < n) {
        if (!slot)
            slot = gpa_ptr(vm, slots[got], UH_NET_SLOT);
        ssize_t r = read(net.fd, slot, UH_NET_SLOT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* EAGAIN: drained; other errors: nothing to give now */
        if (r < 14 || r > UH_NET_SLOT - 4)
            continue; /* runt or oversized: not a frame the guest can use */
        lens[got++] = r;
        slot = NULL;
    }
    net.rx_frames += got;
    b->ret = got;
}

static void hc_net_send(struct vm *vm, uh_gpa_t arg)
{
    net_send_batch(vm, arg);
}

static void hc_net_recv(struct vm *vm, uh_gpa_t arg)
{
    net_recv_batch(vm, arg, true);
}

const struct uvmm_module mod_net = {.name = "net", .setup = net_setup};
