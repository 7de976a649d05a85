# tests/kvstore -- the protocol tool used by the kvstore and registry suites,
# and kvstore built with ASan + UBSan for the behaviour tests.

$(B)/obj/host/tests/kvstore/%.o: HOST_CFLAGS += $(UIG_INC)

TEST_DEPS += $(B)/tests/mcsend $(B)/tests/kvstore-asan

$(B)/tests/mcsend: $(B)/obj/host/tests/kvstore/mcsend.o $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/tests/kvstore-asan: $(KVSTORE_SRCS:%.c=$(B)/obj/asan/%.o) $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
