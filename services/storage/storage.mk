# storage -- the blob store (HTTP, one file per blob). Built natively and as a
# static musl binary for the unikernel, from the same sources.

STORAGE_SRCS := $(wildcard services/storage/*.c)

$(B)/obj/host/services/storage/%.o: HOST_CFLAGS += $(UIG_INC)
$(B)/obj/musl/services/storage/%.o: MUSL_CFLAGS += $(UIG_INC)
$(B)/obj/asan/services/storage/%.o: ASAN_CFLAGS += $(UIG_INC)

ALL += $(B)/bin/storage $(B)/musl/bin/storage
TEST_DEPS += $(B)/tests/storage-asan

$(B)/bin/storage: $(STORAGE_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/musl/bin/storage: $(STORAGE_SRCS:%.c=$(B)/obj/musl/%.o) $(LIBUIG_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^

$(B)/tests/storage-asan: $(STORAGE_SRCS:%.c=$(B)/obj/asan/%.o) $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
