# tests/pipeline -- tools of the image pipeline tests: the reference filter
# (the worker's filter.c on files) and the test image maker; storage and
# master are built with ASan + UBSan by their own .mk files.

PIPELINE_TOOLS := $(B)/tests/filter_ref $(B)/tests/mkimg
TEST_DEPS += $(PIPELINE_TOOLS)

$(B)/obj/host/tests/pipeline/%.o: HOST_CFLAGS += $(UIG_INC) $(STB_INC) -Iservices/worker

$(B)/tests/filter_ref: $(B)/obj/host/tests/pipeline/filter_ref.o \
                       $(WORKER_FILTER_SRCS:%.c=$(B)/obj/host/%.o) $(LIBUIG)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lm

$(B)/tests/mkimg: $(B)/obj/host/tests/pipeline/mkimg.o $(B)/obj/host/services/worker/stb_impl.o
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lm
