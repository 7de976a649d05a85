// getdents64 with a small buffer over a /tmp directory; names sorted here; readdir after unlinks.
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static char names[64][64];
static int count;

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void add(const char *name, int type)
{
    snprintf(names[count++], 64, "%.50s%s", name, type == DT_DIR ? "/" : type == DT_REG ? "" : "?");
}

static void print(const char *title)
{
    qsort(names, count, sizeof names[0], cmp);
    printf("%s (%d):", title, count);
    for (int i = 0; i < count; i++)
        printf(" %s", names[i]);
    printf("\n");
    count = 0;
}

int main(void)
{
    char path[64];
    mkdir("/tmp/dir", 0755);
    mkdir("/tmp/dir/subdir", 0755);
    for (int i = 0; i < 20; i++) {
        snprintf(path, sizeof path, "/tmp/dir/file-%02d-%.*s", i, i, "abcdefghijklmnopqrstu");
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }

    int fd = open("/tmp/dir", O_RDONLY | O_DIRECTORY);
    char buf[80];
    long n;
    int calls = 0, bad_reclen = 0;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        calls++;
        for (long off = 0; off < n;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
            bad_reclen +=
                d->d_reclen % 8 != 0 ||
                d->d_reclen < offsetof(struct dirent64_raw, d_name) + strlen(d->d_name) + 1;
            add(d->d_name, d->d_type);
            off += d->d_reclen;
        }
    }
    printf("last getdents64: %s, needed more than one call: %s, bad d_reclen: %d\n",
           n == 0 ? "0" : errname(errno), calls > 1 ? "yes" : "no", bad_reclen);
    print("getdents64");
    SHOW(syscall(SYS_getdents64, fd, buf, sizeof buf));
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(syscall(SYS_getdents64, fd, buf, 8));
    close(fd);

    fd = open("/tmp/dir/file-00-", O_RDONLY);
    SHOW(syscall(SYS_getdents64, fd, buf, sizeof buf));
    close(fd);
    SHOW(syscall(SYS_getdents64, 99, buf, sizeof buf));

    for (int i = 0; i < 20; i += 2) {
        snprintf(path, sizeof path, "/tmp/dir/file-%02d-%.*s", i, i, "abcdefghijklmnopqrstu");
        unlink(path);
    }
    rmdir("/tmp/dir/subdir");
    DIR *d = opendir("/tmp/dir");
    struct dirent *e;
    while ((e = readdir(d)))
        add(e->d_name, e->d_type);
    print("readdir after unlinks");
    rewinddir(d);
    while ((e = readdir(d)))
        add(e->d_name, e->d_type);
    print("again after rewinddir");
    closedir(d);

    mkdir("/tmp/empty", 0755);
    d = opendir("/tmp/empty");
    while ((e = readdir(d)))
        add(e->d_name, e->d_type);
    print("empty directory");
    closedir(d);
    errno = 0;
    printf("opendir of a file: %s\n", opendir("/tmp/dir/file-01-a") ? "ok" : errname(errno));
    return 0;
}
