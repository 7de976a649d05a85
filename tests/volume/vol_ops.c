/*
 * vol_ops.c DIR — file and directory calls inside DIR, an empty directory: run
 * natively on a host directory and under uvmm with such a directory as a volume,
 * the two stdouts must be equal. Prints names, errnos and sizes, never inode
 * numbers or times (only whether times are what was set).
 */
#include "conf.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir, with each entry's type, on one line. */
static void list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("list %s -> %s\n", dir, errname(errno));
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        char *s = malloc(strlen(e->d_name) + 4);
        sprintf(s, "%s:%c", e->d_name,
                e->d_type == DT_DIR   ? 'd'
                : e->d_type == DT_LNK ? 'l'
                : e->d_type == DT_REG ? 'f'
                                      : '?');
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    printf("list %s:", dir);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void show_stat(const char *what, int r, const struct stat *st)
{
    if (r < 0) {
        printf("%s -> %s\n", what, errname(errno));
        return;
    }
    const char *t = S_ISREG(st->st_mode)   ? "reg"
                    : S_ISDIR(st->st_mode) ? "dir"
                    : S_ISLNK(st->st_mode) ? "lnk"
                                           : "other";
    if (S_ISDIR(st->st_mode))
        printf("%s -> %s %o\n", what, t, st->st_mode & 07777);
    else
        printf("%s -> %s %o size %lld\n", what, t, st->st_mode & 07777, (long long)st->st_size);
}

