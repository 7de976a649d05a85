/*
 * kvm_x86_64.c — the KVM side of the monitor on x86-64: create the VM, register
 * guest memory, write the boot page tables, put the vCPU straight into 64-bit long
 * mode (no firmware, no real mode, no interrupt controller) and run it.
 *
 * Guest-physical layout (see uigniter/hypercall.h):
 *   0x1000 PML4, 0x2000 PDPT of the physmap, 0x3000 PDPT of the kernel window,
 *   0x8000 boot info and argument strings, 0x10000.. page directories,
 *   0x100000 uk.elf, then free RAM up to mem_size; the image as a read-only memslot
 *   at the first GiB boundary above RAM.
 * Guest RAM is MAP_NORESERVE and never cleared: untouched pages are zero and cost
 * nothing, so a 128 MiB guest that touches 1 MiB costs 1 MiB.
 */
#include "uvmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PML4_GPA 0x1000ULL
#define PDPT_PHYS_GPA 0x2000ULL
#define PDPT_KERN_GPA 0x3000ULL
#define PD_GPA 0x10000ULL
#define GIB (1ULL << 30)

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PS 0x80ULL

#define CR0_PE 0x1ULL
#define CR0_MP 0x2ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_WP 0x10000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define CR4_OSFXSR 0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL
#define CR4_FSGSBASE 0x10000ULL
#define CR4_OSXSAVE 0x40000ULL
#define EFER_SCE 0x1ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define EFER_NXE 0x800ULL

void *gpa_ptr_checked(struct vm *vm, uint64_t gpa, uint64_t len, bool readonly, const char *what)
{
    if (readonly && gpa >= vm->image_gpa && len <= vm->image_size &&
        gpa - vm->image_gpa <= vm->image_size - len)
        return (void *)(vm->image + (gpa - vm->image_gpa));
    if (len > vm->mem_size || gpa > vm->mem_size - len)
        vm_fatal("bad hypercall: %s: guest address 0x%llx length %llu lies outside guest "
                 "memory (%llu MiB)",
                 what, (unsigned long long)gpa, (unsigned long long)len,
                 (unsigned long long)(vm->mem_size >> 20));
    return vm->mem + gpa;
}

int kvm_open_vm(struct vm *vm)
{
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        eprintf("uvmm: cannot open /dev/kvm: %s%s\n", strerror(errno),
                errno == ENOENT ? " (this machine offers no hardware virtualisation)" : "");
        return -1;
    }
    int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        eprintf("uvmm: /dev/kvm speaks API %d, want %d\n", version, KVM_API_VERSION);
        return -1;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        eprintf("uvmm: KVM_CREATE_VM: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int kvm_setup_memory(struct vm *vm)
{
    vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->mem == MAP_FAILED) {
        eprintf("uvmm: cannot map %llu MiB of guest memory: %s\n",
                (unsigned long long)(vm->mem_size >> 20), strerror(errno));
        return -1;
    }
    madvise(vm->mem, vm->mem_size, MADV_MERGEABLE);
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = vm->mem_size,
        .userspace_addr = (uint64_t)vm->mem,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        eprintf("uvmm: KVM_SET_USER_MEMORY_REGION (RAM): %s\n", strerror(errno));
        return -1;
    }
    vm->image_gpa = (vm->mem_size + GIB - 1) & ~(GIB - 1);
    return 0;
}

/* Maps the image (already mmap'ed read-only by image.c) as a read-only memslot. */
int kvm_map_image(struct vm *vm)
{
    uint64_t size = (vm->image_size + 4095) & ~4095ULL;
    struct kvm_userspace_memory_region region = {
        .slot = 1,
        .flags = KVM_MEM_READONLY,
        .guest_phys_addr = vm->image_gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)vm->image,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        eprintf("uvmm: KVM_SET_USER_MEMORY_REGION (image): %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static uint64_t *pt_page(struct vm *vm, uint64_t gpa)
{
    return (uint64_t *)(vm->mem + gpa);
}

/* Physmap: every 2 MiB of RAM and image at UH_PHYSMAP_BASE + gpa; the first GiB also
 * at UH_KERNEL_BASE, where uk.elf runs. */
void kvm_build_page_tables(struct vm *vm, struct uh_bootinfo *bi)
{
    uint64_t top = vm->image_gpa + vm->image_size;
    uint64_t ngib = (top + GIB - 1) / GIB;
    if (PD_GPA + ngib * 4096 > UH_KERNEL_GPA)
        vm_fatal("guest memory plus image is too large to map (%llu GiB)",
                 (unsigned long long)ngib);
    uint64_t *pml4 = pt_page(vm, PML4_GPA);
    uint64_t *pdpt_phys = pt_page(vm, PDPT_PHYS_GPA);
    uint64_t *pdpt_kern = pt_page(vm, PDPT_KERN_GPA);
    pml4[256] = PDPT_PHYS_GPA | PTE_P | PTE_W;
    pml4[511] = PDPT_KERN_GPA | PTE_P | PTE_W;
    pdpt_kern[510] = PD_GPA | PTE_P | PTE_W;
    for (uint64_t g = 0; g < ngib; g++) {
        uint64_t *pd = pt_page(vm, PD_GPA + g * 4096);
        pdpt_phys[g] = (PD_GPA + g * 4096) | PTE_P | PTE_W;
        for (uint64_t e = 0; e < 512; e++) {
            uint64_t pa = g * GIB + e * (2ULL << 20);
            bool ram = pa < vm->mem_size;
            bool img = pa + (2ULL << 20) > vm->image_gpa && pa < top;
            if (ram || img)
                pd[e] = pa | PTE_P | PTE_W | PTE_PS;
        }
    }
    bi->pml4 = gpa_make(PML4_GPA);
    bi->reserved_end = PD_GPA + ngib * 4096;
}

static void set_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
    memset(s, 0, sizeof *s);
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->s = 1;
    s->l = code;
    s->db = !code;
    s->g = 1;
}

static int setup_cpuid(struct vm *vm, bool *xsave, bool *fsgsbase)
{
    int n = 100;
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + n * sizeof(struct kvm_cpuid_entry2));
    if (!cpuid)
        return -1;
    cpuid->nent = n;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
        eprintf("uvmm: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
        free(cpuid);
        return -1;
    }
    *xsave = *fsgsbase = false;
    for (unsigned i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function == 1) {
            e->ecx |= 1u << 31; /* running under a hypervisor */
            *xsave = e->ecx & (1u << 26);
        } else if (e->function == 7 && e->index == 0) {
            *fsgsbase = e->ebx & 1;
        }
    }
    int r = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid);
    if (r < 0)
        eprintf("uvmm: KVM_SET_CPUID2: %s\n", strerror(errno));
    free(cpuid);
    return r;
}

