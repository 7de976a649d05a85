# taskdb -- the task scheduler (HTTP + append-only log). Built natively and as a
# static musl binary for the unikernel, from the same sources.

TASKDB_SRCS := $(wildcard services/taskdb/*.c)

$(B)/obj/host/services/taskdb/%.o: HOST_CFLAGS += $(UIG_INC)
$(B)/obj/musl/services/taskdb/%.o: MUSL_CFLAGS += $(UIG_INC)
$(B)/obj/asan/services/taskdb/%.o: ASAN_CFLAGS += $(UIG_INC)

ALL += $(B)/bin/taskdb $(B)/musl/bin/taskdb

$(B)/bin/taskdb: $(TASKDB_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/musl/bin/taskdb: $(TASKDB_SRCS:%.c=$(B)/obj/musl/%.o) $(LIBUIG_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^
