// stat/lstat/fstat/fstatat on files, directories, devices and pipes, and their failure paths.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

static const char *type(mode_t m)
{
    return S_ISREG(m)    ? "regular"
           : S_ISDIR(m)  ? "directory"
           : S_ISCHR(m)  ? "char device"
           : S_ISFIFO(m) ? "fifo"
           : S_ISLNK(m)  ? "symlink"
                         : "other";
}

static void show(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("stat %s: %s\n", path, errname(errno));
        return;
    }
    printf("stat %s: %s", path, type(st.st_mode));
    if (S_ISCHR(st.st_mode))
        printf(" %u,%u", major(st.st_rdev), minor(st.st_rdev));
    printf("\n");
}

int main(void)
{
    show("/");
    show("/tmp");
    show("/bin");
    show("/bin/fs_stat");
    show("/dev/null");
    show("/dev/zero");
    show("/dev/urandom");
    show("/nope");
    show("/bin/fs_stat/x");
    show("");
    show("/tmp/../bin/./fs_stat");

    time_t before = time(0);
    int fd = open("/tmp/f", O_CREAT | O_RDWR, 0600);
    write(fd, "twelve bytes", 12);
    struct stat st, st2;
    SHOW(fstat(fd, &st));
    time_t after = time(0);
    printf("fstat: %s size=%lld nlink=%lu mode=%o mtime recent: %s\n", type(st.st_mode),
           (long long)st.st_size, (unsigned long)st.st_nlink, st.st_mode & 07777,
           st.st_mtime >= before - 2 && st.st_mtime <= after + 2 ? "yes" : "no");
    SHOW(lstat("/tmp/f", &st2));
    printf("lstat agrees: %s\n",
           st2.st_size == st.st_size && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev ? "yes"
                                                                                           : "no");
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    SHOW(fstatat(dir, "f", &st2, 0));
    printf("fstatat(dirfd) same inode: %s\n", st2.st_ino == st.st_ino ? "yes" : "no");
    SHOW(fstatat(AT_FDCWD, "tmp/f", &st2, 0));
    SHOW(fstatat(fd, "", &st2, AT_EMPTY_PATH));
    printf("AT_EMPTY_PATH size: %lld\n", (long long)st2.st_size);
    SHOW(fstatat(fd, "", &st2, 0));
    SHOW(fstatat(fd, "x", &st2, 0));
    SHOW(fstatat(99, "x", &st2, 0));
    SHOW(fstatat(99, "/tmp/f", &st2, 0));
    SHOW(fstatat(dir, "f", &st2, 0x12345));
    SHOW(fstat(99, &st2));

    int p[2];
    pipe(p);
    fstat(p[0], &st2);
    printf("pipe: %s\n", type(st2.st_mode));
    SHOW(syscall(SYS_fstat, fd, (void *)8));
    SHOW(syscall(SYS_stat, "/tmp/f", (void *)8));
    SHOW(syscall(SYS_stat, (void *)8, &st2));
    SHOW(syscall(SYS_newfstatat, dir, "f", (void *)8, 0));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    SHOW(stat(longname, &st2));
    return 0;
}
