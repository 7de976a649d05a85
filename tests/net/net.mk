# The network tests' programs: static musl binaries that run natively (in a
# namespace) and as unikernels alike; framefuzz only runs on the host side.
NET_PROGS := echod netclient dnsd

$(B)/tests/net/%: tests/net/progs/%.c lib/sha256.c lib/sha256.h
	@mkdir -p $(@D)
	$(MUSLCC) -static -O2 $(CSTD) $(WARN) -Ilib $< lib/sha256.c -o $@

$(B)/tests/net/framefuzz: tests/net/progs/framefuzz.c
	@mkdir -p $(@D)
	$(CC) -O2 $(CSTD) $(WARN) $< -o $@

TEST_DEPS += $(NET_PROGS:%=$(B)/tests/net/%) $(B)/tests/net/framefuzz
