/*
 * framefuzz — sends malformed Ethernet frames at a guest through a raw socket:
 * mutations of valid ARP, ICMP, UDP, TCP (SYN, data, options) and IP fragment
 * frames, truncated and overlong headers, wrong checksums and lengths. The test
 * then checks that the guest still serves. Deterministic for a given seed.
 *
 * usage: framefuzz IFACE DST_MAC DST_IP SRC_IP COUNT [SEED]
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += p[i] << 8 | p[i + 1];
    if (n & 1)
        s += p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Builds a valid frame of kind k into f; returns its length. */
static size_t template(uint8_t *f, int k, const uint8_t *dmac, const uint8_t *smac, uint32_t dip,
                       uint32_t sip)
{
    memcpy(f, dmac, 6);
    memcpy(f + 6, smac, 6);
    if (k == 0) { /* ARP request for dip */
        f[12] = 0x08, f[13] = 0x06;
        uint8_t a[28] = {0, 1, 8, 0, 6, 4, 0, 1};
        memcpy(a + 8, smac, 6);
        memcpy(a + 14, &sip, 4);
        memcpy(a + 24, &dip, 4);
        memcpy(f + 14, a, 28);
        return 42;
    }
    f[12] = 0x08, f[13] = 0x00;
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[8] = 64;
    memcpy(ip + 12, &sip, 4);
    memcpy(ip + 16, &dip, 4);
    uint8_t *l4 = ip + 20;
    size_t l4len;
    uint8_t proto;
    if (k == 1) { /* ICMP echo */
        proto = 1;
        l4len = 8 + 32;
        memset(l4, 0, l4len);
        l4[0] = 8;
        for (int i = 8; i < 40; i++)
            l4[i] = i;
        uint16_t c = csum(l4, l4len, 0);
        l4[2] = c >> 8, l4[3] = c & 0xff;
    } else if (k == 2) { /* UDP to the echo port */
        proto = 17;
        l4len = 8 + 20;
        memset(l4, 0, l4len);
        l4[0] = 0x30, l4[1] = 0x39, l4[2] = 0, l4[3] = 7;
        l4[4] = 0, l4[5] = l4len;
        memcpy(l4 + 8, "fuzzed udp datagram!", 20);
    } else { /* TCP to the echo port: SYN with options, or data */
        proto = 6;
        l4len = 20 + 12 + (k == 4 ? 64 : 0);
        memset(l4, 0, l4len);
        uint16_t sport = 40000 + (rnd() % 1000);
        l4[0] = sport >> 8, l4[1] = sport & 0xff, l4[2] = 0, l4[3] = 7;
        uint32_t seq = rnd();
        memcpy(l4 + 4, &seq, 4);
        l4[12] = (8) << 4; /* 32-byte header */
        l4[13] = k == 3 ? 0x02 : 0x18;
        l4[14] = 0xff, l4[15] = 0xff;
        uint8_t opts[12] = {2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1}; /* MSS, WS, SACK ok */
        memcpy(l4 + 20, opts, 12);
        for (size_t i = 32; i < l4len; i++)
            l4[i] = rnd();
    }
    size_t tot = 20 + l4len;
    ip[2] = tot >> 8, ip[3] = tot & 0xff;
    ip[9] = proto;
    if (k == 5) { /* a fragment with an odd offset */
        ip[6] = 0x20 | (rnd() & 0x1f), ip[7] = rnd();
    }
    uint16_t c = csum(ip, 20, 0);
    ip[10] = c >> 8, ip[11] = c & 0xff;
    if (proto == 6 || proto == 17) {
        uint8_t ph[12];
        memcpy(ph, ip + 12, 8);
        ph[8] = 0, ph[9] = proto, ph[10] = l4len >> 8, ph[11] = l4len & 0xff;
        uint32_t s = 0;
        for (int i = 0; i < 12; i += 2)
            s += ph[i] << 8 | ph[i + 1];
        size_t off = proto == 6 ? 16 : 6;
        uint16_t cc = csum(l4, l4len, s);
        l4[off] = cc >> 8, l4[off + 1] = cc & 0xff;
    }
    return 14 + tot;
}

int main(int argc, char **argv)
{
    if (argc < 6)
        return fprintf(stderr, "usage: framefuzz IFACE DST_MAC DST_IP SRC_IP COUNT [SEED]\n"), 2;
    uint8_t dmac[6], smac[6];
    if (sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3],
               &dmac[4], &dmac[5]) != 6)
        return fprintf(stderr, "framefuzz: bad MAC\n"), 2;
    uint32_t dip = inet_addr(argv[3]), sip = inet_addr(argv[4]);
    long count = atol(argv[5]);
    rng = argc > 6 ? strtoull(argv[6], NULL, 0) : 0x9e3779b97f4a7c15ULL;
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (s < 0)
        return perror("framefuzz: socket"), 1;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
        return perror("framefuzz: interface"), 1;
    memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
    ioctl(s, SIOCGIFINDEX, &ifr);
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_ifindex = ifr.ifr_ifindex, .sll_halen = 6};
    memcpy(ll.sll_addr, dmac, 6);
    static uint8_t f[2048];
    long sent = 0;
    for (long i = 0; i < count; i++) {
        int kind = rnd() % 6;
        size_t n = template(f, kind, dmac, smac, dip, sip);
        /* Mutate: flip bytes past the Ethernet header, truncate or extend. */
        int flips = 1 + rnd() % 8;
        for (int k = 0; k < flips; k++)
            f[14 + rnd() % (n - 14)] ^= 1 << (rnd() % 8);
        /* ARP's sender fields stay true: a guest that learns a wrong MAC for the
           host from a forged ARP does what Linux does, and would stop answering us
           for reasons that are not a bug. */
        if (kind == 0) {
            memcpy(f + 22, smac, 6);
            memcpy(f + 28, &sip, 4);
        }
        switch (rnd() % 4) {
        case 0:
            n = 14 + rnd() % (n - 13); /* truncated */
            break;
        case 1: {
            size_t extra = rnd() % 200;
            for (size_t k = 0; k < extra && n < 1514; k++)
                f[n++] = rnd();
            break;
        }
        default:
            break;
        }
        if (n < 14)
            n = 14;
        if (sendto(s, f, n, 0, (struct sockaddr *)&ll, sizeof ll) == (ssize_t)n)
            sent++;
        if (i % 64 == 63) {
            struct timespec t = {0, 200000}; /* let the tap's queue drain */
            nanosleep(&t, NULL);
        }
    }
    printf("framefuzz: %ld frames sent\n", sent);
    return 0;
}
