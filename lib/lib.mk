# lib/ -- what services and host tools share: event loop, TCP helpers, buffers,
# logging, HTTP/1.1 server and client (on Debian's http-parser), JSON (Debian's
# cJSON), the memcached-protocol client and the service registry.
#
# Built three ways from the same sources, each into a static library:
#   build/lib/libuig.a        gcc, for native services and host tools
#   build/musl/lib/libuig.a   musl-gcc, for static services that run as unikernels
#   build/asan/lib/libuig.a   gcc + ASan/UBSan, for unit tests
# lib/image_writer.* belongs to the image tools and is not part of libuig.
# The third-party sources are compiled from build/deps/ (fetched by make setup),
# never copied into the tree; they get their authors' warnings, not ours.

LIB_SRCS := $(filter-out lib/image_writer.c,$(wildcard lib/*.c))
LIB_DEPS_SRCS := $(B)/deps/http-parser/http_parser.c $(B)/deps/cjson/cJSON.c
UIG_INC := -Ilib -I$(B)/deps/http-parser -I$(B)/deps/cjson

LIB_HOST_OBJS := $(LIB_SRCS:%.c=$(B)/obj/host/%.o) $(LIB_DEPS_SRCS:%.c=$(B)/obj/host/%.o)
LIB_MUSL_OBJS := $(LIB_SRCS:%.c=$(B)/obj/musl/%.o) $(LIB_DEPS_SRCS:%.c=$(B)/obj/musl/%.o)
LIB_ASAN_OBJS := $(LIB_SRCS:%.c=$(B)/obj/asan/%.o) $(LIB_DEPS_SRCS:%.c=$(B)/obj/asan/%.o)

LIBUIG      := $(B)/lib/libuig.a
LIBUIG_MUSL := $(B)/musl/lib/libuig.a
LIBUIG_ASAN := $(B)/asan/lib/libuig.a

ALL += $(LIBUIG) $(LIBUIG_MUSL)
TEST_DEPS += $(LIBUIG_ASAN)

$(B)/obj/host/lib/%.o: HOST_CFLAGS += $(UIG_INC)
$(B)/obj/musl/lib/%.o: MUSL_CFLAGS += $(UIG_INC)
$(B)/obj/asan/lib/%.o: ASAN_CFLAGS += $(UIG_INC)
$(B)/obj/fuzz/lib/%.o: FUZZ_CFLAGS += $(UIG_INC)

# Third-party objects: no -Werror, no -Wextra.
$(B)/obj/host/$(B)/deps/%.o: HOST_CFLAGS := $(CSTD) -O2 -g -w
$(B)/obj/musl/$(B)/deps/%.o: MUSL_CFLAGS := $(CSTD) -O2 -g -w
$(B)/obj/asan/$(B)/deps/%.o: ASAN_CFLAGS := $(CSTD) -O1 -g -w -fsanitize=address,undefined \
                                             -fno-omit-frame-pointer -fno-sanitize-recover=all

# lib objects need the unpacked source packages (their headers) first. One
# grouped target: under make -j a fresh tree runs setup once, not once per file
# (two concurrent apt-get runs into build/deps/apt fail).
$(LIB_HOST_OBJS) $(LIB_MUSL_OBJS) $(LIB_ASAN_OBJS): | $(LIB_DEPS_SRCS)
$(LIB_DEPS_SRCS) &:
	@scripts/setup.sh

$(LIBUIG): $(LIB_HOST_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBUIG_MUSL): $(LIB_MUSL_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBUIG_ASAN): $(LIB_ASAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
