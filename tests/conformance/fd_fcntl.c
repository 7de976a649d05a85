// fcntl: F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL (O_NONBLOCK, O_APPEND), errors.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"

static void flags(const char *what, int fd)
{
    int f = fcntl(fd, F_GETFL);
    if (f < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    int acc = f & O_ACCMODE;
    printf("%s: %s%s%s\n", what,
           acc == O_RDONLY   ? "O_RDONLY"
           : acc == O_WRONLY ? "O_WRONLY"
                             : "O_RDWR",
           f & O_APPEND ? "|O_APPEND" : "", f & O_NONBLOCK ? "|O_NONBLOCK" : "");
}

int main(void)
{
    int fd = open("/tmp/f", O_CREAT | O_WRONLY | O_APPEND, 0644);
    SHOW(fcntl(fd, F_DUPFD, 20));
    SHOW(fcntl(fd, F_DUPFD, 20));
    SHOW(fcntl(fd, F_DUPFD, 0));
    SHOW(fcntl(fd, F_DUPFD_CLOEXEC, 30));
    SHOW(fcntl(30, F_GETFD));
    SHOW(fcntl(20, F_GETFD));
    SHOW(fcntl(20, F_SETFD, FD_CLOEXEC));
    SHOW(fcntl(20, F_GETFD));
    SHOW(fcntl(20, F_SETFD, 0));
    SHOW(fcntl(20, F_GETFD));
    SHOW(fcntl(fd, F_DUPFD, -1));
    SHOW(fcntl(fd, F_DUPFD, 1 << 30));

    flags("file O_WRONLY|O_APPEND", fd);
    int r = open("/tmp/f", O_RDONLY);
    flags("file O_RDONLY", r);
    int rw = open("/tmp/f", O_RDWR);
    flags("file O_RDWR", rw);
    SHOW(fcntl(r, F_SETFL, O_WRONLY | O_APPEND));
    flags("after F_SETFL O_WRONLY|O_APPEND", r);
    SHOW(fcntl(rw, F_SETFL, O_APPEND));
    SHOW(write(rw, "appended", 8));
    SHOW(write(fd, "!", 1));
    SHOW(lseek(rw, 0, SEEK_CUR));

    int p[2];
    pipe(p);
    flags("pipe read end", p[0]);
    flags("pipe write end", p[1]);
    SHOW(fcntl(p[0], F_SETFL, O_NONBLOCK));
    flags("read end after F_SETFL O_NONBLOCK", p[0]);
    char c;
    SHOW(read(p[0], &c, 1));
    SHOW(write(p[1], "y", 1));
    SHOW(read(p[0], &c, 1));
    SHOW(fcntl(p[0], F_SETFL, 0));
    flags("read end after clearing", p[0]);

    SHOW(fcntl(99, F_GETFL));
    SHOW(fcntl(99, F_GETFD));
    SHOW(fcntl(99, F_DUPFD, 0));
    SHOW(fcntl(fd, 9999));
    return 0;
}