int kvm_setup_vcpu(struct vm *vm, uint64_t entry, uint64_t bootinfo_gpa)
{
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0) {
        eprintf("uvmm: KVM_CREATE_VCPU: %s\n", strerror(errno));
        return -1;
    }
    int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz <= 0) {
        eprintf("uvmm: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
        return -1;
    }
    vm->run_size = sz;
    vm->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (vm->run == MAP_FAILED) {
        eprintf("uvmm: cannot map the vCPU state: %s\n", strerror(errno));
        return -1;
    }
    bool xsave, fsgsbase;
    if (setup_cpuid(vm, &xsave, &fsgsbase) < 0)
        return -1;

    struct kvm_sregs sregs;
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
        eprintf("uvmm: KVM_GET_SREGS: %s\n", strerror(errno));
        return -1;
    }
    set_segment(&sregs.cs, 0x08, 0xb, true);
    set_segment(&sregs.ds, 0x10, 0x3, false);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.cr3 = PML4_GPA;
    sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (xsave ? CR4_OSXSAVE : 0) |
                (fsgsbase ? CR4_FSGSBASE : 0);
    sregs.efer = EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0) {
        eprintf("uvmm: KVM_SET_SREGS: %s\n", strerror(errno));
        return -1;
    }
    struct kvm_regs regs = {
        .rip = entry,
        .rdi = bootinfo_gpa,
        .rflags = 0x2,
    };
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
        eprintf("uvmm: KVM_SET_REGS: %s\n", strerror(errno));
        return -1;
    }
    int khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
    if (khz <= 0) {
        eprintf("uvmm: KVM_GET_TSC_KHZ: %s\n", strerror(errno));
        return -1;
    }
    vm->tsc_khz = khz;
    return 0;
}

__attribute__((noreturn)) static void report_cpu_state(struct vm *vm, const char *what)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) == 0 &&
        ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) == 0)
        vm_fatal("%s (rip 0x%llx, rsp 0x%llx, cr2 0x%llx)", what, (unsigned long long)regs.rip,
                 (unsigned long long)regs.rsp, (unsigned long long)sregs.cr2);
    vm_fatal("%s", what);
}

void kvm_run_loop(struct vm *vm)
{
    struct kvm_run *run = vm->run;
    for (;;) {
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                host_signals_take();
            if (errno == EINTR || errno == EAGAIN)
                continue;
            vm_fatal("KVM_RUN: %s", strerror(errno));
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
                vm_fatal("bad hypercall: %s of %u bytes at port 0x%x",
                         run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read", run->io.size,
                         run->io.port);
            hypercall_dispatch(vm, run->io.port,
                               *(uint32_t *)((uint8_t *)run + run->io.data_offset));
            break;
        case KVM_EXIT_HLT:
            report_cpu_state(vm, "guest halted");
        case KVM_EXIT_SHUTDOWN:
            report_cpu_state(vm, "guest triple fault");
        case KVM_EXIT_MMIO:
            vm_fatal("guest %s unbacked guest-physical address 0x%llx",
                     run->mmio.is_write ? "wrote to" : "read from",
                     (unsigned long long)run->mmio.phys_addr);
        case KVM_EXIT_FAIL_ENTRY:
            vm_fatal("KVM could not enter the guest (hardware reason 0x%llx)",
                     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            report_cpu_state(vm, "KVM internal error in the guest");
        default:
            report_cpu_state(vm, "unexpected exit from the guest");
        }
    }
}
