# uigniterctl — the command-line tool. One file per command (cmd_<name>.c); the
# image writer and the kernel's image parser are compiled in, so `build` and
# `inspect` use exactly the code the monitor and the kernel use, and the daemon's
# verbs speak HTTP through lib's client (libuig, with cJSON and http-parser).
# build/bin/uigniterctl-asan is the same tool under AddressSanitizer + UBSan, for tests.
# libuig is named by its path: lib/lib.mk, which defines $(LIBUIG), is read after
# this file, and prerequisites are expanded as they are read.

CLI_SRCS := $(wildcard cli/*.c) lib/image_writer.c kernel/fs/image_parse.c
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/host/%.o)
CLI_ASAN_OBJS := $(CLI_SRCS:%.c=$(B)/obj/asan/%.o)
CLI_INC := -Icli -Ilib -Ikernel/fs -I$(B)/deps/http-parser -I$(B)/deps/cjson

ALL += $(B)/bin/uigniterctl
TEST_DEPS += $(B)/bin/uigniterctl-asan

$(B)/obj/host/cli/%.o: HOST_CFLAGS += $(CLI_INC)
$(B)/obj/asan/cli/%.o: ASAN_CFLAGS += $(CLI_INC)
$(CLI_OBJS) $(CLI_ASAN_OBJS): | $(B)/deps/http-parser/http_parser.c $(B)/deps/cjson/cJSON.c

$(B)/bin/uigniterctl: $(CLI_OBJS) $(B)/lib/libuig.a
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/bin/uigniterctl-asan: $(CLI_ASAN_OBJS) $(B)/asan/lib/libuig.a
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
