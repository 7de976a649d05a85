/*
 * main.c — the uvmm command line: parse options, boot one microVM, run it until the
 * application exits, and exit with the application's status.
 *
 * Boot order (each stage is timed for --verbose): open /dev/kvm and create the VM,
 * map guest RAM and the image, load uk.elf, write page tables and boot info, let
 * every module set up, create the vCPU, install the seccomp filter, run.
 * Every failure before the guest runs is a monitor error: one line, status 125.
 */
#include "uvmm.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef UIGNITER_VERSION
#define UIGNITER_VERSION "0.1"
#endif

bool uvmm_verbose;

static const struct uvmm_module *const modules[] = {&mod_core, &mod_console, &mod_net,
                                                    &mod_volume};

void eprintf(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 1)
        n = sizeof line - 1;
    ssize_t r = write(2, line, n);
    (void)r;
}

void vm_fatal(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    eprintf("uvmm: %s\n", line);
    _exit(125);
}

void vm_log(const char *fmt, ...)
{
    if (!uvmm_verbose)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    eprintf("uvmm: %s\n", line);
}

static void usage(FILE *f)
{
    fputs("usage: uvmm [--mem MIB] [--kernel PATH] [--env K=V]... [--verbose]\n"
          "            [--volume HOSTDIR:GUESTDIR[:ro]]...\n"
          "            [--net TAP | --net-fd FD] [--mac MAC] [--ip ADDR/PREFIX]\n"
          "            [--gw ADDR] [--dns ADDR] IMAGE_OR_STATIC_ELF [-- ARG...]\n"
          "\n"
          "Runs one unikernel microVM on /dev/kvm: the program in IMAGE (built with\n"
          "`uigniterctl build`) or a bare static x86-64 ELF, on the uk.elf library OS.\n"
          "stdin, stdout and stderr are the program's; uvmm exits with its status.\n"
          "\n"
          "  --mem MIB       guest memory in MiB (default 128, at least 2)\n"
          "  --kernel PATH   library OS to boot (default: uk.elf next to bin/)\n"
          "  --env K=V       add to the program's environment (repeatable)\n"
          "  --verbose       boot-time breakdown and diagnostics on stderr\n"
          "  --net TAP       attach the guest's network interface to tap device TAP\n"
          "  --net-fd FD     ... or to the already attached tap on inherited fd FD\n"
          "  --mac MAC       the interface's MAC (default: random, locally administered)\n"
          "  --ip ADDR/PFX   the guest's IPv4 address (no address: no IPv4)\n"
          "  --gw ADDR       default gateway; --dns ADDR: name server for the guest\n"
          "  --volume HOSTDIR:GUESTDIR[:ro]\n"
          "                  mount host directory HOSTDIR at GUESTDIR (repeatable)\n"
          "  --wait-fd FD    warm pool: prepare the VM, write \"ready\" to FD, then read\n"
          "                  the image, arguments and environment from FD (docs/uvmm.md)\n"
          "  ARG...          replace the image's default arguments\n"
          "\n"
          "Exit status: the program's own; 128+N when it was killed by signal N\n"
          "(SIGSEGV 139, SIGILL 132, SIGFPE 136, SIGABRT 134); 125 when uvmm or the\n"
          "kernel failed (one line on stderr says why).\n",
          f);
}

static const char *option_value(int *i, int argc, char **argv)
{
    const char *opt = argv[*i];
    const char *eq = strchr(opt, '=');
    if (eq && opt[1] == '-')
        return eq + 1;
    if (*i + 1 >= argc)
        vm_fatal("option %s needs a value (see uvmm --help)", opt);
    return argv[++*i];
}

static bool option_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

static uint64_t parse_mib(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < 2 || v > 64 * 1024)
        vm_fatal("--mem %s: want a size in MiB from 2 to 65536", s);
    return v;
}

static char *default_kernel(void)
{
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
    if (n <= 0)
        return "uk.elf";
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (!slash)
        return "uk.elf";
    *slash = 0; /* .../build/bin */
    slash = strrchr(path, '/');
    if (!slash)
        return "uk.elf";
    strcpy(slash, "/uk.elf");
    return path;
}

