// Private read-only mmap of an image file equals read(); offsets, the zero tail, and errors.
// files: data/lines.txt:/data/lines.txt data/hello.txt:/data/hello.txt
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

static void poke(void *p)
{
    *(volatile char *)p = 1;
}

int main(void)
{
    int fd = open("/data/lines.txt", O_RDONLY);
    if (fd < 0) {
        printf("open /data/lines.txt: %s\n", errname(errno));
        return 1;
    }
    struct stat st;
    fstat(fd, &st);
    size_t size = st.st_size;
    static char buf[16384];
    SHOW(read(fd, buf, sizeof buf));

    char *m = mmap(0, size, PROT_READ, MAP_PRIVATE, fd, 0);
    MAPOK(m);
    if (m == MAP_FAILED)
        return 1;
    printf("mapping equals read(): %s\n", memcmp(m, buf, size) ? "no" : "yes");
    size_t tail = 0;
    for (size_t i = size; i < ((size + 4095) & ~(size_t)4095); i++)
        tail += m[i] != 0;
    printf("bytes after EOF in the last page nonzero: %zu\n", tail);
    printf("write to the mapping: %s\n", signame(conf_trap(poke, m + 5)));

    char *m2 = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 8192);
    MAPOK(m2);
    printf("offset 8192 equals read(): %s\n", memcmp(m2, buf + 8192, size - 8192) ? "no" : "yes");
    munmap(m2, 4096);
    SHOW(munmap(m, size));
    printf("after munmap: %s\n", signame(conf_trap(poke, m)));

    /* The mapping stays valid after the fd is closed. */
    m = mmap(0, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    printf("after close still equal: %s\n", memcmp(m, buf, size) ? "no" : "yes");

    fd = open("/data/hello.txt", O_RDONLY);
    char *h = mmap(0, 100, PROT_READ, MAP_PRIVATE, fd, 0);
    MAPOK(h);
    printf("hello mapping: %.20s\n", h);
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 100));
    MAPOK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    MAPOK(mmap(0, 0, PROT_READ, MAP_PRIVATE, fd, 0));
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, 99, 0));
    int dir = open("/data", O_RDONLY | O_DIRECTORY);
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, dir, 0));
    int t = open("/tmp/w", O_CREAT | O_WRONLY, 0644);
    write(t, "xyz", 3);
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, t, 0));
    close(t);
    t = open("/tmp/w", O_RDONLY);
    char *tm = mmap(0, 4096, PROT_READ, MAP_PRIVATE, t, 0);
    MAPOK(tm);
    printf("tmpfs file mapping: %.3s then %d\n", tm, tm[3]);
    return 0;
}
