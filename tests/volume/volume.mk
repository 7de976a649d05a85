# Volume test programs: every tests/volume/<name>.c becomes the static musl binary
# build/tests/volume/<name>, which tests/volume/run.sh runs natively against a host
# directory and under uvmm with that kind of directory as a volume.

VOL_SRCS := $(wildcard tests/volume/*.c)
VOL_BINS := $(patsubst tests/volume/%.c,$(B)/tests/volume/%,$(VOL_SRCS))

TEST_DEPS += $(VOL_BINS)

$(VOL_BINS): $(B)/tests/volume/%: tests/volume/%.c tests/conformance/conf.h
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 $(CSTD) $(WARN) -Itests/conformance $< -o $@

tests-volume: $(VOL_BINS)

.PHONY: tests-volume
