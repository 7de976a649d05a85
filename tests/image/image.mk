# Host tests of images (tests/image/run.sh): the writer/parser unit tests and the
# shell-word tests under ASan + UBSan, and the programs the uigniterctl tests pack.

IMAGE_TEST_SRCS := tests/image/test_image.c lib/image_writer.c kernel/fs/image_parse.c
WORDS_TEST_SRCS := tests/image/test_shell_words.c cli/shell_words.c

TEST_DEPS += $(B)/tests/image/test_image $(B)/tests/image/test_shell_words \
             $(B)/tests/image/hello-static $(B)/tests/image/hello-dynamic \
             $(B)/tests/image/hello-static-pie $(B)/tests/image/hello-shared.so

$(B)/obj/asan/tests/image/%.o: ASAN_CFLAGS += -Icli -Ilib -Ikernel/fs

$(B)/tests/image/test_image: $(IMAGE_TEST_SRCS:%.c=$(B)/obj/asan/%.o)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^

$(B)/tests/image/test_shell_words: $(WORDS_TEST_SRCS:%.c=$(B)/obj/asan/%.o)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^

$(B)/tests/image/hello-static: tests/image/hello.c
	@mkdir -p $(@D)
	$(MUSLCC) $(MUSL_CFLAGS) -static -o $@ $<

$(B)/tests/image/hello-dynamic: tests/image/hello.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $<

$(B)/tests/image/hello-static-pie: tests/image/hello.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -static-pie -o $@ $<

$(B)/tests/image/hello-shared.so: tests/image/hello.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -shared -fPIC -o $@ $<
