/*
 * etc.c — /etc/hosts and /etc/resolv.conf for images that bring none, so that
 * musl's resolver finds localhost and asks the name server given with --dns.
 *
 * An image's own files always win. A missing file is created in a small tmpfs
 * and mounted read-only on its name (the image's /etc stays visible); without
 * an /etc in the image, the tmpfs becomes /etc.
 */
#include "net.h"

#include "fs/vfs.h"

static int add_file(struct vnode *dir, const char *name, const char *text)
{
    struct vnode *v;
    int r = dir->ops->create(dir, name, strlen(name), S_IFREG | 0644, &v);
    if (r < 0)
        return r;
    struct file *f;
    r = vfs_open_vnode(v, O_WRONLY, &f);
    if (r == 0) {
        uint64_t pos = 0;
        ssize_t n = f->ops->write(f, text, strlen(text), &pos);
        r = n == (ssize_t)strlen(text) ? 0 : -EIO;
        file_put(f);
    }
    vn_put(v);
    return r;
}

static bool exists(const char *path)
{
    struct vnode *v;
    if (vfs_lookup(AT_FDCWD, path, 0, &v) < 0)
        return false;
    vn_put(v);
    return true;
}

void net_etc_files(uint32_t dns)
{
    static const char hosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    char resolv[64];
    snprintf(resolv, sizeof resolv, "nameserver %u.%u.%u.%u\n", dns & 0xff, (dns >> 8) & 0xff,
             (dns >> 16) & 0xff, dns >> 24);
    bool want_hosts = !exists("/etc/hosts"), want_resolv = dns && !exists("/etc/resolv.conf");
    if (!want_hosts && !want_resolv)
        return;
    struct vnode *t = tmpfs_new();
    if (!t)
        return;
    if ((want_hosts && add_file(t, "hosts", hosts) < 0) ||
        (want_resolv && add_file(t, "resolv.conf", resolv) < 0)) {
        vn_put(t);
        return;
    }
    if (!exists("/etc")) {
        vfs_mount(t, "/etc", true);
    } else {
        const char *names[2] = {want_hosts ? "hosts" : NULL, want_resolv ? "resolv.conf" : NULL};
        for (int i = 0; i < 2; i++) {
            struct vnode *v;
            if (!names[i] || t->ops->lookup(t, names[i], strlen(names[i]), &v) < 0)
                continue;
            char path[32];
            snprintf(path, sizeof path, "/etc/%s", names[i]);
            vfs_mount(v, path, true);
            vn_put(v);
        }
    }
    /* t stays: it holds the files for the life of the program. */
}
