/*
 * netdev.c — the guest's Ethernet interface and lwIP's clock.
 *
 * Frames travel in batches (UH_NET_SEND / UH_NET_RECV) through slots of one page
 * half each. Outgoing frames are queued by lwIP's linkoutput and sent when the
 * queue is full or the kernel is about to leave the network stack (net_flush:
 * before the vCPU sleeps and at the end of every socket call), so a burst of
 * segments costs one exit. Incoming frames are drained whenever UH_POLL says the
 * tap is readable, and when a socket call finds nothing to do and would block.
 * lwIP's timers run from the same place: kwait() wakes up in time for the next,
 * and only while one has work: the guest of an idle service never wakes up.
 */
#include "net.h"

#include "arch/hcall.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "netif/ethernet.h"
#include "sys/time.h"

#define NSLOTS 64 /* per direction, two per page */

struct ring {
    uh_gpa_t slots[NSLOTS];
    uint16_t lens[NSLOTS];
    uint8_t *buf[NSLOTS];
    uint32_t n;
    struct uh_net_batch batch; /* handed to UH_POLL */
};

static struct uh_net_info info;
static struct netif nif;
static struct ring tx, rx;
static bool up;
static uint64_t rng_state;

/*
 * lwIP's timers (LWIP_TIMERS 0: ours to run). tcp_tmr every 250 ms while TCP has
 * an active or TIME-WAIT connection, as lwIP's own tcp_timer_needed() does.
 * etharp_tmr and ip_reass_tmr tick once a second, but the states that need a
 * tick on time only begin with a frame sent (an address being resolved or
 * re-requested) or an IPv4 fragment received (a datagram being reassembled), and
 * end within ARP_MAXPENDING (5) or IP_REASS_MAXAGE ticks; so the ticks run on
 * time only for SLOW_BUSY_NS after such a frame. After that, the ticks due are
 * made up for when the next frame comes or goes (ageing the ARP cache by the
 * time that went by, before the frame is handled), and until then nothing wakes
 * the guest: not the neighbours' IPv6 chatter, not an idle listening socket.
 */
#define SLOW_TICK_NS (1000ull * 1000000)
#define ARP_PENDING_TICKS 5 /* etharp.c's ARP_MAXPENDING, which it keeps to itself */
#define SLOW_BUSY_NS ((uint64_t)(MAX(ARP_PENDING_TICKS, IP_REASS_MAXAGE) + 2) * SLOW_TICK_NS)
#define SLOW_CATCH_UP (ARP_MAXAGE + 1) /* more ticks than this change nothing */
static bool tcp_on;
static uint64_t tcp_due, slow_due, slow_busy_until;

void tcp_timer_needed(void)
{
    if (!tcp_on && (tcp_active_pcbs || tcp_tw_pcbs)) {
        tcp_on = true;
        tcp_due = now_ns() + (uint64_t)TCP_TMR_INTERVAL * 1000000;
    }
}

static void slow_ticks(uint64_t now)
{
    for (int k = 0; slow_due <= now && k < SLOW_CATCH_UP; k++) {
        etharp_tmr();
        ip_reass_tmr();
        slow_due += SLOW_TICK_NS;
    }
    if (slow_due <= now)
        slow_due = now + SLOW_TICK_NS;
}

/* A frame goes out or comes in: after a quiet spell the ARP cache first catches
 * up with the clock. BUSY: the frame may begin a state that needs ticks on time
 * (every frame sent; a received IPv4 fragment): they run for SLOW_BUSY_NS. */
static void net_activity(bool busy)
{
    uint64_t now = now_ns();
    if (now >= slow_busy_until)
        slow_ticks(now);
    if (busy)
        slow_busy_until = now + SLOW_BUSY_NS;
}

/* An IPv4 fragment (more fragments, or an offset): reassembly keeps a timer. */
static bool is_fragment(const uint8_t *f, uint16_t len)
{
    if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
        return false;
    uint16_t off = (uint16_t)(f[14 + 6] << 8 | f[14 + 7]);
    return (off & 0x3fff) != 0;
}

static void run_timers(void)
{
    uint64_t now = now_ns();
    if (tcp_on && tcp_due <= now) {
        tcp_tmr();
        if (tcp_active_pcbs || tcp_tw_pcbs) {
            tcp_due += (uint64_t)TCP_TMR_INTERVAL * 1000000;
            if (tcp_due <= now)
                tcp_due = now + (uint64_t)TCP_TMR_INTERVAL * 1000000;
        } else {
            tcp_on = false;
        }
    }
    if (now < slow_busy_until)
        slow_ticks(now);
}

