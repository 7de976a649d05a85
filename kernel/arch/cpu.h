/*
 * cpu.h — x86-64 definitions shared by the kernel's C and assembly: the register
 * frame every entry path builds, the per-CPU block at %gs, MSRs and small
 * instruction wrappers. Kernel and application both run in ring 0 in one address
 * space; "user" means "the application", which lives in the lower half.
 */
#ifndef UK_CPU_H
#define UK_CPU_H

/* Per-CPU block, addressed through %gs (the application never uses %gs). */
#define PERCPU_KSTACK 0   /* top of the kernel stack */
#define PERCPU_USER_RSP 8 /* scratch: the application's rsp at syscall entry */
#define PERCPU_IN_KERNEL 16

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

/* Frame layout, see struct regs (15 GPRs, vector, err, 5 words of iret frame). */
#define REGS_SIZE (22 * 8)
#define REGS_RIP (17 * 8)

#ifndef __ASSEMBLER__
#include <stdint.h>

struct regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, err;
    uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct regs) == REGS_SIZE, "frame layout");

struct percpu {
    uint64_t kstack_top;
    uint64_t user_rsp;
    uint64_t in_kernel;
};

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
                         uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

void cpu_init(uint64_t kstack_top);
void cpu_set_fs(uint64_t base);
uint64_t cpu_get_fs(void);
extern uint32_t cpu_xsave_size; /* bytes for the FPU/vector state in a signal frame */
void fpu_save(void *area);      /* area: 64-byte aligned, cpu_xsave_size bytes */
void fpu_restore(const void *area);

/* entry.S */
void syscall_entry(void);
__attribute__((noreturn)) void return_to_user(struct regs *r);
extern char exception_stubs[];

/* trap.c */
void trap_handler(struct regs *r, int from_app);
#endif

#endif
