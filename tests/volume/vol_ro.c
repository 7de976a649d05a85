/*
 * vol_ro.c VOL — a read-only volume holding file.txt and dir/: reads work, every
 * change is EROFS (compared with an expected transcript; run.sh also checks that the
 * host directory did not change).
 */
#include "conf.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0)
        return 2;
    char buf[64];
    int fd = open("file.txt", O_RDONLY);
    OK(fd);
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read -> %.*s", (int)(n > 0 ? n : 0), buf);
    SHOW(write(fd, "x", 1));
    SHOW(ftruncate(fd, 0));
    SHOW(fsync(fd));
    SHOW(fchmod(fd, 0600));
    SHOW(close(fd));
    SHOW(open("file.txt", O_WRONLY));
    SHOW(open("file.txt", O_RDWR));
    SHOW(open("file.txt", O_RDONLY | O_TRUNC));
    SHOW(open("new.txt", O_CREAT | O_WRONLY, 0644));
    SHOW(open("file.txt", O_CREAT | O_RDONLY, 0644) >= 0);
    SHOW(mkdir("newdir", 0755));
    SHOW(rmdir("dir"));
    SHOW(unlink("file.txt"));
    SHOW(rename("file.txt", "moved.txt"));
    SHOW(symlink("file.txt", "link"));
    SHOW(truncate("file.txt", 0));
    SHOW(chmod("file.txt", 0600));
    SHOW(utimensat(AT_FDCWD, "file.txt", NULL, 0));
    SHOW(access("file.txt", W_OK));
    SHOW(access("file.txt", R_OK));
    struct statvfs sv;
    SHOW(statvfs(".", &sv));
    printf("ST_RDONLY: %s\n", sv.f_flag & ST_RDONLY ? "yes" : "no");
    DIR *d = opendir(".");
    int count = 0;
    while (readdir(d))
        count++;
    closedir(d);
    printf("entries: %d\n", count);
    if (argc > 2) { /* a read-write volume beside it */
        char other[256];
        snprintf(other, sizeof other, "%s/x", argv[2]);
        errno = 0;
        conf_show("rename(\"file.txt\", other)", rename("file.txt", other));
        int w = open(other, O_CREAT | O_WRONLY, 0644);
        conf_show("write to the other volume", w < 0 || write(w, "written", 7) != 7 ? -1 : 0);
        close(w);
    }
    return 0;
}
