# libFuzzer targets (tests/fuzz/run.sh). Every tests/fuzz/fuzz_<x>.c becomes
# build/tests/fuzz/fuzz_<x>, built with clang -fsanitize=fuzzer,address,undefined.
# A target names the other sources it needs in one comment line:
#     // fuzz-sources: kernel/exec/elf_parse.c lib/foo.c
# An optional tests/fuzz/seed_<x>.c (same comment convention) becomes the host
# program build/tests/fuzz/seed_<x>, run as `seed_<x> DIR` to write seed inputs
# into the corpus, so no binary corpus is committed. Targets and seeders may
# include headers as "fs/x.h" (-Ikernel) or "x.h" from lib/ (-Ilib) or vmm/ (-Ivmm).

FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SEEDERS := $(basename $(notdir $(wildcard tests/fuzz/seed_*.c)))
fuzz_extra_sources = $(shell sed -n 's|^// fuzz-sources:||p' tests/fuzz/$(1).c)

TEST_DEPS += $(FUZZ_TARGETS:%=$(B)/tests/fuzz/%) $(FUZZ_SEEDERS:%=$(B)/tests/fuzz/%)

$(B)/obj/fuzz/tests/fuzz/%.o: FUZZ_CFLAGS += -Ikernel -Ilib -Ivmm
# The daemon's parsers (fuzz_runreq, fuzz_deployspec) and the cli code they share.
$(B)/obj/fuzz/daemon/%.o $(B)/obj/fuzz/cli/%.o: FUZZ_CFLAGS += -Idaemon -Icli -Ilib \
    -I$(B)/deps/cjson -I$(B)/deps/http-parser
$(B)/obj/fuzz/tests/fuzz/fuzz_runreq.o $(B)/obj/fuzz/tests/fuzz/fuzz_deployspec.o: FUZZ_CFLAGS += -I$(B)/deps/cjson
$(B)/obj/asan/tests/fuzz/%.o: ASAN_CFLAGS += -Ikernel -Ilib -Ivmm

define FUZZ_TARGET_RULE
$(B)/tests/fuzz/$(1): $(B)/obj/fuzz/tests/fuzz/$(1).o \
                      $(patsubst %.c,$(B)/obj/fuzz/%.o,$(call fuzz_extra_sources,$(1)))
	@mkdir -p $$(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $$@ $$^
endef

define FUZZ_SEEDER_RULE
$(B)/tests/fuzz/$(1): $(B)/obj/asan/tests/fuzz/$(1).o \
                      $(patsubst %.c,$(B)/obj/asan/%.o,$(call fuzz_extra_sources,$(1)))
	@mkdir -p $$(@D)
	$(CC) -fsanitize=address,undefined -o $$@ $$^
endef

$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULE,$(t))))
$(foreach s,$(FUZZ_SEEDERS),$(eval $(call FUZZ_SEEDER_RULE,$(s))))

fuzz-targets: $(FUZZ_TARGETS:%=$(B)/tests/fuzz/%) $(FUZZ_SEEDERS:%=$(B)/tests/fuzz/%)

.PHONY: fuzz-targets
