/*
 * uvmm.h — what the monitor's files share: the VM, the configuration, the module
 * registry and the one checked way to turn a guest-physical address into a host
 * pointer.
 *
 * A guest-physical address in a hypercall struct has the type uh_gpa_t, which on the
 * host side is a one-field struct (see UH_HOST in uigniter/hypercall.h): it cannot be
 * dereferenced or cast to a pointer, so every use has to go through gpa_ptr(), which
 * checks address and length against guest RAM and ends the guest when they are bad.
 */
#ifndef UVMM_H
#define UVMM_H

#define UH_HOST 1
#include "uigniter/hypercall.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uvmm_config {
    uint64_t mem_mib;
    const char *kernel;      /* uk.elf */
    const char *image;       /* image or bare static ELF */
    const char **env;        /* --env K=V */
    int nenv;
    char **args;             /* after "--" */
    int nargs;
    bool args_given;
    bool verbose;
    char *argv0;             /* argv[0] override (pool requests) */
    int wait_fd;             /* --wait-fd: pool mode, -1 otherwise */
    bool notify;             /* pool request notify=1: "started\n" on wait_fd at the program's entry */
    const char *net_tap;     /* --net TAP */
    int net_fd;              /* --net-fd FD, -1 otherwise */
    const char *mac, *ip, *gw, *dns;
    const char *volumes[UH_VOL_MAX]; /* --volume HOSTDIR:GUESTDIR[:ro] */
    int nvolumes;
};

struct vm {
    struct uvmm_config *cfg;
    int kvm_fd, vm_fd, vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *mem;            /* guest RAM, guest-physical 0 */
    uint64_t mem_size;
    const uint8_t *image;    /* the image, read-only, mapped at image_gpa */
    uint64_t image_gpa, image_size;
    uint64_t kernel_entry, kernel_end;
    uint64_t tsc_khz;
};

/* Boot-time breakdown for --verbose: named checkpoints in host time. */
void trace_mark(const char *what);
void trace_guest_mark(int id, uint64_t guest_tsc);
void trace_print(const struct vm *vm);

/* Ends the guest and the monitor with status 125 and one line on stderr. */
__attribute__((noreturn, format(printf, 1, 2))) void vm_fatal(const char *fmt, ...);
/* printf to stderr with one write(2): safe after the seccomp filter is in place
 * (stdio's dprintf may probe the fd with ioctl, which the filter forbids). */
__attribute__((format(printf, 1, 2))) void eprintf(const char *fmt, ...);
/* --verbose diagnostics. */
__attribute__((format(printf, 1, 2))) void vm_log(const char *fmt, ...);
extern bool uvmm_verbose;

/* The only way from a guest address to host memory: [gpa, gpa+len) must lie in RAM,
 * or, for data the monitor only reads (gpa_ptr_ro), in RAM or in the image. */
void *gpa_ptr_checked(struct vm *vm, uint64_t gpa, uint64_t len, bool readonly, const char *what);
#define gpa_ptr(vm, g, len) gpa_ptr_checked((vm), (g).v, (len), false, __func__)
#define gpa_ptr_ro(vm, g, len) \
    ((const void *)gpa_ptr_checked((vm), (g).v, (len), true, __func__))
static inline uh_gpa_t gpa_make(uint64_t v)
{
    uh_gpa_t g = {v};
    return g;
}

/* Module registry: a module claims hypercall numbers and host fds for UH_POLL. */
typedef void (*hypercall_fn)(struct vm *vm, uh_gpa_t arg);
struct uvmm_module {
    const char *name;
    int (*setup)(struct vm *vm, struct uh_bootinfo *bi);  /* ahead of time; -1 ends uvmm */
    int (*launch)(struct vm *vm, struct uh_bootinfo *bi); /* just before the first run */
};
void hypercall_register(unsigned nr, hypercall_fn fn);
void poll_register(int fd, uint32_t ready_bit);
/* After KVM_RUN's EINTR: runs the SIGTERM/SIGINT handler for a signal left pending. */
void host_signals_take(void);
void hypercall_dispatch(struct vm *vm, unsigned port, uint32_t value);
/* Checks a uh_io segment list and turns it into host iovecs; returns the count. */
struct iovec;
int guest_iovec(struct vm *vm, const struct uh_io *io, struct iovec *iov, uint64_t *total,
                bool readonly);
/* Copies a guest string of at most max bytes into buf as one printable line. */
void guest_text(struct vm *vm, uh_gpa_t gpa, uint64_t len, char *buf, size_t max);

extern const struct uvmm_module mod_core, mod_console, mod_net;
/* The network device's batches, also reachable through UH_POLL (mod_net.c). */
void net_send_batch(struct vm *vm, uh_gpa_t batch);
void net_recv_batch(struct vm *vm, uh_gpa_t batch, bool readable);
extern const struct uvmm_module mod_volume; /* --volume (mod_volume.c) */

/* Boot stages (kvm_x86_64.c, elf_kernel.c, image.c). */
int kvm_open_vm(struct vm *vm);
int kvm_setup_memory(struct vm *vm);
int kvm_map_image(struct vm *vm);
int kvm_setup_vcpu(struct vm *vm, uint64_t entry, uint64_t bootinfo_gpa);
void kvm_build_page_tables(struct vm *vm, struct uh_bootinfo *bi);
__attribute__((noreturn)) void kvm_run_loop(struct vm *vm);
int kernel_load(struct vm *vm, const char *path);
int kernel_load_fd(struct vm *vm, int fd, const char *path);
int image_open(struct vm *vm, const char *path, char **argv0_out);
int seccomp_install(void);
/* Pool mode (pool.c): announce readiness on cfg->wait_fd, read the request into cfg;
 * -1 when the pool closed the fd instead. */
int pool_wait(struct uvmm_config *cfg);

#endif
