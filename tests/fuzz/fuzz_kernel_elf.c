/*
 * fuzz_kernel_elf.c — libFuzzer target for the monitor's loader of uk.elf.
 *
 * uvmm reads the kernel file given with --kernel; a corrupt or hostile file must be
 * refused with a message, never make the monitor read or write outside the file
 * or guest memory. The input goes through a memfd into the real loader with 4 MiB
 * of guest memory.
 */
// fuzz-sources: vmm/elf_kernel.c
#include "../../vmm/uvmm.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void eprintf(const char *fmt, ...)
{
    (void)fmt; /* the loader's one-line refusals are not interesting here */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *mem;
    enum { MEM = 4 << 20 };
    if (!mem)
        mem = malloc(MEM);
    struct vm vm = {.mem = mem, .mem_size = MEM};
    int fd = memfd_create("kernel", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size && kernel_load_fd(&vm, fd, "fuzz") == 0) {
        if (vm.kernel_end > MEM || vm.kernel_entry < UH_KERNEL_BASE + UH_KERNEL_GPA)
            __builtin_trap();
    }
    close(fd);
    return 0;
}
