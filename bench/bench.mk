# Benchmark helpers, built on demand by the benchmarks (bench/boot) into build/bench/.
#   boottime     the timing driver (fork/exec N times, median and p90)
#   kvmfloor     the raw-KVM floor: a VM, one vCPU, one port write, exit (static, like uvmm)
#   pvhstub.elf  the smallest PVH guest, booted by qemu-system-x86_64 -M microvm
#   sleep5       a static musl guest that sleeps 5 s
#   coldstart    bench/coldstart's driver (uigniterd's API, HTTP probes, CPU, RSS)

BENCH_BOOT := $(addprefix $(B)/bench/,boottime kvmfloor pvhstub.elf sleep5)

$(B)/bench/boottime: bench/boottime.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -static -o $@ $<

$(B)/bench/kvmfloor: bench/kvmfloor.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -static -o $@ $<

$(B)/bench/pvhstub.elf: bench/pvhstub.S bench/bench.mk
	@mkdir -p $(@D)
	$(CC) -m32 -nostdlib -static -Wl,-Ttext=0x100000 -Wl,--section-start=.note.Xen=0x100040 -Wl,-N -Wl,--no-warn-rwx-segments -Wl,--build-id=none -Wl,-e,start -o $@ bench/pvhstub.S

$(B)/bench/sleep5: bench/sleep5.c
	@mkdir -p $(@D)
	$(MUSLCC) $(MUSL_CFLAGS) -static -o $@ $<

# bench/coldstart's driver: POST /vm/run over the daemon's Unix socket, then
# non-blocking connects every millisecond and GET / until a 200; the native
# anchor, host CPU and RSS readings. One thread and one epoll set for the timing.
$(B)/bench/coldstart: bench/coldstart.c bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $< -lm
