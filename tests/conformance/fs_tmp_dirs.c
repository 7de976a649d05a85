// Directories in /tmp: mkdir/rmdir and the errors of paths that are or are not directories.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    SHOW(mkdir("/tmp/d", 0755));
    SHOW(mkdir("/tmp/d", 0755));
    SHOW(mkdir("/tmp/d/sub", 0700));
    SHOW(mkdir("/tmp/missing/sub", 0755));
    SHOW(mkdir("/tmp/d/sub/", 0755));
    SHOW(mkdir("/tmp/d/new/", 0755));
    int fd = open("/tmp/d/file", O_CREAT | O_WRONLY, 0644);
    close(fd);

    SHOW(mkdir("/tmp/d/file", 0755));
    SHOW(mkdir("/tmp/d/file/x", 0755));
    SHOW(open("/tmp/d/file/x", O_RDONLY));
    SHOW(open("/tmp/d/file", O_RDONLY | O_DIRECTORY));
    SHOW(open("/tmp/d", O_WRONLY));
    SHOW(open("/tmp/d", O_RDWR));
    SHOW(open("/tmp/d", O_CREAT | O_WRONLY, 0644));
    SHOW(fd = open("/tmp/d", O_RDONLY | O_DIRECTORY));
    SHOW(read(fd, (char[8]){0}, 8));
    SHOW(write(fd, "x", 1));
    close(fd);

    SHOW(rmdir("/tmp/d"));
    SHOW(rmdir("/tmp/d/file"));
    SHOW(unlink("/tmp/d/sub"));
    SHOW(rmdir("/tmp/d/nope"));
    SHOW(rmdir("/tmp/d/sub/."));

    SHOW(rename("/tmp/d", "/tmp/d/sub/inner"));
    SHOW(rename("/tmp/d/file", "/tmp/d/sub"));
    SHOW(rename("/tmp/d/sub", "/tmp/d/file"));
    SHOW(mkdir("/tmp/e", 0755));
    SHOW(mkdir("/tmp/e/full", 0755));
    SHOW(rename("/tmp/d/sub", "/tmp/e"));
    SHOW(rename("/tmp/d/sub", "/tmp/e/full"));
    SHOW(rename("/tmp/d/new", "/tmp/e/moved"));

    struct stat st;
    SHOW(stat("/tmp/e/full/..", &st));
    printf("/tmp/e/full/.. is a directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
    SHOW(stat("/tmp/e/full", &st));
    printf("mode %o\n", st.st_mode & 07777);
    SHOW(stat("/tmp/d/sub", &st));
    SHOW(stat("/tmp/e/moved", &st));

    SHOW(rmdir("/tmp/e/moved"));
    SHOW(unlink("/tmp/d/file"));
    SHOW(rmdir("/tmp/d"));
    SHOW(rmdir("/tmp/e"));
    SHOW(rmdir("/tmp/e/full"));
    SHOW(rmdir("/tmp/e"));
    SHOW(stat("/tmp/e", &st));
    return 0;
}
