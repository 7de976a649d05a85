/*
 * vol_path.h — the pure checks behind volumes: the --volume option and the names a
 * guest passes. No I/O and no globals, so the fuzzer runs the very same code.
 */
#ifndef UVMM_VOL_PATH_H
#define UVMM_VOL_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Splits "HOSTDIR:GUESTDIR[:ro|:rw]" into host and guest (NUL-terminated, of at most
 * hostmax / guestmax bytes with the NUL). Returns 0, or -1 with *why saying what is
 * wrong. GUESTDIR must pass vol_guest_dir_ok. */
int vol_parse_spec(const char *spec, char *host, size_t hostmax, char *guest, size_t guestmax,
                   bool *readonly, const char **why);

/* An absolute, normalised mount point other than "/": no empty, "." or ".."
 * components and no trailing slash. */
bool vol_guest_dir_ok(const char *dir);

/* Whether a symlink at `link` (a path relative to the volume's root) with text
 * `target` (len bytes, no NUL) stays inside the volume when read lexically: a
 * relative target whose ".." never climb above the root. */
bool vol_link_inside(const char *link, size_t link_len, const char *target, size_t len);

/* Splits a relative path at its last slash: *name is the last component, and the
 * parent ("." when there is none) is written to parent (parentmax bytes). Returns 0,
 * or -1 when the last component is empty, "." or "..". */
int vol_split(const char *path, char *parent, size_t parentmax, const char **name);

#endif
