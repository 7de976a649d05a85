// /tmp is a writable tmpfs: create, write, read back, O_EXCL, O_APPEND, O_TRUNC, rename, unlink.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

static void cat(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cat %s: %s\n", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("cat %s: %zd bytes [%s]\n", path, n, buf);
    close(fd);
}

int main(void)
{
    int fd;
    SHOW(fd = open("/tmp/a", O_CREAT | O_WRONLY | O_EXCL, 0644));
    SHOW(write(fd, "hello world\n", 12));
    SHOW(read(fd, (char[4]){0}, 4));
    SHOW(close(fd));
    SHOW(open("/tmp/a", O_CREAT | O_WRONLY | O_EXCL, 0644));
    cat("/tmp/a");

    SHOW(fd = open("/tmp/a", O_WRONLY | O_APPEND));
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(write(fd, "more\n", 5));
    SHOW(lseek(fd, 0, SEEK_CUR));
    close(fd);
    cat("/tmp/a");

    SHOW(fd = open("/tmp/a", O_RDWR));
    SHOW(write(fd, "HELLO", 5));
    SHOW(lseek(fd, 0, SEEK_SET));
    char buf[8] = {0};
    SHOW(read(fd, buf, 7));
    printf("read back [%s]\n", buf);
    close(fd);

    SHOW(rename("/tmp/a", "/tmp/b"));
    cat("/tmp/a");
    cat("/tmp/b");
    fd = open("/tmp/c", O_CREAT | O_WRONLY, 0644);
    write(fd, "old c", 5);
    close(fd);
    SHOW(rename("/tmp/b", "/tmp/c"));
    cat("/tmp/b");
    cat("/tmp/c");
    SHOW(rename("/tmp/c", "/tmp/c"));
    SHOW(rename("/tmp/nope", "/tmp/d"));

    SHOW(fd = open("/tmp/c", O_WRONLY | O_TRUNC));
    struct stat st;
    SHOW(fstat(fd, &st));
    printf("size after O_TRUNC: %lld\n", (long long)st.st_size);
    close(fd);

    /* A 1 MiB file written in pieces and read back in other pieces. */
    static char big[1 << 20], back[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 131 + (i >> 12));
    fd = open("/tmp/big", O_CREAT | O_RDWR | O_TRUNC, 0600);
    size_t done = 0;
    for (size_t chunk = 1000; done < sizeof big; chunk = chunk * 3 % 70001 + 1) {
        size_t n = sizeof big - done < chunk ? sizeof big - done : chunk;
        done += write(fd, big + done, n);
    }
    lseek(fd, 0, SEEK_SET);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, back + got, 65536 - 1)) > 0)
        got += n;
    printf("1 MiB file: read %zu, equal: %s\n", got, memcmp(big, back, sizeof big) ? "no" : "yes");
    close(fd);

    SHOW(unlink("/tmp/c"));
    SHOW(unlink("/tmp/c"));
    SHOW(open("/tmp/nope", O_RDONLY));
    SHOW(open("/tmp/nope/x", O_CREAT | O_WRONLY, 0644));
    fd = open("/tmp/big", O_RDONLY);
    SHOW(write(fd, "x", 1));
    close(fd);
    fd = open("/tmp/big", O_WRONLY);
    SHOW(read(fd, buf, 1));
    close(fd);

    /* An open file survives its unlink until closed. */
    fd = open("/tmp/big", O_RDONLY);
    SHOW(unlink("/tmp/big"));
    SHOW(read(fd, buf, 4));
    SHOW(fstat(fd, &st));
    printf("unlinked file still has %lld bytes\n", (long long)st.st_size);
    SHOW(close(fd));
    return 0;
}
