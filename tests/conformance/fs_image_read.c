// Files packed into the image: read, pread, lseek, stat sizes and types, path and type errors.
// files: data/hello.txt:/data/hello.txt data/lines.txt:/data/lines.txt
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    char buf[11000];
    int fd;
    SHOW(fd = open("/data/hello.txt", O_RDONLY));
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read %zd: %.*s", n, (int)n, buf);
    SHOW(read(fd, buf, sizeof buf));
    struct stat st;
    SHOW(fstat(fd, &st));
    printf("regular: %s size: %lld\n", S_ISREG(st.st_mode) ? "yes" : "no", (long long)st.st_size);
    close(fd);

    FILE *f = fopen("/data/lines.txt", "r");
    if (!f) {
        printf("fopen /data/lines.txt: %s\n", errname(errno));
        return 1;
    }
    int lines = 0;
    uint64_t h = CONF_FNV_INIT;
    while (fgets(buf, sizeof buf, f)) {
        lines++;
        h = conf_fnv(h, buf, strlen(buf));
    }
    printf("lines.txt: %d lines, fnv %016llx\n", lines, (unsigned long long)h);
    fclose(f);

    SHOW(fd = open("/data/lines.txt", O_RDONLY));
    SHOW(lseek(fd, 0, SEEK_END));
    SHOW(lseek(fd, -20, SEEK_END));
    n = read(fd, buf, 100);
    printf("last %zd bytes: %.*s", n, (int)n, buf);
    SHOW(pread(fd, buf, 27, 4090));
    printf("across the page boundary: %.27s\n", buf);
    SHOW(pread(fd, buf, 10, 1 << 20));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(write(fd, "x", 1));
    close(fd);

    SHOW(stat("/data", &st));
    printf("/data is a directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
    SHOW(stat("/data/lines.txt", &st));
    printf("size %lld\n", (long long)st.st_size);
    SHOW(stat("//data/./../data/hello.txt", &st));
    SHOW(open("/data/missing", O_RDONLY));
    SHOW(open("/data/hello.txt/x", O_RDONLY));
    SHOW(open("/data/hello.txt", O_RDONLY | O_DIRECTORY));
    SHOW(fd = open("/data", O_RDONLY));
    SHOW(read(fd, buf, 10));
    return 0;
}
