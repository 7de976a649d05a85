// openat with directory fds, path resolution (., .., //, trailing /), O_CLOEXEC, name limits.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int dir, fd, file;
    SHOW(dir = open("/tmp", O_RDONLY | O_DIRECTORY));
    SHOW(file = openat(dir, "f", O_CREAT | O_WRONLY, 0600));
    SHOW(write(file, "data", 4));
    SHOW(fd = openat(AT_FDCWD, "tmp/f", O_RDONLY));
    close(fd);
    SHOW(openat(file, "x", O_RDONLY));
    SHOW(openat(99, "x", O_RDONLY));
    SHOW(fd = openat(99, "/tmp/f", O_RDONLY));
    close(fd);

    const char *paths[] = {"/tmp/./f", "/tmp/../tmp/f", "//tmp///f", "/../../tmp/f",
                           "/tmp/f/",  "/tmp/f/.",      "/tmp/f/..", "/tmp/",
                           "/tmp/.",   "tmp/../tmp/f",  ""};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        errno = 0;
        fd = open(paths[i], O_RDONLY);
        printf("open(\"%s\") -> %s\n", paths[i], fd >= 0 ? "ok" : errname(errno));
        if (fd >= 0)
            close(fd);
    }

    SHOW(fd = open("/tmp/f", O_RDONLY | O_CLOEXEC));
    SHOW(fcntl(fd, F_GETFD));
    close(fd);
    SHOW(fd = open("/tmp/f", O_RDONLY));
    SHOW(fcntl(fd, F_GETFD));
    close(fd);

    char name[300];
    memset(name, 'a', sizeof name);
    memcpy(name, "/tmp/", 5);
    name[5 + 255] = 0;
    SHOW(fd = open(name, O_CREAT | O_WRONLY, 0600));
    close(fd);
    name[5 + 255] = 'a';
    name[5 + 256] = 0;
    SHOW(open(name, O_CREAT | O_WRONLY, 0600));
    static char longpath[5000];
    strcpy(longpath, "/tmp");
    while (strlen(longpath) < 4200)
        strcat(longpath, "/.");
    strcat(longpath, "/f");
    SHOW(open(longpath, O_RDONLY));
    longpath[4090] = 0;
    strcat(longpath, "/f");
    SHOW(fd = open(longpath, O_RDONLY) >= 0);
    return 0;
}
