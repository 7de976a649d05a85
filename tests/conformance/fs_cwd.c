// getcwd/chdir: starts at /, relative paths follow chdir, errors for files and missing dirs.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

static void pwd(void)
{
    char buf[256];
    printf("cwd: %s\n", getcwd(buf, sizeof buf) ? buf : errname(errno));
}

int main(void)
{
    pwd();
    SHOW(chdir("/tmp"));
    pwd();
    int fd = open("rel", O_CREAT | O_WRONLY, 0644);
    SHOW(write(fd, "x", 1));
    close(fd);
    struct stat st;
    SHOW(stat("/tmp/rel", &st));
    SHOW(mkdir("sub", 0755));
    SHOW(chdir("sub"));
    pwd();
    SHOW(stat("../rel", &st));
    SHOW(chdir("../../tmp/./sub/.."));
    pwd();
    SHOW(chdir("rel"));
    SHOW(chdir("nope"));
    SHOW(chdir(""));
    pwd();
    SHOW(chdir("/bin"));
    pwd();
    SHOW(chdir(".."));
    pwd();
    SHOW(chdir(".."));
    pwd();

    char small[4];
    errno = 0;
    printf("getcwd(buf, 4) in /tmp/sub: ");
    chdir("/tmp/sub");
    printf("%s\n", getcwd(small, sizeof small) ? "ok" : errname(errno));
    SHOW(syscall(SYS_getcwd, small, 1));
    SHOW(syscall(SYS_getcwd, (void *)8, 100));
    char buf[64];
    SHOW(syscall(SYS_getcwd, buf, sizeof buf));
    printf("raw getcwd: %s\n", buf);
    return 0;
}
