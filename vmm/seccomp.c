/*
 * seccomp.c — installs the filter compiled at build time by seccomp_gen.c, just
 * before the first KVM_RUN: from then on a compromised monitor can do little more
 * than run its vCPU and answer hypercalls.
 */
#include "uvmm.h"

#include "seccomp_bpf.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int seccomp_install(void)
{
    struct sock_fprog prog = {
        .len = sizeof uvmm_seccomp_bpf / sizeof(struct sock_filter),
        .filter = (struct sock_filter *)uvmm_seccomp_bpf,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        eprintf("uvmm: cannot install the seccomp filter: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}
