/*
 * image.c — makes the program's image visible to the guest.
 *
 * The image file is mapped read-only and handed to KVM as a read-only memslot: the
 * guest reads files (and maps program text) straight out of the host's page cache,
 * with no copy and no hypercall, and many VMs of one image share those pages.
 * A bare static ELF is packed into an image in a memfd on the fly, with argv[0]
 * set to the path as given, so `uvmm ./prog` looks like `./prog` to the program.
 * The monitor does not interpret the image: the kernel validates every byte.
 */
#include "uvmm.h"

#include "image_writer.h"
#include "uigniter/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int pack_elf(const char *path)
{
    int fd = memfd_create("uvmm-image", MFD_CLOEXEC);
    if (fd < 0) {
        eprintf("uvmm: memfd_create: %s\n", strerror(errno));
        return -1;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char guest[512];
    if (snprintf(guest, sizeof guest, "/bin/%s", base) >= (int)sizeof guest) {
        eprintf("uvmm: %s: file name too long\n", path);
        close(fd);
        return -1;
    }
    struct imgw *w = imgw_new();
    if (!w || imgw_add_file(w, guest, path) < 0 || imgw_set_entry(w, guest) < 0 ||
        imgw_write_fd(w, fd) < 0) {
        eprintf("uvmm: %s: %s\n", path, w ? imgw_error(w) : "out of memory");
        imgw_free(w);
        close(fd);
        return -1;
    }
    imgw_free(w);
    return fd;
}

int image_open(struct vm *vm, const char *path, char **argv0_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        eprintf("uvmm: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char magic[8] = {0};
    ssize_t n = pread(fd, magic, sizeof magic, 0);
    if (n >= 4 && memcmp(magic, "\177ELF", 4) == 0) {
        close(fd);
        fd = pack_elf(path);
        if (fd < 0)
            return -1;
        if (argv0_out)
            *argv0_out = (char *)path;
    } else if (n != 8 || memcmp(magic, UIMG_MAGIC, 8) != 0) {
        eprintf("uvmm: %s: neither an image (uigniterctl build) nor an ELF executable\n",
                path);
        close(fd);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        eprintf("uvmm: %s: empty or unreadable image\n", path);
        close(fd);
        return -1;
    }
    vm->image_size = st.st_size;
    vm->image = mmap(NULL, vm->image_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (vm->image == MAP_FAILED) {
        eprintf("uvmm: cannot map %s: %s\n", path, strerror(errno));
        return -1;
    }
    return kvm_map_image(vm);
}
