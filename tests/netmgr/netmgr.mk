# nmtest drives daemon/netmgr.c for tests/netmgr/run.sh, under ASan + UBSan.
# netmgr.c needs nothing from lib; its object is the daemon's own ASan object.

$(B)/obj/asan/tests/netmgr/%.o: ASAN_CFLAGS += -Idaemon

TEST_DEPS += $(B)/tests/netmgr/nmtest

$(B)/tests/netmgr/nmtest: $(B)/obj/asan/tests/netmgr/nmtest.o $(B)/obj/asan/daemon/netmgr.o
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^ -lpthread
