# master -- the router of the original design: the task API in front of taskdb
# and storage. Built natively and as a static musl binary for the unikernel,
# from the same sources.

MASTER_SRCS := $(wildcard services/master/*.c)

$(B)/obj/host/services/master/%.o: HOST_CFLAGS += $(UIG_INC)
$(B)/obj/musl/services/master/%.o: MUSL_CFLAGS += $(UIG_INC)
$(B)/obj/asan/services/master/%.o: ASAN_CFLAGS += $(UIG_INC)

ALL += $(B)/bin/master $(B)/musl/bin/master
TEST_DEPS += $(B)/tests/master-asan

$(B)/bin/master: $(MASTER_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/musl/bin/master: $(MASTER_SRCS:%.c=$(B)/obj/musl/%.o) $(LIBUIG_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^

$(B)/tests/master-asan: $(MASTER_SRCS:%.c=$(B)/obj/asan/%.o) $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