uint32_t net_random(void)
{
    /* xorshift64*, seeded from the host's entropy at boot. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

u32_t sys_now(void)
{
    return (u32_t)(now_ns() / 1000000);
}

static int ring_init(struct ring *r)
{
    for (int i = 0; i < NSLOTS; i += 2) {
        uint64_t pa = page_alloc();
        if (!pa)
            return -1;
        for (int k = 0; k < 2; k++) {
            r->slots[i + k] = pa + (uint64_t)k * UH_NET_SLOT;
            r->buf[i + k] = (uint8_t *)PHYS_TO_VIRT(pa) + k * UH_NET_SLOT;
        }
    }
    return 0;
}

/* Runs queued loopback traffic (127.0.0.1, our own address); true if there was some. */
static bool run_loopback(void)
{
    bool any = false;
    struct netif *n;
    NETIF_FOREACH(n)
    {
        if (n->loop_first)
            any = true;
    }
    if (any)
        netif_poll_all();
    return any;
}

void net_flush(void)
{
    if (!up)
        return;
    run_loopback();
    if (tx.n == 0 || !info.present)
        return;
    struct uh_net_batch b = {.slots = virt_to_phys(tx.slots), .lens = virt_to_phys(tx.lens),
                             .n = tx.n};
    hcall(UH_NET_SEND, &b);
    tx.n = 0;
}

static err_t linkoutput(struct netif *n, struct pbuf *p)
{
    (void)n;
    if (p->tot_len > UH_NET_SLOT)
        return ERR_BUF;
    if (tx.n == NSLOTS)
        net_flush();
    net_activity(true);
    pbuf_copy_partial(p, tx.buf[tx.n], p->tot_len, 0);
    tx.lens[tx.n++] = p->tot_len;
    return ERR_OK;
}

static void input_frames(uint32_t got)
{
    for (uint32_t i = 0; i < got; i++) {
        uint16_t len = MIN(rx.lens[i], (uint16_t)UH_NET_SLOT);
        net_activity(is_fragment(rx.buf[i], len));
        struct pbuf *p = pbuf_alloc(PBUF_RAW, len, PBUF_POOL);
        if (!p)
            break; /* out of memory: the frame is dropped, TCP retransmits */
        pbuf_take(p, rx.buf[i], len);
        if (nif.input(p, &nif) != ERR_OK)
            pbuf_free(p);
    }
}

/* Takes every frame waiting on the tap into lwIP. */
static void drain_rx(void)
{
    if (!info.present)
        return;
    for (;;) {
        struct uh_net_batch b = {.slots = virt_to_phys(rx.slots),
                                 .lens = virt_to_phys(rx.lens), .n = NSLOTS};
        hcall(UH_NET_RECV, &b);
        uint32_t got = MIN(b.ret, (uint32_t)NSLOTS);
        input_frames(got);
        if (got < NSLOTS)
            return;
    }
}

/* One UH_POLL carries the frames to send and brings the frames that arrived. */
static bool net_prepare(struct uh_poll *p)
{
    if (!up)
        return false;
    bool progress = run_loopback();
    if (!info.present)
        return progress;
    if (tx.n) {
        tx.batch = (struct uh_net_batch){.slots = virt_to_phys(tx.slots),
                                         .lens = virt_to_phys(tx.lens), .n = tx.n};
        p->net_tx = virt_to_phys(&tx.batch);
    }
    rx.batch = (struct uh_net_batch){.slots = virt_to_phys(rx.slots),
                                     .lens = virt_to_phys(rx.lens), .n = NSLOTS};
    p->net_rx = virt_to_phys(&rx.batch);
    return progress;
}

/* Frames in and timers; what they produce goes out with the next send or wait. */
static void net_complete(const struct uh_poll *p)
{
    if (!up)
        return;
    if (p->net_tx)
        tx.n = 0;
    if (p->net_rx) {
        uint32_t got = MIN(rx.batch.ret, (uint32_t)NSLOTS);
        input_frames(got);
        if (got == NSLOTS)
            drain_rx();
    }
    run_timers();
}

static uint64_t net_next_deadline(void)
{
    if (!up)
        return DEADLINE_NEVER;
    uint64_t d = tcp_on ? tcp_due : DEADLINE_NEVER;
    if (slow_due < d && now_ns() < slow_busy_until)
        d = slow_due;
    return d;
}

static err_t nif_init(struct netif *n)
{
    n->name[0] = 'e';
    n->name[1] = 'n';
    n->mtu = info.mtu;
    n->hwaddr_len = 6;
    memcpy(n->hwaddr, info.mac, 6);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
               NETIF_FLAG_LINK_UP;
    n->output = etharp_output;
    n->linkoutput = linkoutput;
    return ERR_OK;
}

bool net_present(void)
{
    return info.present;
}

uint32_t net_dns_server(void)
{
    return info.dns;
}

/* lwIP starts with the first socket when there is no device (loopback only), so
 * programs that never touch the network pay nothing for it. */
void net_start(void)
{
    if (up)
        return;
    lwip_init(); /* also brings up the loopback interface, 127.0.0.1 */
    slow_due = now_ns() + SLOW_TICK_NS;
    up = true;
    static const struct kwait_hook hook = {net_prepare, net_complete, net_next_deadline};
    kwait_register_hook(&hook);
    if (!info.present)
        return;
    if (ring_init(&tx) < 0 || ring_init(&rx) < 0)
        panic("out of memory for the network device");
    ip4_addr_t addr, mask, gw;
    addr.addr = info.ipv4;
    uint32_t m = info.ipv4 && info.prefix ? 0xffffffffu << (32 - info.prefix) : 0;
    mask.addr = lwip_htonl(m);
    gw.addr = info.gateway;
    if (!netif_add(&nif, &addr, &mask, &gw, NULL, nif_init, ethernet_input))
        panic("cannot add the network interface");
    netif_set_default(&nif);
    netif_set_up(&nif);
    netif_set_link_up(&nif);
    kwait_always |= UH_READY_NET;
    klog("net: %u.%u.%u.%u/%u mtu %u", info.ipv4 & 0xff, (info.ipv4 >> 8) & 0xff,
         (info.ipv4 >> 16) & 0xff, info.ipv4 >> 24, info.prefix, info.mtu);
}

void net_init(const struct uh_bootinfo *bi)
{
    memcpy(&rng_state, bi->seed + 8, sizeof rng_state);
    rng_state |= 1;
    hcall(UH_NET_INFO, &info);
    if (!info.present)
        return; /* without a device the file system is exactly the image's */
    net_etc_files(info.dns);
    net_start(); /* the interface answers ARP and ping from boot on */
}