static void parse_args(struct uvmm_config *cfg, int argc, char **argv)
{
    static const char *env[1024];
    int i;
    cfg->mem_mib = 128;
    cfg->env = env;
    cfg->wait_fd = -1;
    cfg->net_fd = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("uvmm %s\n", UIGNITER_VERSION);
            exit(0);
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            cfg->verbose = true;
        } else if (option_is(a, "--mem")) {
            cfg->mem_mib = parse_mib(option_value(&i, argc, argv));
        } else if (option_is(a, "--kernel")) {
            cfg->kernel = option_value(&i, argc, argv);
        } else if (option_is(a, "--wait-fd")) {
            const char *v = option_value(&i, argc, argv);
            char *end;
            long fd = strtol(v, &end, 10);
            if (*end || end == v || fd < 0 || fd > 65535)
                vm_fatal("--wait-fd %s: want a file descriptor number", v);
            cfg->wait_fd = fd;
        } else if (option_is(a, "--net")) {
            cfg->net_tap = option_value(&i, argc, argv);
        } else if (option_is(a, "--net-fd")) {
            const char *v = option_value(&i, argc, argv);
            char *end;
            long fd = strtol(v, &end, 10);
            if (*end || end == v || fd < 0 || fd > 65535)
                vm_fatal("--net-fd %s: want a file descriptor number", v);
            cfg->net_fd = fd;
        } else if (option_is(a, "--mac")) {
            cfg->mac = option_value(&i, argc, argv);
        } else if (option_is(a, "--ip")) {
            cfg->ip = option_value(&i, argc, argv);
        } else if (option_is(a, "--gw")) {
            cfg->gw = option_value(&i, argc, argv);
        } else if (option_is(a, "--dns")) {
            cfg->dns = option_value(&i, argc, argv);
        } else if (option_is(a, "--volume")) {
            const char *spec = option_value(&i, argc, argv);
            if (cfg->nvolumes == UH_VOL_MAX)
                vm_fatal("too many --volume options (at most %d)", UH_VOL_MAX);
            cfg->volumes[cfg->nvolumes++] = spec;
        } else if (option_is(a, "--env")) {
            const char *kv = option_value(&i, argc, argv);
            if (!strchr(kv, '=') || kv[0] == '=')
                vm_fatal("--env %s: want NAME=VALUE", kv);
            if (cfg->nenv == (int)(sizeof env / sizeof env[0]))
                vm_fatal("too many --env options");
            env[cfg->nenv++] = kv;
        } else {
            vm_fatal("unknown option %s (see uvmm --help)", a);
        }
    }
    if (cfg->net_tap && cfg->net_fd >= 0)
        vm_fatal("--net and --net-fd exclude each other");
    if (!cfg->kernel)
        cfg->kernel = default_kernel();
    if (cfg->wait_fd >= 0) {
        if (i < argc)
            vm_fatal("--wait-fd takes the image from the request, not the command line");
        return;
    }
    if (i >= argc) {
        usage(stderr);
        exit(125);
    }
    cfg->image = argv[i++];
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    cfg->args = argv + i;
    cfg->nargs = argc - i;
    cfg->args_given = cfg->nargs > 0 || strcmp(argv[i - 1], "--") == 0;
}

/* Copies NUL-terminated strings into the boot page after the boot info. */
static uint64_t boot_strings(struct vm *vm, uint64_t *cursor, char *const *strs, int n)
{
    uint64_t start = *cursor;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(strs[i]) + 1;
        if (*cursor + len > UH_BOOTINFO_GPA + 0x8000)
            vm_fatal("arguments and environment are too long (32 KiB at most)");
        memcpy(vm->mem + *cursor, strs[i], len);
        *cursor += len;
    }
    return start;
}

/* Everything that does not depend on the program: the VM, RAM, uk.elf, devices and
 * the vCPU. A pooled uvmm does this ahead of time and then waits for a request. */
static int prepare(struct vm *vm, struct uvmm_config *cfg)
{
    vm->cfg = cfg;
    vm->mem_size = cfg->mem_mib << 20;
    if (kvm_open_vm(vm) < 0)
        return -1;
    trace_mark("create VM");
    if (kvm_setup_memory(vm) < 0)
        return -1;
    trace_mark("guest RAM");
    if (kernel_load(vm, cfg->kernel) < 0)
        return -1;
    trace_mark("load uk.elf");
    struct uh_bootinfo *bi = (struct uh_bootinfo *)(vm->mem + UH_BOOTINFO_GPA);
    for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++) {
        if (modules[m]->setup && modules[m]->setup(vm, bi) < 0)
            return -1;
    }
    if (kvm_setup_vcpu(vm, vm->kernel_entry, UH_BOOTINFO_GPA) < 0)
        return -1;
    trace_mark("vCPU");
    return 0;
}

/* The program's part: its image, arguments and environment, then run. */
__attribute__((noreturn)) static void launch(struct vm *vm, struct uvmm_config *cfg)
{
    char *argv0 = cfg->argv0;
    if (image_open(vm, cfg->image, argv0 ? NULL : &argv0) < 0)
        exit(125);
    trace_mark("map image");
    struct uh_bootinfo *bi = (struct uh_bootinfo *)(vm->mem + UH_BOOTINFO_GPA);
    bi->magic = UH_BOOT_MAGIC;
    bi->version = UH_BOOT_VERSION;
    bi->flags = (cfg->verbose ? UH_BOOT_VERBOSE : 0) | (cfg->args_given ? UH_BOOT_ARGS : 0) |
                (cfg->notify ? UH_BOOT_NOTIFY : 0);
    bi->mem_size = vm->mem_size;
    bi->kernel_end = vm->kernel_end;
    bi->image = gpa_make(vm->image_gpa);
    bi->image_size = vm->image_size;
    bi->tsc_khz = vm->tsc_khz;
    uint64_t cursor = UH_BOOTINFO_GPA + sizeof *bi;
    bi->argv = gpa_make(boot_strings(vm, &cursor, cfg->args, cfg->nargs));
    bi->argc = cfg->nargs;
    bi->envp = gpa_make(boot_strings(vm, &cursor, (char *const *)cfg->env, cfg->nenv));
    bi->envc = cfg->nenv;
    if (argv0)
        bi->argv0 = gpa_make(boot_strings(vm, &cursor, &argv0, 1));
    kvm_build_page_tables(vm, bi);
    for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++) {
        if (modules[m]->launch && modules[m]->launch(vm, bi) < 0)
            exit(125);
    }
    if (seccomp_install() < 0)
        exit(125);
    trace_mark("seccomp");
    kvm_run_loop(vm);
}

int main(int argc, char **argv)
{
    static struct uvmm_config cfg;
    static struct vm vm;
    trace_mark("start");
    parse_args(&cfg, argc, argv);
    uvmm_verbose = cfg.verbose;
    if (prepare(&vm, &cfg) < 0)
        return 125;
    if (cfg.wait_fd >= 0) {
        if (pool_wait(&cfg) < 0)
            return 0; /* the pool let us go without a program */
        uvmm_verbose = cfg.verbose;
        trace_mark("request");
    }
    launch(&vm, &cfg);
}
