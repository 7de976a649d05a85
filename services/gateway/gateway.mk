# gateway -- the one external HTTP entry: routes to services, serves web/.
# Built natively and as a static musl binary for the unikernel, from the same
# sources.

GATEWAY_SRCS := $(wildcard services/gateway/*.c)

$(B)/obj/host/services/gateway/%.o: HOST_CFLAGS += $(UIG_INC)
$(B)/obj/musl/services/gateway/%.o: MUSL_CFLAGS += $(UIG_INC)
$(B)/obj/asan/services/gateway/%.o: ASAN_CFLAGS += $(UIG_INC)

ALL += $(B)/bin/gateway $(B)/musl/bin/gateway
TEST_DEPS += $(B)/tests/gateway-asan

$(B)/bin/gateway: $(GATEWAY_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

$(B)/musl/bin/gateway: $(GATEWAY_SRCS:%.c=$(B)/obj/musl/%.o) $(LIBUIG_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^

$(B)/tests/gateway-asan: $(GATEWAY_SRCS:%.c=$(B)/obj/asan/%.o) $(LIBUIG_ASAN)
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^
