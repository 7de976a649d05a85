# tests/taskdb -- taskdb built with ASan + UBSan for the API tests.

TEST_DEPS += $(B)/tests/taskdb-asan

$(B)/tests/taskdb-asan: $(TASKDB_SRCS:%.c=$(B)/obj/asan/%.o) $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
