/*
 * time.h — the kernel's clocks and its one way to wait.
 *
 * Time comes from the TSC (no exit per clock_gettime), anchored to the host's
 * CLOCK_MONOTONIC at boot and re-anchored whenever the monitor tells us the host
 * time (every UH_POLL), never moving backwards.
 * kwait() is where the vCPU sleeps: every blocking path calls it with its
 * deadline and the host events it waits for.
 */
#ifndef UK_TIME_H
#define UK_TIME_H

#include "klib.h"
#include "uigniter/hypercall.h"

#define NSEC_PER_SEC 1000000000ULL
#define DEADLINE_NEVER UINT64_MAX

void time_init(const struct uh_bootinfo *bi);
uint64_t now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t realtime_ns(void); /* CLOCK_REALTIME */
/* Sleeps until one of `want` (UH_READY_*) may be ready or the deadline passes;
 * returns the ready bits. Runs device pollers (network) on the way out. */
uint32_t kwait(uint64_t deadline, uint32_t want);
/* Devices that must run after every wake-up (the network stack). */
void kwait_register_poller(void (*fn)(uint32_t ready));
/* Devices that take part in every wait: prepare() fills their part of the
 * UH_POLL call (frames to send, room for frames to receive) and returns true when
 * it already made progress that the caller should look at (then the call does
 * not sleep); complete() takes what the call brought; the sleep ends no later
 * than next_deadline(). */
struct kwait_hook {
    bool (*prepare)(struct uh_poll *p);
    void (*complete)(const struct uh_poll *p);
    uint64_t (*next_deadline)(void);
};
void kwait_register_hook(const struct kwait_hook *h);
extern uint32_t kwait_always;
uint64_t deadline_after(uint64_t ns);

#endif
