/*
 * cmd_inspect.c — `uigniterctl inspect APP.img|ID`. Given a file, it validates the
 * image with the very parser the kernel uses (kernel/fs/image_parse.c) and prints
 * what it holds; given anything else, it asks the daemon for that VM
 * (GET /vm/{id}) and prints its JSON, indented (as is with --json). A file wins:
 * an argument that names an existing regular file, or that has a '/' in it (which
 * no VM id or name has), is an image; a directory of the same name as a VM (the
 * tree's own web/, say) does not hide the VM.
 *
 * The image listing is meant for people and for tests, so it is stable: a summary,
 * the entry, argv and env as quoted strings, then the tree in depth-first name
 * order, one line per inode. The walk is iterative (parent fields and contiguous
 * runs make that easy), so a deep image cannot exhaust the stack of the tool that
 * checks it.
 */
#include "api.h"
#include "cli.h"
#include "image_parse.h"

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char inspect_usage[] =
    "usage: uigniterctl inspect APP.img\n"
    "       uigniterctl inspect ID\n"
    "\n"
    "With a file (an existing regular file, or any argument with a '/'), checks\n"
    "APP.img as the kernel would and prints it:\n"
    "  image: PATH (N bytes, N inodes)\n"
    "  entry: GUEST PATH of the program\n"
    "  argv: \"ARG\"...   default arguments, argv[0] first\n"
    "  env: \"K=V\"...    default environment\n"
    "  then one line per file: MODE SIZE MTIME PATH [-> TARGET]\n"
    "  (directories: SIZE is the number of entries; MTIME is UTC).\n"
    "Names are printed as stored, with control bytes and '\\' escaped.\n"
    "\n"
    "Otherwise ID names a VM (an id, a unique id prefix, or a name) and its record\n"
    "in the daemon is printed as indented JSON (with the global --json: as sent).\n"
    "\n"
    "exit status: 0 valid image / VM found, 1 invalid or unreadable image, unknown\n"
    "VM or daemon unreachable, 2 usage error\n";

/* ---- printing -------------------------------------------------------------------- */

/* Bytes as they are, but control characters and backslash escaped. */
static void put_escaped(const char *s, size_t len, int quote)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || (quote && c == '"'))
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void put_quoted(const char *s)
{
    putchar('"');
    put_escaped(s, strlen(s), 1);
    putchar('"');
}

static void mode_string(uint32_t mode, char out[11])
{
    static const char rwx[] = "rwxrwxrwx";
    uint32_t type = mode & UIMG_S_IFMT;
    out[0] = type == UIMG_S_IFDIR ? 'd' : type == UIMG_S_IFLNK ? 'l' : '-';
    for (int i = 0; i < 9; i++)
        out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
    if (mode & 04000)
        out[3] = (mode & 0100) ? 's' : 'S';
    if (mode & 02000)
        out[6] = (mode & 0010) ? 's' : 'S';
    if (mode & 01000)
        out[9] = (mode & 0001) ? 't' : 'T';
    out[10] = '\0';
}

static void put_mtime(int64_t mtime)
{
    time_t t = (time_t)mtime;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
        fputs(buf, stdout);
    else
        printf("@%" PRId64, mtime);
}

struct path_buf {
    char *s;
    size_t len, cap;
};

static int path_push(struct path_buf *p, const char *name, uint32_t len)
{
    if (p->len + len + 2 > p->cap) {
        size_t cap = (p->len + len + 2) * 2;
        char *s = realloc(p->s, cap);
        if (!s)
            return -1;
        p->s = s;
        p->cap = cap;
    }
    p->s[p->len++] = '/';
    memcpy(p->s + p->len, name, len);
    p->len += len;
    return 0;
}

static void print_inode(const struct uimg_view *v, uint32_t ino, const struct path_buf *p)
{
    const struct uimg_inode *n = uimg_inode(v, ino);
    char mode[11];
    mode_string(n->mode, mode);
    printf("%s %10" PRIu64 " ", mode, n->size);
    put_mtime(n->mtime);
    putchar(' ');
    if (p->len == 0)
        putchar('/');
    else
        put_escaped(p->s, p->len, 0);
    uint64_t size;
    const char *target = (n->mode & UIMG_S_IFMT) == UIMG_S_IFLNK ? uimg_data(v, ino, &size) : 0;
    if (target) {
        fputs(" -> ", stdout);
        put_escaped(target, size, 0);
    }
    putchar('\n');
}