static void cat(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cat %s -> %s\n", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("cat %s -> \"%s\"\n", path, buf);
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0) {
        printf("usage: vol_ops DIR\n");
        return 2;
    }
    struct stat st;
    char buf[4096];

    /* Files: create, write, read back, positions. */
    int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0640);
    OK(fd);
    SHOW(write(fd, "hello volume\n", 13));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(lseek(fd, 6, SEEK_SET));
    SHOW(read(fd, buf, 6));
    printf("read: %.6s\n", buf);
    SHOW(pwrite(fd, "VOL", 3, 6));
    SHOW(pread(fd, buf, 13, 0));
    printf("pread: %.12s\n", buf);
    SHOW(lseek(fd, 0, SEEK_END));
    SHOW(lseek(fd, 100, SEEK_END));
    SHOW(write(fd, "x", 1));
    show_stat("fstat a.txt", fstat(fd, &st), &st);
    SHOW(pread(fd, buf, 4, 120));
    SHOW(pread(fd, buf, 4, 113));
    printf("hole: %d %d %d %c\n", buf[0], buf[1], buf[2], buf[3] ? 'x' : '0');
    SHOW(ftruncate(fd, 5));
    show_stat("fstat after ftruncate", fstat(fd, &st), &st);
    SHOW(ftruncate(fd, 8192));
    show_stat("fstat after grow", fstat(fd, &st), &st);
    SHOW(ftruncate(fd, -1));
    SHOW(fsync(fd));
    SHOW(fdatasync(fd));
    SHOW(close(fd));
    SHOW(open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0600));
    SHOW(truncate("a.txt", 3));
    cat("a.txt");

    /* Vectors, append, truncate on open. */
    fd = open("v.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
    SHOW(writev(fd, iov, 3));
    SHOW(close(fd));
    fd = open("v.txt", O_WRONLY | O_APPEND);
    SHOW(write(fd, "four\n", 5));
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(write(fd, "five\n", 5));
    SHOW(close(fd));
    cat("v.txt");
    fd = open("v.txt", O_RDONLY);
    char b1[5], b2[100];
    struct iovec riov[2] = {{b1, 4}, {b2, 99}};
    ssize_t n = readv(fd, riov, 2);
    printf("readv -> %zd: %.4s|%.*s", n, b1, (int)(n > 4 ? n - 4 : 0), b2);
    SHOW(write(fd, "no", 2));
    SHOW(close(fd));
    fd = open("v.txt", O_RDWR | O_TRUNC);
    show_stat("fstat after O_TRUNC", fstat(fd, &st), &st);
    SHOW(close(fd));
    OK(fd = creat("big.bin", 0600));
    static char chunk[300000];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)(i * 7 + i / 1000);
    SHOW(write(fd, chunk, sizeof chunk));
    SHOW(close(fd));
    fd = open("big.bin", O_RDONLY);
    memset(chunk, 0, sizeof chunk);
    SHOW(read(fd, chunk, sizeof chunk + 5));
    printf("big fnv %016llx\n", (unsigned long long)conf_fnv(CONF_FNV_INIT, chunk, sizeof chunk));
    void *m = mmap(0, 8192, PROT_READ, MAP_PRIVATE, fd, 4096);
    MAPOK(m);
    if (m != MAP_FAILED)
        printf("mmap fnv %016llx\n", (unsigned long long)conf_fnv(CONF_FNV_INIT, m, 8192));
    MAPOK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    SHOW(close(fd));

    /* Directories. */
    SHOW(mkdir("d", 0755));
    SHOW(mkdir("d", 0755));
    SHOW(mkdir("d/e", 0700));
    SHOW(mkdir("nope/e", 0700));
    SHOW(mkdir("a.txt/e", 0700));
    fd = open("d/e/f", O_CREAT | O_WRONLY, 0644);
    SHOW(write(fd, "in e\n", 5));
    SHOW(close(fd));
    SHOW(rmdir("d/e"));
    SHOW(rmdir("d/e/f"));
    SHOW(unlink("d"));
    SHOW(unlink("d/e"));
    SHOW(rmdir("nope"));
    show_stat("stat d/e", stat("d/e", &st), &st);
    show_stat("stat d/e/f", stat("d/e/f", &st), &st);
    show_stat("stat d/e/f/", stat("d/e/f/", &st), &st);
    show_stat("stat d/../a.txt", stat("d/../a.txt", &st), &st);
    show_stat("stat d/e/../../v.txt", stat("d/e/../../v.txt", &st), &st);
    SHOW(open("d", O_WRONLY));
    SHOW(open("a.txt", O_RDONLY | O_DIRECTORY));
    list(".");
    list("d");
    list("d/e");
    list("a.txt");

    /* Relative to directory fds, and the cwd moving around. */
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    OK(dfd);
    SHOW(fsync(dfd));
    fd = openat(dfd, "e/g", O_CREAT | O_RDWR, 0600);
    OK(fd);
    SHOW(close(fd));
    show_stat("fstatat e/g", fstatat(dfd, "e/g", &st, 0), &st);
    SHOW(mkdirat(dfd, "h", 0755));
    SHOW(renameat(dfd, "e/g", dfd, "h/g2"));
    SHOW(unlinkat(dfd, "h", AT_REMOVEDIR));
    SHOW(unlinkat(dfd, "h/g2", 0));
    SHOW(unlinkat(dfd, "h", AT_REMOVEDIR));
    SHOW(fchdir(dfd));
    cat("e/f");
    cat("../v.txt");
    SHOW(chdir("e"));
    cat("f");
    SHOW(chdir("../.."));
    cat("a.txt");
    SHOW(close(dfd));

    /* Renames. */
    SHOW(rename("a.txt", "b.txt"));
    SHOW(rename("a.txt", "b.txt"));
    SHOW(rename("v.txt", "b.txt"));
    cat("b.txt");
    fd = open("c.txt", O_CREAT | O_WRONLY, 0644);
    SHOW(close(fd));
    SHOW(syscall(SYS_renameat2, AT_FDCWD, "c.txt", AT_FDCWD, "b.txt", 1 /* NOREPLACE */));
    SHOW(rename("d", "d2"));
    SHOW(rename("b.txt", "d2"));
    SHOW(rename("d2", "b.txt"));
    SHOW(mkdir("full", 0755));
    SHOW(mkdir("full/x", 0755));
    SHOW(rename("d2", "full"));
    SHOW(rename("d2", "d2/e/inside"));
    list(".");

    /* Unlinked while open: the file lives on. */
    fd = open("c.txt", O_RDWR);
    SHOW(unlink("c.txt"));
    SHOW(write(fd, "ghost", 5));
    show_stat("fstat unlinked", fstat(fd, &st), &st);
    SHOW(pread(fd, buf, 10, 0));
    SHOW(close(fd));
    show_stat("stat c.txt", stat("c.txt", &st), &st);

    /* Symlinks inside the directory. */
    SHOW(symlink("b.txt", "lb"));
    SHOW(symlink("d2/e", "le"));
    SHOW(symlink("d2/e/../../b.txt", "lup"));
    SHOW(symlink("missing", "ldang"));
    SHOW(symlink("b.txt", "lb"));
    show_stat("lstat lb", lstat("lb", &st), &st);
    show_stat("stat lb", stat("lb", &st), &st);
    show_stat("stat ldang", stat("ldang", &st), &st);
    show_stat("stat lup", stat("lup", &st), &st);
    n = readlink("lb", buf, sizeof buf);
    printf("readlink lb -> %zd %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    SHOW(readlink("b.txt", buf, sizeof buf));
    cat("lb");
    cat("le/f");
    cat("lup");
    SHOW(open("lb", O_RDONLY | O_NOFOLLOW));
    SHOW(chdir("le"));
    cat("f");
    SHOW(chdir(".."));
    cat("d2/e/f");
    SHOW(chdir("/"));
    SHOW(chdir(argv[1]));
    SHOW(unlink("lb"));
    cat("b.txt");
    SHOW(unlink("ldang"));

    /* Modes, access and times. */
    SHOW(chmod("b.txt", 0600));
    show_stat("stat b.txt", stat("b.txt", &st), &st);
    fd = open("b.txt", O_RDONLY);
    SHOW(fchmod(fd, 0444));
    show_stat("fstat b.txt", fstat(fd, &st), &st);
    SHOW(close(fd));
    SHOW(access("b.txt", R_OK));
    SHOW(access("b.txt", F_OK));
    SHOW(access("nope", F_OK));
    struct timespec ts[2] = {{1000000000, 5000}, {1200000000, 7000}};
    SHOW(utimensat(AT_FDCWD, "b.txt", ts, 0));
    SHOW(stat("b.txt", &st));
    printf("times: %lld.%ld %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = 1300000000;
    SHOW(utimensat(AT_FDCWD, "b.txt", ts, 0));
    SHOW(stat("b.txt", &st));
    printf("times: %lld %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);

    /* Directory offsets survive telldir/seekdir. */
    DIR *d = opendir(".");
    long pos = -1;
    char after[256] = "";
    int i = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (i == 2)
            pos = telldir(d);
        if (i == 3)
            snprintf(after, sizeof after, "%s", e->d_name);
        i++;
    }
    seekdir(d, pos);
    e = readdir(d);
    printf("seekdir: %s (%d entries)\n", e && !strcmp(e->d_name, after) ? "same" : "differs", i);
    rewinddir(d);
    i = 0;
    while (readdir(d))
        i++;
    printf("rewinddir: %d entries\n", i);
    closedir(d);
    return 0;
}
