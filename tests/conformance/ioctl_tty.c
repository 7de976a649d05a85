// ioctl TIOCGWINSZ/FIONREAD: stdio is not a terminal here (so stdout is fully buffered).
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    struct winsize ws;
    for (int fd = 0; fd < 3; fd++) {
        errno = 0;
        int r = ioctl(fd, TIOCGWINSZ, &ws);
        printf("fd %d: TIOCGWINSZ %s, isatty %d\n", fd, r == 0 ? "ok" : errname(errno), isatty(fd));
    }
    int f = open("/tmp/f", O_CREAT | O_RDWR, 0644);
    write(f, "0123456789", 10);
    SHOW(ioctl(f, TIOCGWINSZ, &ws));
    int n = -1;
    lseek(f, 3, SEEK_SET);
    SHOW(ioctl(f, FIONREAD, &n));
    printf("FIONREAD on a file at offset 3 of 10: %d\n", n);

    int p[2];
    pipe(p);
    SHOW(ioctl(p[0], TIOCGWINSZ, &ws));
    SHOW(ioctl(p[0], FIONREAD, &n));
    printf("FIONREAD empty pipe: %d\n", n);
    write(p[1], "abcdefg", 7);
    SHOW(ioctl(p[0], FIONREAD, &n));
    printf("FIONREAD after 7 bytes: %d\n", n);
    SHOW(ioctl(p[0], FIONREAD, (int *)8));
    SHOW(ioctl(p[0], 0x5401 + 0x7000, &n));
    int dn = open("/dev/null", O_RDWR);
    SHOW(ioctl(dn, TIOCGWINSZ, &ws));
    SHOW(ioctl(99, FIONREAD, &n));
    return 0;
}
