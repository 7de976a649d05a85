# Conformance programs: every tests/conformance/<name>.c becomes the static musl
# binary build/tests/conformance/<name>, which tests/conformance/run.sh runs
# natively and under uvmm. tools/pipegen feeds the "pipe-gen:N" stdin and
# tools/sandbox builds the native run's view of the file systems.

CONF_SRCS := $(wildcard tests/conformance/*.c)
CONF_BINS := $(patsubst tests/conformance/%.c,$(B)/tests/conformance/%,$(CONF_SRCS))
CONF_TOOLS := $(B)/tests/conformance/tools/pipegen $(B)/tests/conformance/tools/sandbox
CONF_CFLAGS := -static -O2 $(CSTD) $(WARN)

TEST_DEPS += $(CONF_BINS) $(CONF_TOOLS)

$(CONF_BINS): $(B)/tests/conformance/%: tests/conformance/%.c tests/conformance/conf.h
	@mkdir -p $(@D)
	$(MUSLCC) $(CONF_CFLAGS) $< -o $@ -lm

$(CONF_TOOLS): $(B)/tests/conformance/tools/%: tests/conformance/tools/%.c tests/conformance/conf.h
	@mkdir -p $(@D)
	$(MUSLCC) $(CONF_CFLAGS) $< -o $@

tests-conformance: $(CONF_BINS) $(CONF_TOOLS)

.PHONY: tests-conformance
