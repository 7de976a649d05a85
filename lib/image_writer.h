/*
 * image_writer.h — builds Uigniter images (format: docs/image-format.md) on the host.
 *
 * A builder collects a tree of guest paths, the entry program, default argv and
 * environment, then writes the image in one go. Host files are only stat'ed when
 * added and copied when written. The output depends only on the inputs (names,
 * contents, modes, mtimes, argv, env), never on the order files were added in or
 * on readdir's order, so the same inputs give the same bytes. No global state and
 * no printing: the monitor uses it to pack a bare ELF into a memfd, uigniterctl to
 * build image files.
 *
 * Every call returns 0 on success or -1 with a one-line message in imgw_error.
 * Guest paths are absolute or relative to the root, '/'-separated; empty
 * components are ignored, "." and ".." are refused.
 */
#ifndef UIGNITER_IMAGE_WRITER_H
#define UIGNITER_IMAGE_WRITER_H

#include <stddef.h>

struct imgw;

/* NULL when out of memory. */
struct imgw *imgw_new(void);
void imgw_free(struct imgw *w);

/* The last error as one human-readable line ("" if none; also safe on NULL). */
const char *imgw_error(const struct imgw *w);

/* A host file (symlinks followed) at guest_path, with its permission bits and mtime.
 * Missing parent directories are created (0755). Refuses an existing guest path. */
int imgw_add_file(struct imgw *w, const char *guest_path, const char *host_path);

/* host_dir's contents below guest_dir, recursively: files, directories, and symlinks
 * kept as symlinks. Directories merge with ones already there; files may not clash. */
int imgw_add_tree(struct imgw *w, const char *guest_dir, const char *host_dir);

/* A directory. An existing directory takes the new mode. */
int imgw_add_dir(struct imgw *w, const char *guest_path, unsigned mode);

/* A symbolic link to target (1..4095 bytes, not checked for existence). */
int imgw_add_symlink(struct imgw *w, const char *guest_path, const char *target);

/* A regular file with these contents (copied now), permission bits mode, mtime 0. */
int imgw_add_data(struct imgw *w, const char *guest_path, const void *data, size_t len,
                  unsigned mode);

/* The program to run: must be a regular file in the image by the time of writing. */
int imgw_set_entry(struct imgw *w, const char *guest_path);

/* Default argv, argv[0] included (argc >= 1). Without it: { entry path }. */
int imgw_set_argv(struct imgw *w, int argc, char *const argv[]);

/* One "NAME=VALUE" string; a later NAME replaces the value in place. */
int imgw_add_env(struct imgw *w, const char *kv);

/* Writes the whole image at fd's current offset (a file, memfd or pipe). */
int imgw_write_fd(struct imgw *w, int fd);

#endif
