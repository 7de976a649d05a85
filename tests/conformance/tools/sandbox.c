/* sandbox ROOT [-e K=V]... -- PROGRAM [ARG...]
 *
 * Runs PROGRAM natively in the file-system view a conformance program has under
 * uvmm, in one process so that the native run costs little: a private mount
 * namespace in which ROOT is bind-mounted read-only (like the image), /tmp is a
 * fresh writable tmpfs, /dev is a read-only tmpfs holding only null, zero and
 * urandom; a private network namespace with only loopback, up (like a guest
 * without --net); then chroot(ROOT), cwd /, and execve with exactly the -e
 * variables.
 * ROOT must already contain empty tmp/ and dev/ directories. Exits 125 with a
 * line starting "conformance-setup:" when the view cannot be built. */
#include <errno.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "conformance-setup: %s %s: %s\n", what, path, strerror(errno));
    return 125;
}

int main(int argc, char **argv)
{
    static char *env[256];
    int nenv = 0, i = 2;
    if (argc < 4)
        return fprintf(stderr, "usage: sandbox ROOT [-e K=V]... -- PROGRAM [ARG...]\n"), 2;
    const char *root = argv[1];
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-e") != 0 || i + 1 >= argc || nenv >= 255)
            return fprintf(stderr, "sandbox: bad argument %s\n", argv[i]), 2;
        env[nenv++] = argv[++i];
    }
    if (i + 1 >= argc)
        return fprintf(stderr, "sandbox: no program\n"), 2;
    char **prog = argv + i + 1;

    char tmp[4096], dev[4096], node[4200];
    snprintf(tmp, sizeof tmp, "%s/tmp", root);
    snprintf(dev, sizeof dev, "%s/dev", root);
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0)
        return fail("unshare", "");
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        return fail("loopback", "lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        return fail("loopback up", "lo");
    close(s);
    if (mount(0, "/", 0, MS_REC | MS_PRIVATE, 0) != 0)
        return fail("make private", "/");
    if (mount(root, root, 0, MS_BIND, 0) != 0)
        return fail("bind", root);
    if (mount(0, root, 0, MS_REMOUNT | MS_BIND | MS_RDONLY, 0) != 0)
        return fail("remount read-only", root);
    if (mount("tmpfs", tmp, "tmpfs", 0, "mode=1777") != 0)
        return fail("mount tmpfs", tmp);
    if (mount("tmpfs", dev, "tmpfs", 0, "mode=755") != 0)
        return fail("mount tmpfs", dev);
    static const struct {
        const char *name;
        unsigned minor;
    } nodes[] = {{"null", 3}, {"zero", 5}, {"urandom", 9}};
    for (int n = 0; n < 3; n++) {
        snprintf(node, sizeof node, "%s/%s", dev, nodes[n].name);
        if (mknod(node, S_IFCHR | 0666, makedev(1, nodes[n].minor)) != 0 || chmod(node, 0666) != 0)
            return fail("mknod", node);
    }
    if (mount(0, dev, 0, MS_REMOUNT | MS_RDONLY, 0) != 0)
        return fail("remount read-only", dev);
    if (chroot(root) != 0 || chdir("/") != 0)
        return fail("chroot", root);
    execve(prog[0], prog, env);
    return fail("execve", prog[0]);
}
