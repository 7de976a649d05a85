# The network tests' programs: static musl binaries that run natively (in a
# namespace) and as unikernels alike.
NET_PROGS := echod netclient

$(B)/tests/net/%: tests/net/progs/%.c lib/sha256.c lib/sha256.h
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 $(CSTD) $(WARN) -Ilib $< lib/sha256.c -o $@

TEST_DEPS += $(NET_PROGS:%=$(B)/tests/net/%)
