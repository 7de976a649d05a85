/*
 * vm.c — the application's address space: a sorted array of VMAs, demand paging,
 * and the checks that make a bad user pointer an EFAULT instead of a crash.
 *
 * Nothing is populated eagerly: a VMA only records what a range should contain,
 * and the page-fault handler fills a page on first touch — zeroes for anonymous
 * memory, a copy of the source for private file data, or, for read-only image
 * data such as program text, the image's own page (no copy at all).
 * A RAM frame in an application PTE always belongs to exactly that PTE; image
 * frames are never freed.
 */
#include "mm.h"
#include "sys/errno.h"
#include "arch/cpu.h"

#define MAX_VMAS 65530

static struct vma *vmas;
static int nvma, cap_vma;

static int find_index(uint64_t addr) /* first VMA with end > addr */
{
    int lo = 0, hi = nvma;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (vmas[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct vma *find_vma(uint64_t addr)
{
    int i = find_index(addr);
    if (i < nvma && vmas[i].start <= addr)
        return &vmas[i];
    return NULL;
}

static int insert_at(int i, const struct vma *v)
{
    if (nvma == cap_vma) {
        if (cap_vma >= MAX_VMAS)
            return -ENOMEM;
        int ncap = cap_vma ? cap_vma * 2 : 64;
        struct vma *n = realloc(vmas, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        vmas = n;
        cap_vma = ncap;
    }
    memmove(&vmas[i + 1], &vmas[i], (nvma - i) * sizeof *vmas);
    vmas[i] = *v;
    nvma++;
    return 0;
}

static void remove_at(int i)
{
    memmove(&vmas[i], &vmas[i + 1], (nvma - i - 1) * sizeof *vmas);
    nvma--;
}

static bool mergeable(const struct vma *a, const struct vma *b)
{
    return a->end == b->start && a->kind == VMA_ANON && b->kind == VMA_ANON &&
           a->prot == b->prot;
}

/* Splits the VMA containing addr so that a VMA boundary falls on addr. */
static int split_at(uint64_t addr)
{
    int i = find_index(addr);
    if (i >= nvma || vmas[i].start >= addr)
        return 0;
    struct vma hi = vmas[i];
    uint64_t d = addr - hi.start;
    hi.start = addr;
    if (hi.kind == VMA_FILE) {
        hi.src_pa += d;
        hi.src_len = hi.src_len > d ? hi.src_len - d : 0;
    }
    vmas[i].end = addr;
    if (vmas[i].kind == VMA_FILE)
        vmas[i].src_len = MIN(vmas[i].src_len, d);
    return insert_at(i + 1, &hi);
}

void vm_init(void)
{
    nvma = 0;
}

/* Walks PTEs of [start, end), skipping absent tables; calls fn on each present or
 * PROT_NONE entry. */
static void for_each_pte(uint64_t start, uint64_t end, void (*fn)(uint64_t va, uint64_t *pte, void *),
                         void *arg)
{
    uint64_t va = start;
    while (va < end) {
        uint64_t *pte = pt_lookup(va, false);
        if (!pte) {
            va = ALIGN_UP(va + 1, 2ULL << 20); /* no page table here: skip 2 MiB */
            continue;
        }
        if (*pte & (PTE_P | PTE_PROTNONE))
            fn(va, pte, arg);
        va += PAGE_SIZE;
    }
}

static void drop_pte(uint64_t va, uint64_t *pte, void *arg)
{
    (void)arg;
    uint64_t pa = *pte & PTE_ADDR;
    if (page_is_ram(pa))
        page_free(pa);
    *pte = 0;
    pt_flush(va);
}

int vm_unmap(uint64_t start, uint64_t len)
{
    uint64_t end = start + len;
    int r;
    if ((r = split_at(start)) < 0 || (r = split_at(end)) < 0)
        return r;
    int i = find_index(start);
    while (i < nvma && vmas[i].start < end) {
        for_each_pte(vmas[i].start, vmas[i].end, drop_pte, NULL);
        remove_at(i);
    }
    return 0;
}

static bool range_free(uint64_t start, uint64_t end)
{
    int i = find_index(start);
    return i >= nvma || vmas[i].start >= end;
}

int vm_map_fixed(const struct vma *v)
{
    if (!range_free(v->start, v->end))
        return -EEXIST;
    int i = find_index(v->start);
    if (v->kind == VMA_ANON) {
        if (i > 0 && mergeable(&vmas[i - 1], v)) {
            vmas[i - 1].end = v->end;
            if (i < nvma && mergeable(&vmas[i - 1], &vmas[i])) {
                vmas[i - 1].end = vmas[i].end;
                remove_at(i);
            }
            return 0;
        }
        if (i < nvma && mergeable(v, &vmas[i])) {
            vmas[i].start = v->start;
            return 0;
        }
    }
    return insert_at(i, v);
}

#define MMAP_TOP 0x7fff00000000ULL
#define MMAP_BOTTOM 0x10000ULL

uint64_t vm_unmapped_area(uint64_t len, uint64_t hint)
{
    if (hint && hint + len > hint && hint + len <= USER_TOP && hint >= MMAP_BOTTOM &&
        range_free(hint, hint + len))
        return hint;
    /* Top-down first fit below MMAP_TOP. */
    uint64_t top = MMAP_TOP;
    int i = find_index(top - 1);
    if (i >= nvma || vmas[i].start >= top)
        i--; /* i: the last VMA that starts below top */
    for (; i >= -1; i--) {
        uint64_t lo = i >= 0 ? vmas[i].end : MMAP_BOTTOM;
        uint64_t hi = top;
        if (i + 1 < nvma && vmas[i + 1].start < hi)
            hi = vmas[i + 1].start;
        if (hi > lo && hi - lo >= len)
            return hi - len;
        if (i >= 0)
            top = MIN(top, vmas[i].start);
    }
    return 0;
}

static uint64_t pte_bits(uint32_t prot)
{
    if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
        return PTE_PROTNONE;
    return PTE_P | ((prot & PROT_WRITE) ? PTE_W : 0) | ((prot & PROT_EXEC) ? 0 : PTE_NX);
}

/* Fills the page at va for the VMA; -ENOMEM when RAM is exhausted. */
static int populate(struct vma *v, uint64_t va, uint64_t *pte)
{
    uint64_t pa;
    if (v->kind == VMA_FILE) {
        uint64_t off = va - v->start;
        if (v->shared_src && !(v->prot & PROT_WRITE) && off + PAGE_SIZE <= v->src_len &&
            ((v->src_pa + off) & (PAGE_SIZE - 1)) == 0) {
            *pte = (v->src_pa + off) | pte_bits(v->prot);
            return 0;
        }
        pa = page_alloc();
        if (!pa)
            return -ENOMEM;
        if (off < v->src_len)
            memcpy(PHYS_TO_VIRT(pa), PHYS_TO_VIRT(v->src_pa + off), MIN(PAGE_SIZE, v->src_len - off));
    } else {
        pa = page_alloc();
        if (!pa)
            return -ENOMEM;
    }
    *pte = pa | pte_bits(v->prot);
    return 0;
}

int vm_fault_at(uint64_t va, bool write, bool exec)
{
    if (va >= USER_TOP)
        return -EFAULT;
    struct vma *v = find_vma(va);
    if (!v)
        return -EFAULT;
    if ((write && !(v->prot & PROT_WRITE)) || (exec && !(v->prot & PROT_EXEC)) ||
        !(v->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
        return -EACCES;
    uint64_t page = ALIGN_DOWN(va, PAGE_SIZE);
    uint64_t *pte = pt_lookup(page, true);
    if (!pte)
        return -ENOMEM;
    if (*pte & PTE_P)
        return -EACCES; /* present, yet the access faulted: a protection fault */
    return populate(v, page, pte);
}

int vm_page_kaddr(uint64_t va, void **kaddr)
{
    struct vma *v = find_vma(va);
    if (!v)
        return -EFAULT;
    uint64_t page = ALIGN_DOWN(va, PAGE_SIZE);
    uint64_t *pte = pt_lookup(page, true);
    if (!pte)
        return -ENOMEM;
    if (!(*pte & (PTE_P | PTE_PROTNONE))) {
        int r = populate(v, page, pte);
        if (r < 0)
            return r;
    }
    *kaddr = PHYS_TO_VIRT(*pte & PTE_ADDR);
    return 0;
}

int user_check(const void *addr, uint64_t len, bool write)
{
    uint64_t a = (uint64_t)addr;
    if (len == 0)
        return 0;
    if (a >= USER_TOP || len > USER_TOP - a)
        return -EFAULT;
    uint64_t end = a + len;
    int i = find_index(a);
    while (a < end) {
        if (i >= nvma || vmas[i].start > a)
            return -EFAULT;
        uint32_t p = vmas[i].prot;
        if (write ? !(p & PROT_WRITE) : !(p & (PROT_READ | PROT_WRITE | PROT_EXEC)))
            return -EFAULT;
        a = vmas[i].end;
        i++;
    }
    return 0;
}

int64_t user_strlen(const char *s, uint64_t max)
{
    uint64_t a = (uint64_t)s;
    uint64_t n = 0;
    while (n < max) {
        uint64_t va = a + n;
        struct vma *v = va < USER_TOP ? find_vma(va) : NULL;
        if (!v || !(v->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
            return -EFAULT;
        uint64_t chunk = MIN(v->end - va, max - n);
        const char *z = memchr(s + n, 0, chunk);
        if (z)
            return n + (z - (s + n));
        n += chunk;
    }
    return -ENAMETOOLONG;
}

int buf_segments(const void *buf, uint64_t len, bool write, struct uh_seg *segs, int max,
                 uint64_t *covered)
{
    uint64_t va = (uint64_t)buf, done = 0;
    int n = 0;
    while (done < len) {
        uint64_t pa;
        if (va < USER_TOP) {
            uint64_t *pte = pt_lookup(ALIGN_DOWN(va, PAGE_SIZE), false);
            if (!pte || !(*pte & PTE_P)) {
                int r = vm_fault_at(va, write, false);
                if (r < 0)
                    return r == -ENOMEM ? r : -EFAULT;
                pte = pt_lookup(ALIGN_DOWN(va, PAGE_SIZE), false);
            }
            pa = (*pte & PTE_ADDR) | (va & (PAGE_SIZE - 1));
        } else {
            pa = virt_to_phys((void *)va);
        }
        uint64_t chunk = MIN(PAGE_SIZE - (va & (PAGE_SIZE - 1)), len - done);
        if (n > 0 && segs[n - 1].gpa + segs[n - 1].len == pa) {
            segs[n - 1].len += chunk;
        } else {
            if (n == max)
                break;
            segs[n].gpa = pa;
            segs[n].len = chunk;
            n++;
        }
        va += chunk;
        done += chunk;
    }
    *covered = done;
    return n;
}

/* ---- brk ---------------------------------------------------------------- */

static uint64_t brk_base, brk_cur;

void vm_set_brk_base(uint64_t base)
{
    brk_base = brk_cur = ALIGN_UP(base, PAGE_SIZE);
}

int64_t sys_brk(uint64_t want)
{
    if (want < brk_base)
        return brk_cur;
    uint64_t old_end = ALIGN_UP(brk_cur, PAGE_SIZE), new_end = ALIGN_UP(want, PAGE_SIZE);
    if (new_end > old_end) {
        if (new_end > MMAP_TOP || !range_free(old_end, new_end) ||
            (new_end - old_end) / PAGE_SIZE > page_free_count())
            return brk_cur;
        struct vma v = {.start = old_end, .end = new_end, .prot = PROT_READ | PROT_WRITE,
                        .kind = VMA_ANON};
        if (vm_map_fixed(&v) < 0)
            return brk_cur;
    } else if (new_end < old_end) {
        vm_unmap(new_end, old_end - new_end);
    }
    brk_cur = want;
    return brk_cur;
}

/* ---- mmap family --------------------------------------------------------- */

#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_NORESERVE 0x4000
#define MAP_POPULATE 0x8000
#define MAP_FIXED_NOREPLACE 0x100000
#define MAP_KNOWN (MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | \
                   MAP_FIXED_NOREPLACE | 0x100 /* GROWSDOWN */ | 0x800 /* DENYWRITE */ |    \
                   0x1000 /* EXECUTABLE */ | 0x2000 /* LOCKED */ | 0x10000 /* NONBLOCK */ |  \
                   0x20000 /* STACK */ | 0x40000 /* HUGETLB */ | 0x80000 /* SYNC */)

/* Supplied by the file layer: where a file's bytes live for a private mapping. */
int file_mmap_source(int fd, uint64_t off, uint64_t len, bool shared_write, struct vma *v);
int file_mmap_fill(int fd, uint64_t off, uint64_t start, uint64_t len);

int64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int fd,
                 uint64_t off)
{
    uint32_t type = flags & MAP_TYPE;
    if (len == 0 || (off & (PAGE_SIZE - 1)) || prot & ~7ULL)
        return -EINVAL;
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_KNOWN))
        return -EOPNOTSUPP;
    uint64_t plen = ALIGN_UP(len, PAGE_SIZE);
    if (plen < len || plen > USER_TOP)
        return -ENOMEM;
    struct vma v = {.prot = prot, .kind = VMA_ANON};
    bool fill = false;
    if (!(flags & MAP_ANONYMOUS)) {
        int r = file_mmap_source(fd, off, plen, type != MAP_PRIVATE && (prot & PROT_WRITE), &v);
        if (r < 0)
            return r;
        fill = r == 1;
        v.prot = prot;
    }
    bool writable_private = (prot & PROT_WRITE) && !(flags & MAP_NORESERVE);
    if ((v.kind == VMA_ANON || writable_private) && plen / PAGE_SIZE > page_free_count())
        return -ENOMEM;
    uint64_t start;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr & (PAGE_SIZE - 1))
            return -EINVAL;
        if (addr + plen < addr || addr + plen > USER_TOP || addr < PAGE_SIZE)
            return -ENOMEM;
        if (!range_free(addr, addr + plen)) {
            if (!(flags & MAP_FIXED))
                return -EEXIST;
            int r = vm_unmap(addr, plen);
            if (r < 0)
                return r;
        }
        start = addr;
    } else {
        start = vm_unmapped_area(plen, ALIGN_DOWN(addr, PAGE_SIZE));
        if (!start)
            return -ENOMEM;
    }
    v.start = start;
    v.end = start + plen;
    int r = vm_map_fixed(&v);
    if (r < 0)
        return r;
    if (fill && (r = file_mmap_fill(fd, off, start, plen)) < 0) {
        vm_unmap(start, plen);
        return r;
    }
    return start;
}

int64_t sys_munmap(uint64_t addr, uint64_t len)
{
    if ((addr & (PAGE_SIZE - 1)) || len == 0)
        return -EINVAL;
    uint64_t plen = ALIGN_UP(len, PAGE_SIZE);
    if (addr >= USER_TOP || plen > USER_TOP - addr)
        return -EINVAL;
    return vm_unmap(addr, plen);
}

static bool range_mapped(uint64_t start, uint64_t end)
{
    int i = find_index(start);
    uint64_t a = start;
    while (a < end) {
        if (i >= nvma || vmas[i].start > a)
            return false;
        a = vmas[i].end;
        i++;
    }
    return true;
}

static void reprotect_pte(uint64_t va, uint64_t *pte, void *arg)
{
    uint32_t prot = *(uint32_t *)arg;
    uint64_t pa = *pte & PTE_ADDR;
    if ((prot & PROT_WRITE) && !page_is_ram(pa)) {
        /* An image page becomes writable: give this mapping its own copy. */
        uint64_t copy = page_alloc();
        if (!copy) {
            *pte = 0; /* refault later (and report memory exhaustion then) */
            pt_flush(va);
            return;
        }
        memcpy(PHYS_TO_VIRT(copy), PHYS_TO_VIRT(pa), PAGE_SIZE);
        pa = copy;
    }
    *pte = pa | pte_bits(prot);
    pt_flush(va);
}

int64_t sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
    if (addr & (PAGE_SIZE - 1))
        return -EINVAL;
    prot &= ~0x03000000ULL; /* PROT_GROWSDOWN/UP */
    if (prot & ~7ULL)
        return -EINVAL;
    uint64_t plen = ALIGN_UP(len, PAGE_SIZE);
    if (plen == 0)
        return 0;
    if (addr >= USER_TOP || plen > USER_TOP - addr)
        return -ENOMEM;
    uint64_t end = addr + plen;
    if (!range_mapped(addr, end))
        return -ENOMEM;
    int r;
    if ((r = split_at(addr)) < 0 || (r = split_at(end)) < 0)
        return r;
    uint32_t p = prot;
    for (int i = find_index(addr); i < nvma && vmas[i].start < end; i++) {
        vmas[i].prot = p;
        for_each_pte(vmas[i].start, vmas[i].end, reprotect_pte, &p);
    }
    return 0;
}

struct move_arg {
    int64_t delta;
};

static void move_pte(uint64_t va, uint64_t *pte, void *arg)
{
    struct move_arg *m = arg;
    uint64_t *dst = pt_lookup(va + m->delta, true);
    if (dst) {
        *dst = *pte;
    } else if (page_is_ram(*pte & PTE_ADDR)) {
        page_free(*pte & PTE_ADDR); /* no memory for a page table: the data is lost */
    }
    *pte = 0;
    pt_flush(va);
}

#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2

int64_t sys_mremap(uint64_t old, uint64_t oldlen, uint64_t newlen, uint64_t flags,
                   uint64_t new_addr)
{
    if ((old & (PAGE_SIZE - 1)) || (flags & ~3ULL) ||
        ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
        return -EINVAL;
    oldlen = ALIGN_UP(oldlen, PAGE_SIZE);
    uint64_t plen = ALIGN_UP(newlen, PAGE_SIZE);
    if (plen == 0 || plen < newlen || oldlen == 0)
        return -EINVAL;
    if (old >= USER_TOP || oldlen > USER_TOP - old || plen > USER_TOP)
        return -EFAULT;
    struct vma *v = find_vma(old);
    if (!v || v->end < old + oldlen)
        return -EFAULT;
    if (flags & MREMAP_FIXED) {
        if ((new_addr & (PAGE_SIZE - 1)) || new_addr + plen > USER_TOP || new_addr + plen < new_addr)
            return -EINVAL;
        if (new_addr < old + oldlen && old < new_addr + plen)
            return -EINVAL;
    }
    if (!(flags & MREMAP_FIXED)) {
        if (plen <= oldlen) {
            if (plen < oldlen)
                vm_unmap(old + plen, oldlen - plen);
            return old;
        }
        if (v->end == old + oldlen && range_free(old + oldlen, old + plen) &&
            old + plen <= MMAP_TOP) {
            if (v->kind == VMA_ANON && (plen - oldlen) / PAGE_SIZE > page_free_count())
                return -ENOMEM;
            v->end = old + plen;
            int i = find_index(old);
            if (i + 1 < nvma && mergeable(&vmas[i], &vmas[i + 1])) {
                vmas[i].end = vmas[i + 1].end;
                remove_at(i + 1);
            }
            return old;
        }
        if (!(flags & MREMAP_MAYMOVE))
            return -ENOMEM;
    }
    /* Move: the pages travel by PTE, their contents are not copied. */
    int r;
    if ((r = split_at(old)) < 0 || (r = split_at(old + oldlen)) < 0)
        return r;
    v = find_vma(old);
    struct vma moved = *v;
    uint64_t dest;
    if (flags & MREMAP_FIXED) {
        vm_unmap(new_addr, plen);
        dest = new_addr;
    } else {
        dest = vm_unmapped_area(plen, 0);
        if (!dest)
            return -ENOMEM;
    }
    uint64_t keep = MIN(oldlen, plen);
    struct move_arg m = {.delta = (int64_t)(dest - old)};
    for_each_pte(old, old + keep, move_pte, &m);
    vm_unmap(old, oldlen);
    moved.start = dest;
    moved.end = dest + plen;
    if (moved.kind == VMA_FILE && moved.src_len > plen)
        moved.src_len = plen;
    r = vm_map_fixed(&moved);
    return r < 0 ? r : (int64_t)dest;
}

#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_REMOVE 9

int64_t sys_madvise(uint64_t addr, uint64_t len, int advice)
{
    if (addr & (PAGE_SIZE - 1))
        return -EINVAL;
    uint64_t plen = ALIGN_UP(len, PAGE_SIZE);
    if (plen < len || addr >= USER_TOP || plen > USER_TOP - addr)
        return -EINVAL;
    if (plen == 0)
        return 0;
    if (!range_mapped(addr, addr + plen))
        return -ENOMEM;
    if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
        for_each_pte(addr, addr + plen, drop_pte, NULL);
    else if (advice > 100)
        return -EINVAL;
    return 0;
}
