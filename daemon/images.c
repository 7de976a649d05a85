/* images.c -- the daemon's image store: STATE/images/NAME.img.
 *
 * Uploads stream into a temporary file in the same directory, are checked
 * with the very parser the kernel uses (kernel/fs/image_parse.c) and only then
 * renamed into place, so the store never holds a half-written or malformed
 * image, and a VM that already runs keeps the image it was started with. A
 * static x86-64 ELF is accepted too and packed into an image on arrival
 * (lib/image_writer.c), so everything in the store is an image.
 */
#include <cJSON.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "image_parse.h"
#include "image_writer.h"
#include "log.h"
#include "runreq.h"

typedef struct upload {
    int fd;
    char tmp[PATH_MAX];
    char name[RR_IMAGE_MAX + 1];
    long long size;
} upload;

bool image_name_ok(const char *name)
{
    return name_ok(name, RR_IMAGE_MAX);
}

static void images_dir(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/images", cfg.state_dir);
}

const char *image_path(const char *name, char *out, size_t outlen)
{
    if (!image_name_ok(name))
        return NULL;
    snprintf(out, outlen, "%s/images/%s.img", cfg.state_dir, name);
    struct stat st;
    return stat(out, &st) == 0 && S_ISREG(st.st_mode) ? out : NULL;
}

static void upload_free(upload *u)
{
    if (u->fd >= 0)
        close(u->fd);
    if (u->tmp[0])
        unlink(u->tmp);
    free(u);
}

static void on_upload_abort(http_req *req, void *arg)
{
    (void)req;
    upload_free(arg);
}

static int on_piece(http_req *req, const char *data, size_t len, void *arg)
{
    upload *u = arg;
    if (u->size + (long long)len > cfg.max_image) {
        http_req_on_abort(req, NULL, NULL);
        upload_free(u);
        req->data = NULL;
        http_reply_error(req, 413, "image larger than %lld bytes (--max-image)", cfg.max_image);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(u->fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            http_req_on_abort(req, NULL, NULL);
            upload_free(u);
            req->data = NULL;
            http_reply_error(req, e == ENOSPC ? 507 : 500, "cannot store the image: %s",
                             strerror(e));
            return -1;
        }
        off += n;
    }
    u->size += len;
    return 0;
}

/* The name from PUT /images/NAME or POST /images?name=NAME. */
static int upload_name(http_req *req, char *name, size_t len)
{
    if (strncmp(req->path, "/images/", 8) == 0) {
        snprintf(name, len, "%s", req->path + 8);
        return 0;
    }
    return http_req_query(req, "name", name, len) < 0 ? -1 : 0;
}

void images_on_headers(http_req *req)
{
    char name[RR_IMAGE_MAX + 2];
    if (upload_name(req, name, sizeof name) < 0) {
        http_reply_error(req, 400, "say the image's name: POST /images?name=NAME");
        return;
    }
    if (!image_name_ok(name)) {
        http_reply_error(req, 400,
                         "bad image name '%.140s': want [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d",
                         name, RR_IMAGE_MAX);
        return;
    }
    if (req->content_length > cfg.max_image) {
        http_reply_error(req, 413, "image larger than %lld bytes (--max-image)", cfg.max_image);
        return;
    }
    upload *u = calloc(1, sizeof *u);
    if (!u)
        abort();
    snprintf(u->name, sizeof u->name, "%s", name);
    char dir[PATH_MAX];
    images_dir(dir, sizeof dir);
    snprintf(u->tmp, sizeof u->tmp, "%s/.upload-XXXXXX", dir);
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    if (u->fd < 0) {
        int e = errno;
        u->tmp[0] = 0;
        upload_free(u);
        http_reply_error(req, e == ENOSPC ? 507 : 500, "cannot store the image: %s",
                         strerror(e));
        return;
    }
    req->data = u;
    http_req_on_abort(req, on_upload_abort, u);
    http_req_stream_body(req, on_piece, u);
}

/* A static x86-64 ELF executable: the program headers are read and no
 * PT_INTERP is allowed (the library OS has no dynamic loader). */
