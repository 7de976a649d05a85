/*
 * elf_parse.c — see elf_parse.h. Every field the loader uses is bounds- and
 * overflow-checked here: segment file ranges inside the file, memory ranges inside
 * [0, max_vaddr), segments ascending and not overlapping, file offsets congruent
 * with addresses modulo the page size (so pages can map straight from the image).
 * A PT_INTERP means a dynamically linked program, which this kernel cannot run.
 */
#include "elf_parse.h"

#define PAGE 4096ULL
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PT_TLS 7
#define PT_GNU_STACK 0x6474e551
#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int fail(const char **why, const char *msg)
{
    *why = msg;
    return -1;
}

int elf_parse(const uint8_t *d, uint64_t size, uint64_t max_vaddr, struct elf_info *out,
              const char **why)
{
    if (size < 64)
        return fail(why, "too short for an ELF header");
    if (d[0] != 0x7f || d[1] != 'E' || d[2] != 'L' || d[3] != 'F')
        return fail(why, "not an ELF file");
    if (d[4] != 2 || d[5] != 1)
        return fail(why, "not a 64-bit little-endian ELF file");
    if (d[6] != 1)
        return fail(why, "unknown ELF version");
    uint16_t type = rd16(d + 16), machine = rd16(d + 18);
    if (machine != EM_X86_64)
        return fail(why, "not an x86-64 program");
    if (type != ET_EXEC && type != ET_DYN)
        return fail(why, "not an executable (ET_EXEC or ET_DYN)");
    uint64_t phoff = rd64(d + 32);
    uint16_t phentsize = rd16(d + 54), phnum = rd16(d + 56);
    if (phentsize != 56)
        return fail(why, "unexpected program header size");
    if (phnum == 0 || phnum > 128)
        return fail(why, "bad number of program headers");
    if (phoff > size || size - phoff < (uint64_t)phnum * 56)
        return fail(why, "program headers beyond the end of the file");

    out->entry = rd64(d + 24);
    out->pie = type == ET_DYN;
    out->phnum = phnum;
    out->phentsize = phentsize;
    out->nseg = 0;
    out->phdr_vaddr = 0;
    out->tls_memsz = out->tls_align = 0;
    out->exec_stack = 0;
    int have_phdr = 0;
    uint64_t prev_end = 0;
    for (int i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + (uint64_t)i * 56;
        uint32_t ptype = rd32(ph), flags = rd32(ph + 4);
        uint64_t off = rd64(ph + 8), vaddr = rd64(ph + 16), filesz = rd64(ph + 32),
                 memsz = rd64(ph + 40), align = rd64(ph + 48);
        if (ptype == PT_INTERP)
            return fail(why, "dynamically linked (has PT_INTERP); build it with -static");
        if (ptype == PT_PHDR) {
            out->phdr_vaddr = vaddr;
            have_phdr = 1;
        } else if (ptype == PT_TLS) {
            out->tls_memsz = memsz;
            out->tls_align = align;
        } else if (ptype == PT_GNU_STACK) {
            out->exec_stack = (flags & ELF_PF_X) != 0;
        }
        if (ptype != PT_LOAD)
            continue;
        if (memsz == 0)
            continue;
        if (out->nseg == ELF_MAX_SEGS)
            return fail(why, "too many loadable segments");
        if (filesz > memsz)
            return fail(why, "segment file size exceeds its memory size");
        if (off > size || size - off < filesz)
            return fail(why, "segment beyond the end of the file");
        if (vaddr >= max_vaddr || memsz > max_vaddr - vaddr)
            return fail(why, "segment outside the address space");
        if (align > 1 && (align & (align - 1)))
            return fail(why, "segment alignment is not a power of two");
        if ((vaddr - off) % PAGE)
            return fail(why, "segment offset and address differ modulo the page size");
        if (vaddr < prev_end)
            return fail(why, "segments overlap or are not in ascending order");
        prev_end = vaddr + memsz;
        struct elf_seg *s = &out->segs[out->nseg++];
        s->vaddr = vaddr;
        s->memsz = memsz;
        s->offset = off;
        s->filesz = filesz;
        s->flags = flags;
        if (!have_phdr && phoff >= off && phoff - off < filesz &&
            filesz - (phoff - off) >= (uint64_t)phnum * 56) {
            out->phdr_vaddr = vaddr + (phoff - off);
            have_phdr = 1;
        }
    }
    if (out->nseg == 0)
        return fail(why, "no loadable segments");
    if (!have_phdr)
        return fail(why, "program headers are not loaded into memory");
    out->lo = out->segs[0].vaddr & ~(PAGE - 1);
    uint64_t end = out->segs[out->nseg - 1].vaddr + out->segs[out->nseg - 1].memsz;
    if (end > max_vaddr - PAGE)
        return fail(why, "segment outside the address space");
    out->hi = (end + PAGE - 1) & ~(PAGE - 1);
    if (!out->pie && out->lo < 0x10000)
        return fail(why, "segment below 64 KiB (the null-pointer guard)");
    if (out->pie && out->hi - out->lo > (1ULL << 40))
        return fail(why, "program is too large");
    return 0;
}
