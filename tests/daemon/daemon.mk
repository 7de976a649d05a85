# dtool drives uigniterd for tests/daemon and bench/coldstart: run/stop cycles,
# thousands of connections, slow clients, raw requests.
$(B)/tests/daemon/dtool: tests/daemon/dtool.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $< -o $@

TEST_DEPS += $(B)/tests/daemon/dtool
