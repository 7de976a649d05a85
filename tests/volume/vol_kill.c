/*
 * vol_kill.c DIR — writes DIR/durable.bin (1 MiB plus a tail) and fsyncs it and
 * DIR, prints "synced", then waits to be killed. The test kills uvmm with SIGKILL
 * and checks the file on the host.
 */
#include "conf.h"

#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0)
        return 2;
    static unsigned char buf[(1 << 20) + 123];
    uint32_t x = CONF_GEN_SEED;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = conf_gen_next(&x);
    int fd = open("durable.bin.tmp", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf || fsync(fd) < 0 || close(fd) < 0)
        return 3;
    if (rename("durable.bin.tmp", "durable.bin") < 0)
        return 4;
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd) < 0)
        return 5;
    /* Written, not synced: may or may not be there, must not break the rest. */
    fd = open("unsynced.bin", O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "maybe", 5) != 5)
        return 6;
    printf("synced\n");
    fflush(stdout);
    for (;;)
        sleep(1000);
}
