/*
 * pvhstub.S — the smallest guest QEMU's microvm machine boots: a 32-bit ELF whose
 * XEN_ELFNOTE_PHYS32_ENTRY note gives the PVH entry point. The firmware (qboot)
 * enters `start` in 32-bit protected mode with paging off; the stub writes 21 to
 * isa-debug-exit at port 0xf4 (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`),
 * which ends QEMU with status (21 << 1) | 1 = 43. bench/boot times that whole QEMU
 * process: the cost of a general-purpose VMM booting nothing at all.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                         /* name size: "Xen\0" */
    .long 4                         /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long start

    .text
    .code32
    .globl start
start:
    mov $21, %al                    /* QEMU exits with (21 << 1) | 1 = 43 */
    outb %al, $0xf4
1:  hlt
    jmp 1b
