/*
 * kmalloc.c — the kernel heap behind malloc/free (used by the kernel and by lwIP).
 *
 * Small blocks (up to 2032 bytes) come from size-class pages in the physmap: each
 * page starts with a 16-byte header naming its class, so free() needs no size.
 * Larger blocks are page-granular and virtually contiguous in the vmalloc area,
 * built from any free frames, so fragmentation of physical memory never matters;
 * freed virtual ranges are kept in a small sorted list and reused.
 */
#include "mm.h"

#define HDR 16
#define BIG_MAGIC 0x6b6d616c6c6f6321ULL

static const uint16_t class_size[] = {16, 32, 64, 128, 256, 512, 1008, 2032};
#define NCLASS ARRAY_SIZE(class_size)
static void *class_free[NCLASS];

struct page_hdr {
    uint32_t magic;
    uint32_t cls;
    uint64_t pad;
};
#define SMALL_MAGIC 0x736d6c6cu

static int class_of(size_t n)
{
    for (unsigned i = 0; i < NCLASS; i++)
        if (n <= class_size[i])
            return i;
    return -1;
}

static bool refill(int c)
{
    uint64_t pa = page_alloc();
    if (!pa)
        return false;
    struct page_hdr *h = PHYS_TO_VIRT(pa);
    h->magic = SMALL_MAGIC;
    h->cls = c;
    uint8_t *p = (uint8_t *)h + HDR, *end = (uint8_t *)h + PAGE_SIZE;
    for (; p + class_size[c] <= end; p += class_size[c]) {
        *(void **)p = class_free[c];
        class_free[c] = p;
    }
    return true;
}

/* Free virtual ranges in the vmalloc area, sorted by address. */
struct vrange {
    uint64_t start, npages;
};
static struct vrange vfree[256];
static int nvfree;
static uint64_t vmalloc_top = VMALLOC_BASE;

static uint64_t vrange_take(uint64_t npages)
{
    for (int i = 0; i < nvfree; i++) {
        if (vfree[i].npages >= npages) {
            uint64_t va = vfree[i].start;
            vfree[i].start += npages * PAGE_SIZE;
            vfree[i].npages -= npages;
            if (vfree[i].npages == 0) {
                memmove(&vfree[i], &vfree[i + 1], (nvfree - i - 1) * sizeof vfree[0]);
                nvfree--;
            }
            return va;
        }
    }
    uint64_t va = vmalloc_top;
    vmalloc_top += npages * PAGE_SIZE;
    return va;
}

static void vrange_put(uint64_t va, uint64_t npages)
{
    int i = 0;
    while (i < nvfree && vfree[i].start < va)
        i++;
    if (i > 0 && vfree[i - 1].start + vfree[i - 1].npages * PAGE_SIZE == va) {
        vfree[i - 1].npages += npages;
        if (i < nvfree && va + npages * PAGE_SIZE == vfree[i].start) {
            vfree[i - 1].npages += vfree[i].npages;
            memmove(&vfree[i], &vfree[i + 1], (nvfree - i - 1) * sizeof vfree[0]);
            nvfree--;
        }
        return;
    }
    if (i < nvfree && va + npages * PAGE_SIZE == vfree[i].start) {
        vfree[i].start = va;
        vfree[i].npages += npages;
        return;
    }
    if (nvfree == ARRAY_SIZE(vfree))
        return; /* forget the range: virtual space is plentiful */
    memmove(&vfree[i + 1], &vfree[i], (nvfree - i) * sizeof vfree[0]);
    vfree[i].start = va;
    vfree[i].npages = npages;
    nvfree++;
}

void *vmalloc_pages(uint64_t npages)
{
    if (npages == 0 || npages > page_free_count())
        return NULL;
    uint64_t va = vrange_take(npages);
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t pa = page_alloc();
        uint64_t *pte = pa ? pt_lookup(va + i * PAGE_SIZE, true) : NULL;
        if (!pte) {
            if (pa)
                page_free(pa);
            vmalloc_free((void *)va, i);
            vrange_put(va + i * PAGE_SIZE, npages - i);
            return NULL;
        }
        *pte = pa | PTE_P | PTE_W | PTE_NX;
    }
    return (void *)va;
}

void vmalloc_free(void *p, uint64_t npages)
{
    uint64_t va = (uint64_t)p;
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t *pte = pt_lookup(va + i * PAGE_SIZE, false);
        if (pte && (*pte & PTE_P)) {
            page_free(*pte & PTE_ADDR);
            *pte = 0;
            pt_flush(va + i * PAGE_SIZE);
        }
    }
    if (npages)
        vrange_put(va, npages);
}

void *malloc(size_t n)
{
    if (n == 0)
        n = 1;
    int c = class_of(n);
    if (c >= 0) {
        if (!class_free[c] && !refill(c))
            return NULL;
        void *p = class_free[c];
        class_free[c] = *(void **)p;
        return p;
    }
    if (n > (1ULL << 40))
        return NULL;
    uint64_t npages = (n + HDR + PAGE_SIZE - 1) / PAGE_SIZE;
    uint64_t *h = vmalloc_pages(npages);
    if (!h)
        return NULL;
    h[0] = BIG_MAGIC;
    h[1] = npages;
    return (uint8_t *)h + HDR;
}

static size_t usable_size(void *p)
{
    uint64_t va = (uint64_t)p;
    if (va >= VMALLOC_BASE && va < UH_KERNEL_BASE) {
        uint64_t *h = (uint64_t *)(va - HDR);
        if (h[0] != BIG_MAGIC)
            panic("free: bad block %p", p);
        return h[1] * PAGE_SIZE - HDR;
    }
    struct page_hdr *h = (struct page_hdr *)ALIGN_DOWN(va, PAGE_SIZE);
    if (h->magic != SMALL_MAGIC || h->cls >= NCLASS)
        panic("free: bad block %p", p);
    return class_size[h->cls];
}

void free(void *p)
{
    if (!p)
        return;
    uint64_t va = (uint64_t)p;
    if (va >= VMALLOC_BASE && va < UH_KERNEL_BASE) {
        uint64_t *h = (uint64_t *)(va - HDR);
        if (h[0] != BIG_MAGIC)
            panic("free: bad block %p", p);
        h[0] = 0;
        vmalloc_free(h, h[1]);
        return;
    }
    struct page_hdr *h = (struct page_hdr *)ALIGN_DOWN(va, PAGE_SIZE);
    if (h->magic != SMALL_MAGIC || h->cls >= NCLASS)
        panic("free: bad block %p", p);
    *(void **)p = class_free[h->cls];
    class_free[h->cls] = p;
}

void *calloc(size_t n, size_t m)
{
    if (m && n > SIZE_MAX / m)
        return NULL;
    void *p = malloc(n * m);
    if (p)
        memset(p, 0, n * m);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    size_t old = usable_size(p);
    if (n <= old)
        return p;
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old);
    free(p);
    return q;
}
