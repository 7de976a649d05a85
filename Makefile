# Uigniter — top-level build.
#   make          build everything into build/
#   make setup    install what the build and the tests need (idempotent; apt-get as root)
#   make test     build and run every test; the last line is "N passed, N failed"
#   make test-deps  build what the tests need without running them
#   make example  set up, build and boot the example unikernel
#   make demo     set up, build and run the whole pipeline as unikernels (scripts/demo.sh;
#                 DEMO_ARGS=--keep leaves it up)
# Each component adds its own rules in <component>/<component>.mk.

B := build
.DEFAULT_GOAL := all
include mk/config.mk

ALL :=
TEST_DEPS :=
include $(sort $(filter-out mk/%,$(wildcard */*.mk)) $(wildcard services/*/*.mk))

all: $(ALL)

setup:
	@scripts/setup.sh

$(B)/.setup-stamp: scripts/setup.sh $(wildcard scripts/deps/*)
	@scripts/setup.sh
	@mkdir -p $(B) && touch $@

# The build uses every core unless the caller chose (make -jN test).
test: $(B)/.setup-stamp
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc)) all $(TEST_DEPS)
	@tests/run.sh

# Everything the tests need, without running them (then: tests/run.sh SUITE...).
test-deps: all $(TEST_DEPS)

example: $(B)/.setup-stamp
	@$(MAKE) --no-print-directory all
	@scripts/run-example.sh

# The demo checks its results with the reference filter and makes its sample
# images with the pipeline tests' tools.
demo: $(B)/.setup-stamp
	@$(MAKE) --no-print-directory all $(PIPELINE_TOOLS)
	@scripts/demo.sh $(DEMO_ARGS)

clean:
	rm -rf $(B)/bin $(B)/obj $(B)/gen $(B)/tests $(B)/images $(B)/uk.elf

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

.PHONY: all setup test test-deps example demo clean format
