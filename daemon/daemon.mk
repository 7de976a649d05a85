# uigniterd — the orchestrator daemon: REST API, warm pool, network manager,
# supervision. It shares the image parser with the kernel and uigniterctl, the
# image writer with uvmm, and the shell-word splitter with uigniterctl, so a
# body, an image or a command line means the same thing everywhere.
# build/bin/uigniterd-asan is the same daemon under AddressSanitizer + UBSan, for tests.
# libuig and its sources are named by path: lib/lib.mk is read after this file.

DAEMON_SRCS := $(wildcard daemon/*.c) cli/shell_words.c lib/image_writer.c kernel/fs/image_parse.c
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(B)/obj/host/%.o)
DAEMON_ASAN_OBJS := $(DAEMON_SRCS:%.c=$(B)/obj/asan/%.o)
# Paths are built from --state-dir, which is kept 64 bytes shorter than PATH_MAX
# so that every file name under it fits: gcc cannot see that, hence the -Wno.
DAEMON_INC := -Wno-format-truncation -Idaemon -Icli -Ikernel/fs -Ilib -I$(B)/deps/http-parser -I$(B)/deps/cjson

ALL += $(B)/bin/uigniterd
TEST_DEPS += $(B)/bin/uigniterd-asan

$(B)/obj/host/daemon/%.o: HOST_CFLAGS += $(DAEMON_INC)
$(B)/obj/asan/daemon/%.o: ASAN_CFLAGS += $(DAEMON_INC)
$(DAEMON_OBJS) $(DAEMON_ASAN_OBJS): | $(B)/deps/http-parser/http_parser.c $(B)/deps/cjson/cJSON.c

$(B)/bin/uigniterd: $(DAEMON_OBJS) $(B)/lib/libuig.a
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lpthread

$(B)/bin/uigniterd-asan: $(DAEMON_ASAN_OBJS) $(B)/asan/lib/libuig.a
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^ -lpthread
