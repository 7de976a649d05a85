/*
 * kvmfloor.c — the floor under any KVM monitor's boot: open /dev/kvm, create a VM
 * with one page of RAM and one vCPU, run a real-mode guest that writes one byte
 * to an I/O port (as a uvmm guest's exit hypercall does) and halts, and exit.
 * bench/boot times this whole process: nothing that boots on KVM from a fresh
 * process can be faster. Linked statically, like uvmm.
 *
 * usage: kvmfloor [N]
 *   With N, do it N times in this one process and print the mean microseconds of
 *   one create + run + destroy (the cost without exec and process exit).
 * Exit status 0 when the guest's byte arrived, 1 otherwise.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PORT 0x10
#define MAGIC 42

static int boot_once(int kvm)
{
    /* mov $MAGIC, %al; out %al, $PORT; hlt */
    static const unsigned char code[] = {0xb0, MAGIC, 0xe6, PORT, 0xf4};
    int ok = 0;
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return perror("kvmfloor: KVM_CREATE_VM"), 0;
    unsigned char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(mem, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = 4096, .userspace_addr = (unsigned long)mem};
    int vcpu = -1;
    struct kvm_run *run = MAP_FAILED;
    long run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
        (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0 || run_size <= 0 ||
        (run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0)) == MAP_FAILED) {
        perror("kvmfloor: setting up the VM");
        goto out;
    }
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        goto out;
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    struct kvm_regs regs = {.rip = 0, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        perror("kvmfloor: vCPU registers");
        goto out;
    }
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
        perror("kvmfloor: KVM_RUN");
        goto out;
    }
    ok = run->exit_reason == KVM_EXIT_IO && run->io.port == PORT &&
         ((unsigned char *)run)[run->io.data_offset] == MAGIC;
    if (!ok)
        fprintf(stderr, "kvmfloor: unexpected exit %u\n", run->exit_reason);
out:
    if (run != MAP_FAILED)
        munmap(run, run_size);
    if (vcpu >= 0)
        close(vcpu);
    close(vm);
    munmap(mem, 4096);
    return ok;
}

int main(int argc, char **argv)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return perror("kvmfloor: /dev/kvm"), 1;
    if (argc < 2)
        return boot_once(kvm) ? 0 : 1;
    int n = atoi(argv[1]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++)
        if (!boot_once(kvm))
            return 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3) / (n > 0 ? n : 1));
    return 0;
}
