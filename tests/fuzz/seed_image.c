/*
 * seed_image.c — writes the seed corpus of fuzz_image: a few small, valid images
 * made by the real writer (so none is committed as a binary file).
 * usage: seed_image DIR
 */
// fuzz-sources: lib/image_writer.c
#include "image_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int save(struct imgw *w, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s.img", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd >= 0 ? imgw_write_fd(w, fd) : -1;
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        fprintf(stderr, "seed_image: %s: %s\n", path, fd < 0 ? "cannot create" : imgw_error(w));
    imgw_free(w);
    return rc;
}

/* Only an empty entry: the smallest image there is. */
static int seed_minimal(const char *dir)
{
    struct imgw *w = imgw_new();
    if (!w || imgw_add_data(w, "/e", NULL, 0, 0755) < 0 || imgw_set_entry(w, "/e") < 0)
        return -1;
    return save(w, dir, "minimal");
}

/* Directories, symlinks, argv, env and one page of file data. */
static int seed_tree(const char *dir)
{
    struct imgw *w = imgw_new();
    char *const argv[] = {"/bin/app", "--flag", "value"};
    if (!w || imgw_add_data(w, "/bin/app", "\177ELF", 4, 0755) < 0 ||
        imgw_add_symlink(w, "/bin/sh", "app") < 0 || imgw_add_symlink(w, "/lib", "/usr/lib") < 0 ||
        imgw_add_dir(w, "/usr/lib/empty", 0700) < 0 ||
        imgw_add_data(w, "/etc/hosts", NULL, 0, 0644) < 0 ||
        imgw_add_data(w, "/etc/passwd", NULL, 0, 0644) < 0 || imgw_set_entry(w, "/bin/app") < 0 ||
        imgw_set_argv(w, 3, argv) < 0 || imgw_add_env(w, "HOME=/") < 0 ||
        imgw_add_env(w, "PATH=/bin") < 0)
        return -1;
    return save(w, dir, "tree");
}

/* One directory with many entries, and a deep chain. */
static int seed_wide_deep(const char *dir)
{
    struct imgw *w = imgw_new();
    char name[64];
    if (!w)
        return -1;
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "/w/%c%d", 'a' + i % 26, i);
        if (imgw_add_data(w, name, NULL, 0, 0644) < 0)
            return -1;
    }
    if (imgw_add_dir(w, "/d/d/d/d/d/d/d/d", 0755) < 0 || imgw_set_entry(w, "/w/a0") < 0)
        return -1;
    return save(w, dir, "wide-deep");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_image DIR\n");
        return 2;
    }
    if (seed_minimal(argv[1]) < 0 || seed_tree(argv[1]) < 0 || seed_wide_deep(argv[1]) < 0)
        return 1;
    return 0;
}
