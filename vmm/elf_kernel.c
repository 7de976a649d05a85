/*
 * elf_kernel.c — loads uk.elf into guest RAM.
 *
 * uk.elf is an ET_EXEC linked at UH_KERNEL_BASE + its physical load address; each
 * PT_LOAD is read from the file straight into guest RAM at p_paddr. Guest RAM
 * starts out zero, so BSS needs no clearing. The file is checked like any input:
 * bounds and overflow on every header field, segments inside RAM above the boot
 * area, the entry point inside a loaded segment.
 */
#include "uvmm.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PHDRS 32

static int bad(const char *path, const char *why)
{
    eprintf("uvmm: %s: not a usable uk.elf: %s\n", path, why);
    return -1;
}

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, off + done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += r;
    }
    return 0;
}

int kernel_load_fd(struct vm *vm, int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return bad(path, "not a regular file");
    uint64_t fsize = st.st_size;
    Elf64_Ehdr eh;
    if (fsize < sizeof eh || read_exact(fd, &eh, sizeof eh, 0) < 0)
        return bad(path, "too short for an ELF header");
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
        return bad(path, "not a 64-bit x86-64 ELF file");
    if (eh.e_type != ET_EXEC)
        return bad(path, "not an ELF executable (ET_EXEC)");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
        return bad(path, "bad program header table");
    if (eh.e_phoff > fsize || fsize - eh.e_phoff < (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))
        return bad(path, "program headers beyond the end of the file");
    Elf64_Phdr ph[MAX_PHDRS];
    if (read_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
        return bad(path, "cannot read program headers");

    uint64_t end = 0;
    bool entry_ok = false;
    for (int i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        if (p->p_filesz > p->p_memsz)
            return bad(path, "segment file size exceeds memory size");
        if (p->p_offset > fsize || fsize - p->p_offset < p->p_filesz)
            return bad(path, "segment beyond the end of the file");
        if (p->p_paddr < UH_KERNEL_GPA || p->p_memsz > UINT64_MAX - p->p_paddr)
            return bad(path, "segment outside the kernel's load area");
        if (p->p_vaddr != UH_KERNEL_BASE + p->p_paddr)
            return bad(path, "segment not linked at UH_KERNEL_BASE + its load address");
        uint64_t seg_end = p->p_paddr + p->p_memsz;
        if (seg_end > vm->mem_size) {
            eprintf("uvmm: uk.elf needs %llu KiB of guest memory; --mem %llu is too small\n",
                    (unsigned long long)(seg_end + 1023) / 1024,
                    (unsigned long long)(vm->mem_size >> 20));
            return -1;
        }
        if (p->p_filesz && read_exact(fd, vm->mem + p->p_paddr, p->p_filesz, p->p_offset) < 0)
            return bad(path, "cannot read a segment");
        if (eh.e_entry >= p->p_vaddr && eh.e_entry - p->p_vaddr < p->p_filesz)
            entry_ok = true;
        if (seg_end > end)
            end = seg_end;
    }
    if (!entry_ok)
        return bad(path, "entry point outside the loaded segments");
    vm->kernel_entry = eh.e_entry;
    vm->kernel_end = (end + 4095) & ~4095ULL;
    return 0;
}

int kernel_load(struct vm *vm, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        eprintf("uvmm: cannot open kernel %s: %s\n", path, strerror(errno));
        return -1;
    }
    int r = kernel_load_fd(vm, fd, path);
    close(fd);
    return r;
}
