/*
 * vol_escape.c VOL — tries every way out of a volume the host prepared (see run.sh):
 * symlinks that are absolute, climb above the root or lead to a directory outside,
 * and symlinks the guest tries to create pointing outside. Nothing may reach the
 * host's secret file; every attempt prints its errno. Compared with an expected
 * transcript (these cases differ from a native run by design).
 */
#include "conf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("open %s -> %s\n", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("open %s -> READ \"%s\"\n", path, buf);
    close(fd);
}

static void try_stat(const char *path, int follow)
{
    struct stat st;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    printf("%s %s -> %s\n", follow ? "stat" : "lstat", path,
           r < 0                 ? errname(errno)
           : S_ISLNK(st.st_mode) ? "link"
           : S_ISDIR(st.st_mode) ? "dir"
                                 : "file");
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0)
        return 2;
    const char *links[] = {"abs", "up", "deep", "dirup", "absdir", "chain", "inside"};
    for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++) {
        try_stat(links[i], 0);
        try_stat(links[i], 1);
        try_open(links[i]);
    }
    try_open("dirup/secret");
    try_open("absdir/etc/hostname");
    try_open("sub/../../secret");
    try_stat("dirup/", 1);
    char buf[128];
    ssize_t n = readlink("abs", buf, sizeof buf);
    printf("readlink abs -> %.*s\n", (int)(n > 0 ? n : 0), buf);
    SHOW(chdir("dirup"));
    SHOW(open("up", O_WRONLY | O_TRUNC));
    SHOW(open("dirup/new", O_CREAT | O_WRONLY, 0644));
    SHOW(mkdir("dirup/newdir", 0755));
    SHOW(rename("inside", "dirup/moved"));
    SHOW(truncate("up", 0));
    SHOW(chmod("up", 0777));
    SHOW(symlink("/etc/passwd", "mine1"));
    SHOW(symlink("../secret", "mine2"));
    SHOW(symlink("sub/../../secret", "mine3"));
    SHOW(symlink("../../secret", "sub/mine4"));
    SHOW(symlink("../inside-target", "sub/mine5"));
    try_open("sub/mine5");
    /* ".." at the volume's root leaves it into the guest's own tree, never the host's. */
    SHOW(access("../secret", F_OK));
    return 0;
}
