/*
 * cpu.c — puts the CPU into the state the kernel and the application expect:
 * our own GDT and TSS (IST stacks for exceptions), an IDT for the 32 exception
 * vectors, the `syscall` MSRs, the per-CPU block at %gs, and the FPU with
 * SSE/AVX enabled for the application (XCR0).
 *
 * There are no interrupts at all (no APIC, IF stays 0): the kernel only runs when
 * the application makes a system call or faults.
 */
#include "cpu.h"
#include "klib.h"

#define IST_SIZE 8192

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_entry {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
} __attribute__((packed));

struct descptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static uint64_t gdt[5];
static struct tss tss;
static struct idt_entry idt[32];
static struct percpu percpu;
static uint8_t ist_fault[IST_SIZE] __attribute__((aligned(16)));
static uint8_t ist_double[IST_SIZE] __attribute__((aligned(16)));
uint32_t cpu_xsave_size = 512;
static bool have_xsave;
static uint64_t xsave_mask;

static void load_gdt(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffffULL; /* 64-bit code, DPL 0 */
    gdt[2] = 0x00cf93000000ffffULL; /* data */
    uint64_t base = (uint64_t)&tss, limit = sizeof tss - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
    struct descptr p = {sizeof gdt - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0\n"
                     "pushq $0x08\n"
                     "leaq 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "lretq\n"
                     "1:\n"
                     "movl $0x10, %%eax\n"
                     "movl %%eax, %%ds\n"
                     "movl %%eax, %%es\n"
                     "movl %%eax, %%ss\n"
                     "movl %%eax, %%fs\n"
                     "movl %%eax, %%gs\n"
                     "movw $0x18, %%ax\n"
                     "ltr %%ax\n"
                     :
                     : "m"(p)
                     : "rax", "memory");
}

static void load_idt(void)
{
    for (int v = 0; v < 32; v++) {
        uint64_t h = (uint64_t)exception_stubs + 16 * v;
        idt[v].off_lo = h & 0xffff;
        idt[v].sel = KERNEL_CS;
        idt[v].ist = (v == 8 || v == 2 || v == 18) ? 2 : 1;
        idt[v].type = 0x8e; /* present, DPL 0, interrupt gate */
        idt[v].off_mid = (h >> 16) & 0xffff;
        idt[v].off_hi = h >> 32;
        idt[v].reserved = 0;
    }
    struct descptr p = {sizeof idt - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(p));
}

static void fpu_init(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    if ((c & (1u << 26)) && (cr4 & (1u << 18))) { /* XSAVE, and the monitor set OSXSAVE */
        uint32_t xa, xb, xc, xd;
        cpuid(0xd, 0, &xa, &xb, &xc, &xd);
        xsave_mask = 0x3 | (xa & 0x4); /* x87, SSE, and AVX when present */
        __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xsave_mask), "d"(0));
        cpuid(0xd, 0, &xa, &xb, &xc, &xd);
        cpu_xsave_size = xb; /* size for the features now enabled */
        have_xsave = true;
    }
    uint32_t mxcsr = 0x1f80;
    __asm__ volatile("fninit\n ldmxcsr %0" : : "m"(mxcsr));
}

void fpu_save(void *area)
{
    if (have_xsave)
        __asm__ volatile("xsave64 (%0)" : : "r"(area), "a"((uint32_t)xsave_mask), "d"(0)
                         : "memory");
    else
        __asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

void fpu_restore(const void *area)
{
    if (have_xsave)
        __asm__ volatile("xrstor64 (%0)" : : "r"(area), "a"((uint32_t)xsave_mask), "d"(0)
                         : "memory");
    else
        __asm__ volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}

void cpu_set_fs(uint64_t base)
{
    wrmsr(MSR_FS_BASE, base);
}

uint64_t cpu_get_fs(void)
{
    return rdmsr(MSR_FS_BASE);
}

void cpu_init(uint64_t kstack_top)
{
    tss.ist[0] = (uint64_t)ist_fault + IST_SIZE;
    tss.ist[1] = (uint64_t)ist_double + IST_SIZE;
    tss.iomap_base = sizeof tss;
    load_gdt();
    load_idt();
    percpu.kstack_top = kstack_top;
    wrmsr(MSR_GS_BASE, (uint64_t)&percpu);
    /* syscall: CS from STAR[47:32]; clear IF, DF, TF, AC, NT on entry. */
    wrmsr(MSR_STAR, (uint64_t)KERNEL_CS << 32);
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_SFMASK, 0x200 | 0x400 | 0x100 | 0x40000 | 0x4000);
    fpu_init();
}
