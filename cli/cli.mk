# uigniterctl — the command-line tool. One file per command (cmd_<name>.c); the
# image writer and the kernel's image parser are compiled in, so `build` and
# `inspect` use exactly the code the monitor and the kernel use.
# build/bin/uigniterctl-asan is the same tool under AddressSanitizer + UBSan, for tests.

CLI_SRCS := $(wildcard cli/*.c) lib/image_writer.c kernel/fs/image_parse.c
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/host/%.o)
CLI_ASAN_OBJS := $(CLI_SRCS:%.c=$(B)/obj/asan/%.o)

ALL += $(B)/bin/uigniterctl
TEST_DEPS += $(B)/bin/uigniterctl-asan

$(B)/obj/host/cli/%.o: HOST_CFLAGS += -Icli -Ilib -Ikernel/fs
$(B)/obj/asan/cli/%.o: ASAN_CFLAGS += -Icli -Ilib -Ikernel/fs

$(B)/bin/uigniterctl: $(CLI_OBJS)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/bin/uigniterctl-asan: $(CLI_ASAN_OBJS)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
