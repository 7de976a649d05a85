# The misbehaving guest of the monitor's robustness tests (a static musl program).
$(B)/tests/robustness/guest: tests/robustness/guest.c include/uigniter/hypercall.h
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 $(CSTD) $(WARN) -Iinclude $< -o $@

TEST_DEPS += $(B)/tests/robustness/guest $(B)/bin/uvmm-asan
