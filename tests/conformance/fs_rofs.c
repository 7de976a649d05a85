// The image is a read-only root: changes fail with EROFS (or EEXIST/EXDEV first), /tmp works.
// files: data/hello.txt:/data/hello.txt
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int fd;
    SHOW(open("/newfile", O_CREAT | O_WRONLY, 0644));
    SHOW(open("/bin/newfile", O_CREAT | O_WRONLY | O_EXCL, 0644));
    SHOW(open("/data/hello.txt", O_WRONLY));
    SHOW(open("/data/hello.txt", O_RDWR));
    SHOW(open("/data/hello.txt", O_RDONLY | O_TRUNC));
    SHOW(open("/data/hello.txt", O_WRONLY | O_APPEND));
    SHOW(open("/data/hello.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    SHOW(open("/nodir/newfile", O_CREAT | O_WRONLY, 0644));
    SHOW(fd = open("/data/hello.txt", O_RDONLY));
    SHOW(write(fd, "x", 1));
    SHOW(ftruncate(fd, 0));
    close(fd);
    SHOW(open("/bin", O_WRONLY));
    SHOW(mkdir("/newdir", 0755));
    SHOW(mkdir("/bin", 0755));
    SHOW(rmdir("/bin"));
    SHOW(unlink("/bin/fs_rofs"));
    SHOW(unlink("/data/hello.txt"));
    SHOW(unlink("/data/missing"));
    SHOW(rename("/data/hello.txt", "/data/renamed.txt"));
    SHOW(rename("/bin/fs_rofs", "/bin/other"));
    SHOW(rename("/bin/fs_rofs", "/tmp/other"));

    SHOW(fd = open("/tmp/ok", O_CREAT | O_WRONLY, 0644));
    SHOW(write(fd, "fine", 4));
    close(fd);
    SHOW(rename("/tmp/ok", "/moved"));
    SHOW(mkdir("/tmp/dir", 0755));
    SHOW(unlink("/tmp/ok"));
    SHOW(rmdir("/tmp/dir"));
    struct stat st;
    SHOW(stat("/bin/fs_rofs", &st));
    printf("binary is a regular file: %s, not empty: %s\n", S_ISREG(st.st_mode) ? "yes" : "no",
           st.st_size > 0 ? "yes" : "no");
    return 0;
}
