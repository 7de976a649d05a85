# worker -- pulls tasks from master and filters images (stb_image from Debian's
# libstb-dev, header-only: only /usr/include/stb is added to the include path,
# so musl-gcc does not see glibc's headers). Built natively and as a static
# musl binary for the unikernel, from the same sources.

WORKER_SRCS := $(wildcard services/worker/*.c)
WORKER_FILTER_SRCS := services/worker/filter.c services/worker/stb_impl.c
STB_INC := -I/usr/include/stb

$(B)/obj/host/services/worker/%.o: HOST_CFLAGS += $(UIG_INC) $(STB_INC)
$(B)/obj/musl/services/worker/%.o: MUSL_CFLAGS += $(UIG_INC) $(STB_INC)
$(B)/obj/asan/services/worker/%.o: ASAN_CFLAGS += $(UIG_INC) $(STB_INC)

ALL += $(B)/bin/worker $(B)/musl/bin/worker

$(B)/bin/worker: $(WORKER_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lm

$(B)/musl/bin/worker: $(WORKER_SRCS:%.c=$(B)/obj/musl/%.o) $(LIBUIG_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^ -lm
