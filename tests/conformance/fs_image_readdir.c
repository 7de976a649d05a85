// Listing image directories with opendir/readdir (sorted here), and walking a small tree.
// files: data/tree/a.txt:/data/tree/a.txt data/tree/b.txt:/data/tree/b.txt
// files: data/tree/empty.txt:/data/tree/empty.txt data/tree/sub/c.txt:/data/tree/sub/c.txt
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("%*sopendir %s: %s\n", depth * 2, "", dir, errname(errno));
        return;
    }
    char *names[32];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 32)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    for (int i = 0; i < n; i++) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        stat(path, &st);
        if (S_ISDIR(st.st_mode)) {
            printf("%*s%s/\n", depth * 2, "", names[i]);
            if (strcmp(names[i], ".") && strcmp(names[i], ".."))
                walk(path, depth + 1);
        } else {
            printf("%*s%s %lld bytes\n", depth * 2, "", names[i], (long long)st.st_size);
        }
        free(names[i]);
    }
}

int main(void)
{
    walk("/data", 0);
    walk("/data/tree/a.txt", 0);
    walk("/data/none", 0);
    return 0;
}
