/*
 * mm.h — memory: physical frames, page tables, the kernel heap, and the
 * application's address space (VMAs, mmap family, demand paging).
 *
 * Virtual layout:
 *   0 .. 0x7fffffffffff       the application (ELF at its link address, brk, mmap
 *                             area below the stack, stack at the top)
 *   0xffff800000000000 + pa   physmap: all RAM and the read-only image
 *   0xffffc00000000000 ..     kernel heap for large blocks (page by page)
 *   0xffffffff80000000 + pa   the kernel image
 */
#ifndef UK_MM_H
#define UK_MM_H

#include "klib.h"
#include "uigniter/hypercall.h"

#define PHYS_TO_VIRT(pa) ((void *)(UH_PHYSMAP_BASE + (uint64_t)(pa)))
#define USER_TOP 0x800000000000ULL
#define VMALLOC_BASE 0xffffc00000000000ULL

/* Page table entry bits. */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_PS (1ULL << 7)
#define PTE_PROTNONE (1ULL << 9) /* software: a PROT_NONE page, frame kept, P clear */
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

/* Physical frames (page.c). Frames from page_alloc() are zeroed. */
void page_init(const struct uh_bootinfo *bi);
uint64_t page_alloc(void); /* 0 when memory is exhausted */
void page_free(uint64_t pa);
uint64_t page_free_count(void);
uint64_t page_total_count(void);
bool page_is_ram(uint64_t pa);

/* Page tables (pt.c). */
void pt_init(uint64_t pml4_pa);
uint64_t *pt_lookup(uint64_t va, bool create); /* the 4 KiB leaf entry; NULL if absent */
uint64_t virt_to_phys(const void *va);
void pt_flush(uint64_t va);

/* Kernel heap for large blocks (kmalloc.c). */
void *vmalloc_pages(uint64_t npages);
void vmalloc_free(void *p, uint64_t npages);

/* The application's address space (vm.c). */
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4

enum vma_kind { VMA_ANON, VMA_FILE };
struct vma {
    uint64_t start, end;
    uint32_t prot;
    uint32_t kind;
    /* VMA_FILE: pages copy from (or, when read-only and page-aligned in the image,
     * map) `src_pa + (va - start)`, up to src_len bytes; the rest reads as zero. */
    uint64_t src_pa;
    uint64_t src_len;
    bool shared_src; /* the source pages may be mapped directly when not writable */
};

void vm_init(void);
/* Creates a mapping at exactly [start, end) (no overlap allowed). */
int vm_map_fixed(const struct vma *v);
/* Fills the page at va on first touch: 0, -ENOMEM, or a real fault (SIGSEGV):
 * -EFAULT where nothing is mapped, -EACCES where the mapping forbids the access. */
int vm_fault_at(uint64_t va, bool write, bool exec);
/* Checks that [addr, addr+len) is application memory mapped with the access wanted;
 * -EFAULT otherwise (kernel addresses included). */
int user_check(const void *addr, uint64_t len, bool write);
/* Checks a NUL-terminated user string of at most max bytes; returns its length. */
int64_t user_strlen(const char *s, uint64_t max);
/* Guest-physical segments of a checked, populated user or kernel buffer. */
int buf_segments(const void *buf, uint64_t len, bool write, struct uh_seg *segs, int max,
                 uint64_t *covered);
void vm_set_brk_base(uint64_t base);
/* The kernel's address of the page at user va, populated whatever its protection. */
int vm_page_kaddr(uint64_t va, void **kaddr);
uint64_t vm_unmapped_area(uint64_t len, uint64_t hint);
int vm_unmap(uint64_t start, uint64_t len);

#endif
