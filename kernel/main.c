/*
 * main.c — uk.elf's entry: check the boot information, set up the CPU, memory,
 * clocks and file systems (the image at /, tmpfs at /tmp, devices at /dev, volumes),
 * give the program its stdin/stdout/stderr, and start it.
 */
#include "fs/vfs.h"
#include "sys/proc.h"
#include "sys/time.h"
#include "net/net.h"

#define KSTACK_SIZE (64 * 1024)

static uint8_t kstack[KSTACK_SIZE] __attribute__((aligned(16)));
extern struct vnode *cwd_vnode;

void exec_start(const struct uh_bootinfo *bi) __attribute__((noreturn));
void misc_init(void);
void devfs_set_mount(struct mount *m);

void kmain(uint64_t bootinfo_pa)
{
    const struct uh_bootinfo *bi = PHYS_TO_VIRT(bootinfo_pa);
    if (bi->magic != UH_BOOT_MAGIC || bi->version != UH_BOOT_VERSION)
        panic("boot information has the wrong magic or version");
    kverbose = bi->flags & UH_BOOT_VERBOSE;
    knotify = bi->flags & UH_BOOT_NOTIFY;
    kmark(UH_MARK_KERNEL_ENTRY);
    cpu_init((uint64_t)kstack + KSTACK_SIZE);
    time_init(bi);
    misc_init();
    page_init(bi);
    pt_init(bi->pml4);

    struct vnode *root;
    const char *why;
    if (imgfs_init(bi, &root, &why) < 0)
        panic("image: %s", why);
    if (!vfs_mount(root, "/", true))
        panic("cannot mount the image");
    cwd_vnode = vn_get(root);
    struct vnode *tmp = tmpfs_new();
    if (!tmp || !vfs_mount(tmp, "/tmp", false))
        panic("cannot mount /tmp");
    struct mount *dev = vfs_mount(devfs_init(), "/dev", false);
    if (!dev)
        panic("cannot mount /dev");
    devfs_set_mount(dev);
    volfs_init();
    console_init(bi);
    net_init(bi);
    exec_start(bi);
}