static const char *elf_problem(int fd)
{
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
        return "truncated ELF header";
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_X86_64)
        return "not an x86-64 ELF";
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return "not an executable";
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
        return "bad program headers";
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, eh.e_phoff + (off_t)i * sizeof ph) != (ssize_t)sizeof ph)
            return "truncated program headers";
        if (ph.p_type == PT_INTERP)
            return "a dynamically linked program (build it with musl-gcc -static)";
    }
    return NULL;
}

/* Checks an image file with the kernel's parser. NULL when good. */
static const char *image_problem(int fd, char *why, size_t whylen, struct uimg_view *out,
                                 void **map, size_t *maplen)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return "empty";
    void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return strerror(errno);
    const char *w;
    uint64_t where;
    struct uimg_view v;
    if (uimg_open(&v, m, st.st_size, &w, &where) < 0) {
        munmap(m, st.st_size);
        snprintf(why, whylen, "%s %llu", w, (unsigned long long)where);
        return why;
    }
    if (out) {
        *out = v;
        *map = m;
        *maplen = st.st_size;
    } else {
        munmap(m, st.st_size);
    }
    return NULL;
}

/* Packs the ELF at src into an image at fd (truncated first). */
static const char *pack_elf(const char *src, const char *name, int fd, char *why, size_t whylen)
{
    char guest[RR_IMAGE_MAX + 8];
    snprintf(guest, sizeof guest, "/bin/%s", name);
    struct imgw *w = imgw_new();
    if (!w)
        return "out of memory";
    const char *problem = NULL;
    if (imgw_add_file(w, guest, src) < 0 || imgw_set_entry(w, guest) < 0 ||
        ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 || imgw_write_fd(w, fd) < 0) {
        snprintf(why, whylen, "%s", imgw_error(w)[0] ? imgw_error(w) : strerror(errno));
        problem = why;
    }
    imgw_free(w);
    return problem;
}

/* An image packed from a bare ELF is marked by an empty file .NAME.elf beside
 * it, so listings can say which kind the user uploaded. */
static void elf_marker(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/images/.%s.elf", cfg.state_dir, name);
}

static void elf_mark(const char *name, bool elf)
{
    char m[PATH_MAX + RR_IMAGE_MAX + 16];
    elf_marker(name, m, sizeof m);
    if (!elf) {
        unlink(m);
        return;
    }
    int fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        log_warn("cannot mark image %s as a packed ELF: %s", name, strerror(errno));
    else
        close(fd);
}

static cJSON *image_json(const char *name, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    char m[PATH_MAX + RR_IMAGE_MAX + 16];
    elf_marker(name, m, sizeof m);
    cJSON_AddStringToObject(o, "kind", access(m, F_OK) == 0 ? "elf" : "image");
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return o;
    }
    cJSON_AddNumberToObject(o, "size", (double)st.st_size);
    char t[32];
    fmt_time(st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9, t);
    cJSON_AddStringToObject(o, "created_at", t);
    char why[256];
    struct uimg_view v;
    void *map;
    size_t maplen;
    if (!image_problem(fd, why, sizeof why, &v, &map, &maplen)) {
        cJSON *args = cJSON_AddArrayToObject(o, "args");
        for (uint32_t i = 0; uimg_arg(&v, i); i++)
            cJSON_AddItemToArray(args, cJSON_CreateString(uimg_arg(&v, i)));
        cJSON *env = cJSON_AddArrayToObject(o, "env");
        for (uint32_t i = 0; uimg_env(&v, i); i++)
            cJSON_AddItemToArray(env, cJSON_CreateString(uimg_env(&v, i)));
        cJSON_AddNumberToObject(o, "files", v.count);
        munmap(map, maplen);
    }
    close(fd);
    return o;
}

