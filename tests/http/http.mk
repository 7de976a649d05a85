# tests/http -- unit tests of lib's HTTP server and client, under ASan + UBSan.

$(B)/obj/asan/tests/http/%.o: ASAN_CFLAGS += $(UIG_INC)

TEST_DEPS += $(B)/tests/http_test

$(B)/tests/http_test: $(B)/obj/asan/tests/http/http_test.o $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
