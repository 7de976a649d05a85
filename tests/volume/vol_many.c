/*
 * vol_many.c DIR [N] — many files in one directory of DIR: create N (default 3000),
 * list them in getdents batches, keep 300 open at once, delete every other one and
 * list again. Prints counts and digests of the sorted names, the same natively and
 * under uvmm.
 */
#include "conf.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of entries (without . and ..) and a digest of their sorted names. */
static void list(const char *what)
{
    DIR *d = opendir("many");
    if (!d) {
        printf("%s: opendir -> %s\n", what, errname(errno));
        return;
    }
    static char *names[100000];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 100000) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    uint64_t h = CONF_FNV_INIT;
    for (int i = 0; i < n; i++) {
        h = conf_fnv(h, names[i], strlen(names[i]) + 1);
        free(names[i]);
    }
    printf("%s: %d entries, names %016llx\n", what, n, (unsigned long long)h);
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0) {
        printf("usage: vol_many DIR [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 3000;
    SHOW(mkdir("many", 0755));
    char name[300], data[64];
    int bad = 0;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "many/file-%05d-%.*s", i, i % 200,
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
        int len = snprintf(data, sizeof data, "file %d\n", i);
        if (fd < 0 || write(fd, data, len) != len || close(fd) < 0)
            bad++;
    }
    printf("created %d, %d failed\n", n, bad);
    list("after create");

    /* Many open at once. */
    int fds[300], opened = 0;
    for (int i = 0; i < 300 && i < n; i++) {
        snprintf(name, sizeof name, "many/file-%05d-%.*s", i, i % 200,
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        fds[i] = open(name, O_RDONLY);
        opened += fds[i] >= 0;
    }
    uint64_t h = CONF_FNV_INIT;
    for (int i = 0; i < opened; i++) {
        ssize_t r = read(fds[i], data, sizeof data);
        if (r > 0)
            h = conf_fnv(h, data, r);
        close(fds[i]);
    }
    printf("opened %d at once, contents %016llx\n", opened, (unsigned long long)h);

    bad = 0;
    DIR *d = opendir("many");
    struct dirent *e;
    int removed = 0;
    while ((e = readdir(d))) {
        int num;
        if (sscanf(e->d_name, "file-%d", &num) == 1 && num % 2 == 0) {
            snprintf(name, sizeof name, "many/%s", e->d_name);
            if (unlink(name) < 0)
                bad++;
            removed++;
        }
    }
    closedir(d);
    printf("removed %d while listing, %d failed\n", removed, bad);
    list("after remove");
    SHOW(rmdir("many"));
    return 0;
}
