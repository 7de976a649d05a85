/*
 * elf_parse.h — validating reader of the application's ELF headers.
 *
 * Pure freestanding C (no libc, no allocation, no globals): the kernel, host tests
 * and a libFuzzer target all run this same code on untrusted bytes.
 */
#ifndef UK_ELF_PARSE_H
#define UK_ELF_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGS 16
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

struct elf_seg {
    uint64_t vaddr, memsz; /* unbiased */
    uint64_t offset, filesz;
    uint32_t flags;        /* ELF_PF_* */
};

struct elf_info {
    uint64_t entry;        /* unbiased */
    uint64_t phdr_vaddr;   /* where the program headers are in memory (unbiased) */
    uint16_t phnum, phentsize;
    int pie;               /* ET_DYN: load at any page-aligned base */
    int nseg;
    struct elf_seg segs[ELF_MAX_SEGS];
    uint64_t lo, hi;       /* page-aligned span of all PT_LOADs */
    uint64_t tls_memsz, tls_align;
    int exec_stack;
};

/* Validates data[0..size) as a static x86-64 executable. Returns 0 or -1 with *why. */
int elf_parse(const uint8_t *data, uint64_t size, uint64_t max_vaddr, struct elf_info *out,
              const char **why);

#endif
