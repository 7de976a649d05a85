/*
 * time.c — clocks and kwait(), see time.h.
 */
#include "time.h"
#include "proc.h"
#include "arch/cpu.h"
#include "arch/hcall.h"

static uint64_t tsc_base, ns_base, mult; /* ns = ns_base + (tsc - tsc_base) * mult >> 32 */
static int64_t real_offset;
static void (*pollers[4])(uint32_t);
static const struct kwait_hook *hooks[4];
static int nhooks;
uint32_t kwait_always; /* host events every wait includes (the network's) */
uint64_t kwait_slept_ns; /* for the process CPU clock: time not spent running */
static int npollers;

void time_init(const struct uh_bootinfo *bi)
{
    uint64_t khz = bi->tsc_khz ? bi->tsc_khz : 1000000;
    mult = (1000000ULL << 32) / khz;
    tsc_base = rdtsc();
    ns_base = bi->boot_mono_ns;
    real_offset = (int64_t)(bi->boot_real_ns - bi->boot_mono_ns);
}

uint64_t now_ns(void)
{
    uint64_t d = rdtsc() - tsc_base;
    return ns_base + (uint64_t)(((unsigned __int128)d * mult) >> 32);
}

uint64_t realtime_ns(void)
{
    return now_ns() + real_offset;
}

static void resync(uint64_t host_mono)
{
    uint64_t tsc = rdtsc();
    uint64_t est = ns_base + (uint64_t)(((unsigned __int128)(tsc - tsc_base) * mult) >> 32);
    if (host_mono > est) {
        ns_base = host_mono;
        tsc_base = tsc;
    }
}

uint64_t deadline_after(uint64_t ns)
{
    uint64_t now = now_ns();
    return ns > DEADLINE_NEVER - now ? DEADLINE_NEVER : now + ns;
}

void kwait_register_poller(void (*fn)(uint32_t ready))
{
    if (npollers < (int)ARRAY_SIZE(pollers))
        pollers[npollers++] = fn;
}

void kwait_register_hook(const struct kwait_hook *h)
{
    if (nhooks < (int)ARRAY_SIZE(hooks))
        hooks[nhooks++] = h;
}

uint32_t kwait(uint64_t deadline, uint32_t want)
{
    /* A SIGTERM or SIGINT sent to uvmm comes with any wait (mod_core.c). */
    struct uh_poll p = {.want = want | kwait_always | UH_READY_SIGNAL};
    bool progress = false;
    for (int i = 0; i < nhooks; i++) {
        progress |= hooks[i]->prepare(&p);
        uint64_t d = hooks[i]->next_deadline();
        if (d < deadline)
            deadline = d;
    }
    if (progress) {
        /* Something changed before we slept (loopback traffic): exchange what is
           queued but do not sleep, so that the caller looks again. */
        p.timeout_ns = 0;
    } else if (deadline == DEADLINE_NEVER) {
        p.timeout_ns = -1;
    } else {
        uint64_t now = now_ns();
        p.timeout_ns = deadline > now ? (int64_t)(deadline - now) : 0;
    }
    uint64_t before = now_ns();
    hcall(UH_POLL, &p);
    resync(p.mono_ns);
    if ((p.ready & UH_READY_SIGNAL) && p.signo > 0 && p.signo < NSIG)
        signal_send((int)p.signo, SI_USER, 0); /* the waiter sees signal_pending() */
    kwait_slept_ns += now_ns() - before;
    for (int i = 0; i < nhooks; i++)
        hooks[i]->complete(&p);
    for (int i = 0; i < npollers; i++)
        pollers[i](p.ready);
    return p.ready;
}
