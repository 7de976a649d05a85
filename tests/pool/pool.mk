# poolctl drives a pooled uvmm (--wait-fd) for the pool tests and benchmarks.
$(B)/tests/pool/poolctl: tests/pool/poolctl.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $< -o $@

TEST_DEPS += $(B)/tests/pool/poolctl

$(B)/tests/pool/showenv: tests/pool/showenv.c
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 $(CSTD) $(WARN) $< -o $@

TEST_DEPS += $(B)/tests/pool/showenv

$(B)/tests/pool/sigterm: tests/pool/sigterm.c
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 $(CSTD) $(WARN) $< -o $@

TEST_DEPS += $(B)/tests/pool/sigterm