/* The end of an upload: check, pack if it is an ELF, rename into place. */
void images_upload_done(http_req *req)
{
    upload *u = req->data;
    if (!u) {
        http_reply_error(req, 500, "upload lost");
        return;
    }
    http_req_on_abort(req, NULL, NULL);
    req->data = NULL;
    char why[256], dest[PATH_MAX + RR_IMAGE_MAX + 16];
    const char *problem = NULL;
    bool elf = false;
    unsigned char magic[4] = {0};
    if (pread(u->fd, magic, 4, 0) != 4) {
        problem = "empty or truncated";
    } else if (!memcmp(magic, ELFMAG, SELFMAG)) {
        problem = elf_problem(u->fd);
        elf = !problem;
        if (!problem) {
            /* The ELF stays where it is while its image is written next to it. */
            char dir[PATH_MAX];
            images_dir(dir, sizeof dir);
            char packed[PATH_MAX + 32];
            snprintf(packed, sizeof packed, "%s/.packed-XXXXXX", dir);
            int pfd = mkostemp(packed, O_CLOEXEC);
            if (pfd < 0) {
                problem = strerror(errno);
            } else {
                problem = pack_elf(u->tmp, u->name, pfd, why, sizeof why);
                unlink(u->tmp);
                close(u->fd);
                u->fd = pfd;
                snprintf(u->tmp, sizeof u->tmp, "%s", packed);
            }
        }
    }
    if (!problem)
        problem = image_problem(u->fd, why, sizeof why, NULL, NULL, NULL);
    if (problem) {
        http_reply_error(req, 400, "not an image or static x86-64 ELF: %s", problem);
        upload_free(u);
        return;
    }
    fchmod(u->fd, 0644);
    snprintf(dest, sizeof dest, "%s/images/%s.img", cfg.state_dir, u->name);
    if (fsync(u->fd) < 0 || rename(u->tmp, dest) < 0) {
        http_reply_error(req, 500, "cannot store the image: %s", strerror(errno));
        upload_free(u);
        return;
    }
    u->tmp[0] = 0;
    elf_mark(u->name, elf);
    log_info("image %s stored (%lld bytes received%s)", u->name, u->size,
             elf ? ", a bare ELF packed" : "");
    cJSON *o = image_json(u->name, dest);
    upload_free(u);
    http_reply_json(req, 201, o);
    cJSON_Delete(o);
}

void images_list(http_req *req)
{
    char dir[PATH_MAX];
    images_dir(dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) {
        http_reply_error(req, 500, "cannot read %s: %s", dir, strerror(errno));
        return;
    }
    /* Sorted by name, so listings are stable. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".img") != 0)
            continue;
        char name[RR_IMAGE_MAX + 8];
        if (l - 4 >= sizeof name)
            continue;
        memcpy(name, e->d_name, l - 4);
        name[l - 4] = 0;
        if (!image_name_ok(name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        names[n++] = strdup(name);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX + RR_IMAGE_MAX + 16];
        snprintf(p, sizeof p, "%s/%s.img", dir, names[i]);
        cJSON_AddItemToArray(a, image_json(names[i], p));
        free(names[i]);
    }
    free(names);
    http_reply_json(req, 200, a);
    cJSON_Delete(a);
}

void images_get(http_req *req, const char *name)
{
    char p[PATH_MAX + RR_IMAGE_MAX + 16];
    if (!image_name_ok(name)) {
        http_reply_error(req, 400, "bad image name");
        return;
    }
    if (!image_path(name, p, sizeof p)) {
        http_reply_error(req, 404, "no image '%s'", name);
        return;
    }
    cJSON *o = image_json(name, p);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

void images_delete(http_req *req, const char *name)
{
    char p[PATH_MAX + RR_IMAGE_MAX + 16];
    if (!image_name_ok(name)) {
        http_reply_error(req, 400, "bad image name");
        return;
    }
    if (!image_path(name, p, sizeof p)) {
        http_reply_error(req, 404, "no image '%s'", name);
        return;
    }
    bool force = api_query_flag(req, "force");
    if (!force) {
        for (vm *v = vm_list; v; v = v->next)
            if (strcmp(v->image, name) == 0 && vm_live(v)) {
                http_reply_error(req, 409, "image '%s' is used by VM %s (?force=1 removes it anyway)",
                                 name, v->id);
                return;
            }
    }
    if (unlink(p) < 0) {
        http_reply_error(req, 500, "cannot remove %s: %s", p, strerror(errno));
        return;
    }
    elf_mark(name, false);
    log_info("image %s removed", name);
    http_reply(req, 204, NULL, NULL, 0);
}
