# Compilers and flags shared by every component.
#
# Four kinds of object, each in its own tree under build/obj/ so that one source
# file can be built several ways:
#   host   gcc, the host tools (uvmm, uigniterd, uigniterctl, native services)
#   asan   gcc with AddressSanitizer + UBSan, for the host tools' tests
#   musl   musl-gcc, static guest programs (services as unikernels, test programs)
#   fuzz   clang with libFuzzer + ASan, for fuzz targets

CC       := gcc
MUSLCC   := musl-gcc
CLANG    := clang
WARN     := -Wall -Wextra -Werror
CSTD     := -std=c11 -D_GNU_SOURCE
DEPFLAGS  = -MMD -MP
INCLUDES := -Iinclude

HOST_CFLAGS := $(CSTD) $(WARN) -O2 -g $(INCLUDES)
ASAN_CFLAGS := $(CSTD) $(WARN) -O1 -g $(INCLUDES) -fsanitize=address,undefined \
               -fno-omit-frame-pointer -fno-sanitize-recover=all
MUSL_CFLAGS := $(CSTD) $(WARN) -O2 -g $(INCLUDES)
FUZZ_CFLAGS := $(CSTD) -O1 -g $(INCLUDES) -fsanitize=fuzzer-no-link,address,undefined \
               -DFUZZING

$(B)/obj/host/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/obj/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/obj/musl/%.o: %.c
	@mkdir -p $(@D)
	$(MUSLCC) $(MUSL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/obj/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
