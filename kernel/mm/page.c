/*
 * page.c — the physical frame allocator.
 *
 * Guest RAM starts out zero and untouched; every first touch of a page costs a
 * host fault. So frames are handed out from two sources: a bump pointer over RAM
 * never used before (already zero, no memset, touched only when really used), and
 * a free list of returned frames (cleared when handed out again). Free RAM is the
 * boot area above the monitor's page tables and everything above the kernel.
 */
#include "mm.h"

struct region {
    uint64_t next, end;
};

static struct region regions[2];
static uint64_t free_list; /* physical address of the first free frame, 0: empty */
static uint64_t nfree_list, ntotal;
static uint64_t ram_size;

void page_init(const struct uh_bootinfo *bi)
{
    ram_size = bi->mem_size;
    regions[0].next = ALIGN_UP(bi->reserved_end, PAGE_SIZE);
    regions[0].end = MIN((uint64_t)UH_KERNEL_GPA, bi->mem_size);
    regions[1].next = ALIGN_UP(bi->kernel_end, PAGE_SIZE);
    regions[1].end = ALIGN_DOWN(bi->mem_size, PAGE_SIZE);
    for (int i = 0; i < 2; i++) {
        if (regions[i].next > regions[i].end)
            regions[i].next = regions[i].end;
        ntotal += (regions[i].end - regions[i].next) / PAGE_SIZE;
    }
}

uint64_t page_alloc(void)
{
    if (free_list) {
        uint64_t pa = free_list;
        free_list = *(uint64_t *)PHYS_TO_VIRT(pa);
        nfree_list--;
        memset(PHYS_TO_VIRT(pa), 0, PAGE_SIZE);
        return pa;
    }
    for (int i = 0; i < 2; i++) {
        if (regions[i].next < regions[i].end) {
            uint64_t pa = regions[i].next;
            regions[i].next += PAGE_SIZE;
            return pa;
        }
    }
    return 0;
}

void page_free(uint64_t pa)
{
    assert(pa && pa < ram_size && (pa & (PAGE_SIZE - 1)) == 0);
    *(uint64_t *)PHYS_TO_VIRT(pa) = free_list;
    free_list = pa;
    nfree_list++;
}

uint64_t page_free_count(void)
{
    return nfree_list + (regions[0].end - regions[0].next) / PAGE_SIZE +
           (regions[1].end - regions[1].next) / PAGE_SIZE;
}

uint64_t page_total_count(void)
{
    return ntotal;
}

bool page_is_ram(uint64_t pa)
{
    return pa < ram_size;
}