/* Depth-first, children in name order; climbing uses the parent fields. */
static int print_tree(const struct uimg_view *v)
{
    struct path_buf p = {0};
    uint32_t cur = UIMG_ROOT, len;
    print_inode(v, cur, &p);
    for (;;) {
        const struct uimg_inode *n = uimg_inode(v, cur);
        if ((n->mode & UIMG_S_IFMT) == UIMG_S_IFDIR && n->size > 0) {
            cur = (uint32_t)n->data;
        } else {
            for (;;) {
                if (cur == UIMG_ROOT) {
                    free(p.s);
                    return 0;
                }
                const struct uimg_inode *parent = uimg_inode(v, uimg_inode(v, cur)->parent);
                p.len -= uimg_inode(v, cur)->name_len + 1;
                if (cur + 1 < parent->data + parent->size) {
                    cur++;
                    break;
                }
                cur = uimg_inode(v, cur)->parent;
            }
        }
        const char *name = uimg_name(v, cur, &len);
        if (path_push(&p, name, len) < 0) {
            free(p.s);
            return cli_error(CLI_FAIL, "out of memory");
        }
        print_inode(v, cur, &p);
    }
}

/* The guest path of an inode, climbing parent fields (into a malloc'd string). */
static char *inode_path(const struct uimg_view *v, uint32_t ino)
{
    size_t len = 0;
    for (uint32_t i = ino; i != UIMG_ROOT; i = uimg_inode(v, i)->parent)
        len += 1 + uimg_inode(v, i)->name_len;
    char *s = malloc(len + 2);
    if (!s)
        return NULL;
    s[len] = '\0';
    if (len == 0)
        strcpy(s, "/");
    for (uint32_t i = ino; i != UIMG_ROOT; i = uimg_inode(v, i)->parent) {
        uint32_t nlen;
        const char *name = uimg_name(v, i, &nlen);
        len -= nlen;
        memcpy(s + len, name, nlen);
        s[--len] = '/';
    }
    return s;
}

static int print_image(const char *file, const struct uimg_view *v)
{
    printf("image: %s (%" PRIu64 " bytes, %" PRIu32 " inodes)\n", file, v->size, v->count);
    char *entry = inode_path(v, v->hdr->entry);
    if (!entry)
        return cli_error(CLI_FAIL, "out of memory");
    fputs("entry: ", stdout);
    put_escaped(entry, strlen(entry), 0);
    free(entry);
    fputs("\nargv:", stdout);
    for (uint32_t i = 0; i < v->hdr->argc; i++) {
        putchar(' ');
        put_quoted(uimg_arg(v, i));
    }
    fputs("\nenv:", stdout);
    for (uint32_t i = 0; i < v->hdr->envc; i++) {
        putchar(' ');
        put_quoted(uimg_env(v, i));
    }
    putchar('\n');
    return print_tree(v);
}

/* ---- the command ---------------------------------------------------------------- */

static int inspect(const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error(CLI_FAIL, "%s: %s", file, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cli_error(CLI_FAIL, "%s: not a regular file", file);
    }
    static const uint64_t empty;
    const void *base = &empty;
    if (st.st_size > 0) {
        base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base == MAP_FAILED) {
            close(fd);
            return cli_error(CLI_FAIL, "%s: %s", file, strerror(errno));
        }
    }
    close(fd);
    struct uimg_view v;
    const char *why;
    uint64_t where;
    int rc;
    if (uimg_open(&v, base, (uint64_t)st.st_size, &why, &where) < 0)
        rc = cli_error(CLI_FAIL, "%s: invalid image: %s %" PRIu64, file, why, where);
    else
        rc = print_image(file, &v);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_error(CLI_FAIL, "writing the listing: %s", strerror(errno));
    if (st.st_size > 0)
        munmap((void *)base, (size_t)st.st_size);
    return rc;
}

static int inspect_vm(const char *id)
{
    api_req r = {0};
    if (api_path(&r, "/vm/", id, NULL) < 0)
        return CLI_FAIL;
    if (api_do(&r) < 0) {
        api_release(&r);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (cli_opts.json || !r.json)
        api_print_raw(&r);
    else
        api_print_json(r.json);
    api_release(&r);
    if (fflush(stdout) != 0)
        rc = cli_error(CLI_FAIL, "writing the VM failed");
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(inspect_usage, stdout);
        return CLI_OK;
    }
    if (argc != 2 || argv[1][0] == '-' || !argv[1][0])
        return cli_error(CLI_USAGE, "inspect: expected one APP.img or VM id (see uigniterctl "
                                    "inspect --help)");
    struct stat st;
    if (strchr(argv[1], '/') || (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode)))
        return inspect(argv[1]);
    return inspect_vm(argv[1]);
}
