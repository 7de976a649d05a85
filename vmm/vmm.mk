# uvmm — the monitor. Linked statically: it starts faster and its RSS stays small.
# build/bin/uvmm-asan is the same monitor under AddressSanitizer + UBSan, for tests.

VMM_SRCS := $(filter-out vmm/seccomp_gen.c,$(wildcard vmm/*.c)) lib/image_writer.c
VMM_OBJS := $(VMM_SRCS:%.c=$(B)/obj/host/%.o)
VMM_ASAN_OBJS := $(VMM_SRCS:%.c=$(B)/obj/asan/%.o)

ALL += $(B)/bin/uvmm
TEST_DEPS += $(B)/bin/uvmm-asan

$(B)/obj/host/vmm/%.o: HOST_CFLAGS += -Ilib -Ivmm -I$(B)/gen
$(B)/obj/asan/vmm/%.o: ASAN_CFLAGS += -Ilib -Ivmm -I$(B)/gen/asan
$(B)/obj/host/vmm/seccomp.o: $(B)/gen/seccomp_bpf.h
$(B)/obj/asan/vmm/seccomp.o: $(B)/gen/asan/seccomp_bpf.h

$(B)/bin/seccomp_gen: vmm/seccomp_gen.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $< -o $@ -lseccomp

$(B)/gen/seccomp_bpf.h: $(B)/bin/seccomp_gen
	@mkdir -p $(@D)
	$< > $@.tmp && mv $@.tmp $@

$(B)/gen/asan/seccomp_bpf.h: $(B)/bin/seccomp_gen
	@mkdir -p $(@D)
	$< --sanitizers > $@.tmp && mv $@.tmp $@

$(B)/bin/uvmm: $(VMM_OBJS)
	@mkdir -p $(@D)
	$(CC) -static -o $@ $^

$(B)/bin/uvmm-asan: $(VMM_ASAN_OBJS)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
