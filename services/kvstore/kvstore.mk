# kvstore -- the registry (memcached text protocol). Built natively and as a
# static musl binary for the unikernel, from the same sources.

KVSTORE_SRCS := $(wildcard services/kvstore/*.c)

$(B)/obj/host/services/kvstore/%.o: HOST_CFLAGS += $(UIG_INC)
$(B)/obj/musl/services/kvstore/%.o: MUSL_CFLAGS += $(UIG_INC)
$(B)/obj/asan/services/kvstore/%.o: ASAN_CFLAGS += $(UIG_INC)
$(B)/obj/fuzz/services/kvstore/%.o: FUZZ_CFLAGS += $(UIG_INC)

ALL += $(B)/bin/kvstore $(B)/musl/bin/kvstore

$(B)/bin/kvstore: $(KVSTORE_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/musl/bin/kvstore: $(KVSTORE_SRCS:%.c=$(B)/obj/musl/%.o) $(LIBUIG_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^
