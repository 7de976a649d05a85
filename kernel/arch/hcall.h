/*
 * hcall.h — issuing a hypercall: one 4-byte OUT to the call's port carrying the
 * guest-physical address of its argument struct (see uigniter/hypercall.h).
 * Argument structs live on the kernel stack or in kernel data, below 4 GiB.
 */
#ifndef UK_HCALL_H
#define UK_HCALL_H

#include "mm/mm.h"
#include "uigniter/hypercall.h"

static inline void hcall(unsigned nr, void *arg)
{
    uint64_t pa = virt_to_phys(arg);
    __asm__ volatile("outl %0, %1"
                     :
                     : "a"((uint32_t)pa), "d"((uint16_t)(UH_PORT_BASE + nr))
                     : "memory");
}

#endif
