# tests/registry -- regtool, a small driver of lib's registry helpers.

$(B)/obj/asan/tests/registry/%.o: ASAN_CFLAGS += $(UIG_INC)

TEST_DEPS += $(B)/tests/regtool

$(B)/tests/regtool: $(B)/obj/asan/tests/registry/regtool.o $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
