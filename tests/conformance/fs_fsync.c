// fsync on tmpfs and image files, directories, pipes and devices.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int fd = open("/tmp/f", O_CREAT | O_WRONLY, 0644);
    write(fd, "x", 1);
    SHOW(fsync(fd));
    close(fd);
    fd = open("/bin/fs_fsync", O_RDONLY);
    SHOW(fsync(fd));
    close(fd);
    fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    SHOW(fsync(fd));
    close(fd);
    int p[2];
    pipe(p);
    SHOW(fsync(p[0]));
    SHOW(fsync(p[1]));
    fd = open("/dev/null", O_WRONLY);
    SHOW(fsync(fd));
    SHOW(fsync(99));
    SHOW(fsync(-1));
    return 0;
}
