/*
 * entry.S — every way into and out of the kernel.
 *
 * _start: the monitor enters here in long mode with %rdi = boot info (physical).
 * syscall_entry: the application's `syscall`. Both run in ring 0, so the CPU does
 *   not switch stacks: we save the application's rsp in the per-CPU block, move to
 *   the kernel stack before touching memory (the app's red zone stays intact), and
 *   build the same struct regs an exception builds.
 * Exceptions arrive on an IST stack (a fault in the app must not write below the
 *   app's rsp). A fault in the application is moved to the kernel stack, so the
 *   handler may itself fault (demand paging while it writes a signal frame).
 * return_to_user: restore a struct regs with iretq — also the way into the app at
 *   start and into signal handlers.
 */
#include "cpu.h"

    .section .text.boot, "ax"
    .globl _start
_start:
    cld
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    call kmain
1:  hlt
    jmp 1b

    .text
.macro PUSH_GPRS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro POP_GPRS
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
.endm

    .globl syscall_entry
syscall_entry:
    movq %rsp, %gs:PERCPU_USER_RSP
    movq %gs:PERCPU_KSTACK, %rsp
    pushq $KERNEL_DS
    pushq %gs:PERCPU_USER_RSP
    pushq %r11
    pushq $KERNEL_CS
    pushq %rcx
    pushq $0            /* err */
    pushq $0x100        /* vector: a system call */
    PUSH_GPRS
    movq $1, %gs:PERCPU_IN_KERNEL
    movq %rsp, %rdi
    call syscall_dispatch
    movq %rsp, %rdi
    jmp return_to_user

    .globl return_to_user
return_to_user:
    movq %rdi, %rsp
    movq $0, %gs:PERCPU_IN_KERNEL
    POP_GPRS
    addq $16, %rsp
    iretq

exception_common:
    cld
    PUSH_GPRS
    cmpq $0, %gs:PERCPU_IN_KERNEL
    jne 1f
    /* From the application: continue on the kernel stack. */
    movq %rsp, %rsi
    movq %gs:PERCPU_KSTACK, %rdi
    subq $REGS_SIZE, %rdi
    movq %rdi, %rsp
    movq $(REGS_SIZE / 8), %rcx
    rep movsq
    movq $1, %gs:PERCPU_IN_KERNEL
    movq %rsp, %rdi
    movl $1, %esi
    call trap_handler
    movq %rsp, %rdi
    jmp return_to_user
1:  /* From the kernel (demand paging of an application buffer): stay here. */
    movq %rsp, %rdi
    xorl %esi, %esi
    call trap_handler
    POP_GPRS
    addq $16, %rsp
    iretq

/* One 16-byte stub per vector 0..31: push a 0 error code where the CPU pushes none. */
.macro STUB vec
    .balign 16
.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    pushq $\vec
.else
    pushq $0
    pushq $\vec
.endif
    jmp exception_common
.endm

    .balign 16
    .globl exception_stubs
exception_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    STUB \v
.endr

    .bss
    .balign 16
    .space 16384
boot_stack_top:
