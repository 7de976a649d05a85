/*
 * pt.c — the page tables. The monitor built the kernel's half (physmap and kernel
 * window, 2 MiB pages); the kernel adds 4 KiB mappings for the application and for
 * its own large heap blocks. Intermediate tables are permissive; the leaf entry
 * decides access (W, NX).
 */
#include "mm.h"
#include "arch/cpu.h"

static uint64_t *pml4;

void pt_init(uint64_t pml4_pa)
{
    pml4 = PHYS_TO_VIRT(pml4_pa);
}

static uint64_t *next_table(uint64_t *entry, bool create)
{
    if (!(*entry & PTE_P)) {
        if (!create)
            return NULL;
        uint64_t pa = page_alloc();
        if (!pa)
            return NULL;
        *entry = pa | PTE_P | PTE_W;
    }
    if (*entry & PTE_PS)
        return NULL; /* a 2 MiB page: no 4 KiB entry */
    return PHYS_TO_VIRT(*entry & PTE_ADDR);
}

uint64_t *pt_lookup(uint64_t va, bool create)
{
    uint64_t *t = pml4;
    for (int shift = 39; shift > 12; shift -= 9) {
        t = next_table(&t[(va >> shift) & 511], create);
        if (!t)
            return NULL;
    }
    return &t[(va >> 12) & 511];
}

uint64_t virt_to_phys(const void *p)
{
    uint64_t va = (uint64_t)p;
    if (va >= UH_KERNEL_BASE)
        return va - UH_KERNEL_BASE;
    if (va >= UH_PHYSMAP_BASE && va < VMALLOC_BASE)
        return va - UH_PHYSMAP_BASE;
    uint64_t *pte = pt_lookup(va, false);
    if (!pte || !(*pte & PTE_P))
        panic("virt_to_phys: %p is not mapped", p);
    return (*pte & PTE_ADDR) | (va & (PAGE_SIZE - 1));
}

void pt_flush(uint64_t va)
{
    invlpg(va);
}
