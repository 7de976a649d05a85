# uk.elf — the library OS. Freestanding, linked at -2 GiB (-mcmodel=kernel), no
# vector registers (the application owns SSE/AVX state), no red zone (exceptions
# run on the interrupted stack's neighbours), no stack protector (%fs is the app's).

KERNEL_SRCS := $(wildcard kernel/*.c kernel/*/*.c)
KERNEL_ASMS := $(wildcard kernel/*/*.S)
KERNEL_OBJS := $(KERNEL_SRCS:%.c=$(B)/obj/kernel/%.o) $(KERNEL_ASMS:%.S=$(B)/obj/kernel/%.o)
KERNEL_CFLAGS := -std=c11 $(WARN) -O2 -g -ffreestanding -fno-pie -fno-pic -mcmodel=kernel \
    -mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
    -fno-omit-frame-pointer -fno-tree-loop-distribute-patterns -Iinclude -Ikernel -Ikernel/lib \
    -Ikernel/fs -I$(B)/gen/kernel

# lwIP 2.1.3 from Debian's source package (make setup fetches it into build/deps/lwip),
# built with the kernel's flags; its own warnings are not ours to fix.
# Not timeouts.c: the kernel runs lwIP's timers itself (net/netdev.c).
LWIP_DIR := $(B)/deps/lwip/src
LWIP_SRCS := $(addprefix core/,init.c def.c inet_chksum.c ip.c mem.c memp.c netif.c pbuf.c \
    tcp.c tcp_in.c tcp_out.c udp.c ipv4/etharp.c ipv4/icmp.c ipv4/ip4.c \
    ipv4/ip4_addr.c ipv4/ip4_frag.c) netif/ethernet.c
LWIP_OBJS := $(LWIP_SRCS:%.c=$(B)/obj/kernel/lwip/%.o)
LWIP_CFLAGS := -Ikernel/net/lwip -Ikernel/net/compat -I$(LWIP_DIR)/include
KERNEL_OBJS += $(LWIP_OBJS)

$(B)/obj/kernel/kernel/net/%.o: KERNEL_CFLAGS += $(LWIP_CFLAGS)

$(B)/obj/kernel/lwip/%.o: $(LWIP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -Werror -Wextra,$(KERNEL_CFLAGS)) -w $(LWIP_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LWIP_DIR)/%.c:
	@echo "lwIP sources are missing in $(B)/deps/lwip: run make setup" >&2; exit 1

ALL += $(B)/uk.elf

$(B)/gen/kernel/syscall_names.h: /usr/include/x86_64-linux-gnu/asm/unistd_64.h
	@mkdir -p $(@D)
	{ echo '/* Generated from <asm/unistd_64.h>; do not edit. */'; \
	  echo 'static const char *const syscall_names[] = {'; \
	  sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$$/    [\2] = "\1",/p' $<; \
	  echo '};'; } > $@.tmp && mv $@.tmp $@

$(B)/obj/kernel/kernel/sys/syscall.o: $(B)/gen/kernel/syscall_names.h

$(B)/obj/kernel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(KERNEL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/obj/kernel/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(KERNEL_CFLAGS) $(DEPFLAGS) -D__ASSEMBLER__ -c $< -o $@

$(B)/uk.elf: $(KERNEL_OBJS) kernel/linker.ld
	$(LD) -nostdlib -static -z max-page-size=4096 -z noexecstack -T kernel/linker.ld \
	    -o $@ $(KERNEL_OBJS)
