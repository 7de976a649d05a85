/*
 * cmd_build.c — `uigniterctl build`: packs a static x86-64 program and host files
 * into an image (docs/image-format.md) with lib/image_writer.
 *
 * The program goes to /bin/<its file name> and is the entry; argv[0] is that path,
 * followed by the words of --cmd split like sh would (no expansion). The ELF is
 * checked here, where a clear message is cheap: a dynamically linked program would
 * only fail later inside the guest, far from the cause. The image is written to a
 * temporary file next to the output and renamed into place, so a failed build
 * never leaves a half-written image under the requested name.
 */
#include "cli.h"
#include "image_writer.h"
#include "shell_words.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char build_usage[] =
    "usage: uigniterctl build -o APP.img [--cmd \"ARGS\"] [--env K=V]... BINARY\n"
    "                         [HOSTPATH:GUESTPATH]...\n"
    "\n"
    "Packs a static x86-64 ELF program and host files into a read-only image.\n"
    "\n"
    "  -o, --output APP.img  the image to write (replaced atomically)\n"
    "  --cmd \"ARGS\"          default arguments after argv[0], split into words like\n"
    "                        a POSIX shell does ('...', \"...\", \\) with no expansion\n"
    "  --env K=V             a default environment variable (repeatable; a later K wins)\n"
    "  -h, --help            this text\n"
    "\n"
    "BINARY must be statically linked (no PT_INTERP, no DT_NEEDED) and executable.\n"
    "It is placed at /bin/<basename of BINARY> and is the program the image runs;\n"
    "argv[0] is that path.\n"
    "\n"
    "HOSTPATH:GUESTPATH copies a host file or directory (recursively, symlinks kept)\n"
    "to the absolute GUESTPATH; the mapping splits at the last ':' followed by '/'.\n"
    "A file mapped to a GUESTPATH ending in '/' keeps its name inside that directory.\n"
    "Directories merge; two files at one guest path are an error.\n"
    "\n"
    "exit status: 0 built, 1 failed, 2 usage error\n";

struct build_opts {
    const char *output;
    const char *cmd;
    char **env;
    int envc;
    const char *binary;
    char **maps;
    int nmaps;
};

/* ---- checking the program -------------------------------------------------------- */

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* Reads the interpreter named by PT_INTERP, for the message. */
static void read_interp(int fd, const Elf64_Phdr *ph, char *out, size_t outlen)
{
    size_t len = ph->p_filesz < outlen - 1 ? (size_t)ph->p_filesz : outlen - 1;
    if (read_at(fd, out, len, ph->p_offset) < 0)
        len = 0;
    out[len] = '\0';
}

/* Whether the PT_DYNAMIC segment lists a DT_NEEDED library. */
static int needs_libraries(int fd, const Elf64_Phdr *ph)
{
    uint64_t n = ph->p_filesz / sizeof(Elf64_Dyn);
    for (uint64_t i = 0; i < n && i < 4096; i++) {
        Elf64_Dyn d;
        if (read_at(fd, &d, sizeof d, ph->p_offset + i * sizeof d) < 0 || d.d_tag == DT_NULL)
            return 0;
        if (d.d_tag == DT_NEEDED)
            return 1;
    }
    return 0;
}

static int check_program_headers(int fd, const char *path, const Elf64_Ehdr *eh)
{
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
        return cli_error(CLI_FAIL, "%s: ELF file has no usable program headers", path);
    int loads = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, eh->e_phoff + (uint64_t)i * sizeof ph) < 0)
            return cli_error(CLI_FAIL, "%s: truncated ELF program headers", path);
        if (ph.p_type == PT_LOAD)
            loads++;
        if (ph.p_type == PT_INTERP) {
            char interp[256];
            read_interp(fd, &ph, interp, sizeof interp);
            return cli_error(CLI_FAIL,
                             "%s: dynamically linked (PT_INTERP %s); link it statically, "
                             "e.g. musl-gcc -static",
                             path, interp);
        }
        if (ph.p_type == PT_DYNAMIC && needs_libraries(fd, &ph))
            return cli_error(CLI_FAIL,
                             "%s: needs shared libraries (DT_NEEDED); link it statically, "
                             "e.g. musl-gcc -static",
                             path);
    }
    if (loads == 0)
        return cli_error(CLI_FAIL, "%s: ELF file has nothing to load (no PT_LOAD)", path);
    return CLI_OK;
}

/* BINARY: an executable, static, x86-64 ELF file. */
static int check_binary(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cli_error(CLI_FAIL, "%s: not a regular file", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    Elf64_Ehdr eh;
    int rc = CLI_OK;
    if (read_at(fd, &eh, sizeof eh, 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        rc = cli_error(CLI_FAIL, "%s: not an ELF executable", path);
    else if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
             eh.e_machine != EM_X86_64)
        rc = cli_error(CLI_FAIL, "%s: not an x86-64 (64-bit, little-endian) ELF program", path);
    else if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        rc = cli_error(CLI_FAIL, "%s: not an executable (ELF type %u)", path, eh.e_type);
    else
        rc = check_program_headers(fd, path, &eh);
    close(fd);
    if (rc == CLI_OK && (st.st_mode & 0111) == 0)
        rc = cli_error(CLI_FAIL, "%s: not executable (chmod +x it)", path);
    return rc;
}

/* ---- filling the image ------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* "/bin/<basename>" into out; the program's guest path. */
static int program_path(const char *binary, char *out, size_t outlen)
{
    const char *base = base_name(binary);
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cli_error(CLI_USAGE, "%s: BINARY must name a file", binary);
    if ((size_t)snprintf(out, outlen, "/bin/%s", base) >= outlen)
        return cli_error(CLI_FAIL, "%s: file name too long", binary);
    return CLI_OK;
}

static int add_program(struct imgw *w, const struct build_opts *o, const char *guest)
{
    char **words = NULL, err[128];
    int nwords = 0;
    if (o->cmd && shell_words_split(o->cmd, &words, &nwords, err, sizeof err) < 0)
        return cli_error(CLI_USAGE, "--cmd: %s", err);
    char **argv = calloc((size_t)nwords + 2, sizeof *argv);
    if (!argv) {
        shell_words_free(words);
        return cli_error(CLI_FAIL, "out of memory");
    }
    argv[0] = (char *)guest;
    for (int i = 0; i < nwords; i++)
        argv[i + 1] = words[i];
    int rc = CLI_OK;
    if (imgw_add_file(w, guest, o->binary) < 0 || imgw_set_entry(w, guest) < 0 ||
        imgw_set_argv(w, nwords + 1, argv) < 0)
        rc = cli_error(CLI_FAIL, "%s", imgw_error(w));
    free(argv);
    shell_words_free(words);
    return rc;
}

/* HOSTPATH:GUESTPATH, split at the last ':' that is followed by '/'. */
static int add_mapping(struct imgw *w, char *map)
{
    char *colon = NULL;
    for (char *p = map; (p = strchr(p, ':')) != NULL; p++)
        if (p[1] == '/')
            colon = p;
    if (!colon || colon == map)
        return cli_error(CLI_USAGE, "%s: expected HOSTPATH:GUESTPATH with an absolute GUESTPATH",
                         map);
    *colon = '\0';
    const char *host = map, *guest = colon + 1;
    struct stat st;
    int rc = CLI_OK;
    if (stat(host, &st) < 0) {
        rc = cli_error(CLI_FAIL, "%s: %s", host, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        if (imgw_add_tree(w, guest, host) < 0)
            rc = cli_error(CLI_FAIL, "%s", imgw_error(w));
    } else {
        char *full = NULL;
        size_t glen = strlen(guest);
        if (guest[glen - 1] == '/' && asprintf(&full, "%s%s", guest, base_name(host)) < 0)
            full = NULL;
        if (imgw_add_file(w, full ? full : guest, host) < 0)
            rc = cli_error(CLI_FAIL, "%s", imgw_error(w));
        free(full);
    }
    *colon = ':';
    return rc;
}

/* ---- writing ----------------------------------------------------------------------- */

static int write_image(struct imgw *w, const char *output)
{
    char *tmp;
    if (asprintf(&tmp, "%s.XXXXXX", output) < 0)
        return cli_error(CLI_FAIL, "out of memory");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int rc = cli_error(CLI_FAIL, "%s: %s", output, strerror(errno));
        free(tmp);
        return rc;
    }
    mode_t mask = umask(0);
    umask(mask);
    int rc = CLI_OK;
    if (fchmod(fd, 0644 & ~mask) < 0)
        rc = cli_error(CLI_FAIL, "%s: %s", tmp, strerror(errno));
    else if (imgw_write_fd(w, fd) < 0)
        rc = cli_error(CLI_FAIL, "%s: %s", output, imgw_error(w));
    if (close(fd) < 0 && rc == CLI_OK)
        rc = cli_error(CLI_FAIL, "%s: %s", output, strerror(errno));
    if (rc == CLI_OK && rename(tmp, output) < 0)
        rc = cli_error(CLI_FAIL, "%s: %s", output, strerror(errno));
    if (rc != CLI_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int build(struct build_opts *o)
{
    char guest[4096];
    int rc = program_path(o->binary, guest, sizeof guest);
    if (rc == CLI_OK)
        rc = check_binary(o->binary);
    if (rc != CLI_OK)
        return rc;
    struct imgw *w = imgw_new();
    if (!w)
        return cli_error(CLI_FAIL, "out of memory");
    rc = add_program(w, o, guest);
    for (int i = 0; i < o->envc && rc == CLI_OK; i++)
        if (imgw_add_env(w, o->env[i]) < 0)
            rc = cli_error(CLI_USAGE, "--env: %s", imgw_error(w));
    for (int i = 0; i < o->nmaps && rc == CLI_OK; i++)
        rc = add_mapping(w, o->maps[i]);
    if (rc == CLI_OK)
        rc = write_image(w, o->output);
    imgw_free(w);
    return rc;
}

/* ---- options ----------------------------------------------------------------------- */

enum { OPT_CMD = 256, OPT_ENV };

static int parse_options(int argc, char **argv, struct build_opts *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"cmd", required_argument, NULL, OPT_CMD},
        {"env", required_argument, NULL, OPT_ENV},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0; /* full re-initialisation: main may have used getopt */
    opterr = 0;
    o->env = calloc((size_t)argc, sizeof *o->env);
    if (!o->env)
        return cli_error(CLI_FAIL, "out of memory");
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case OPT_CMD:
            if (o->cmd)
                return cli_error(CLI_USAGE, "build: --cmd given twice");
            o->cmd = optarg;
            break;
        case OPT_ENV:
            o->env[o->envc++] = optarg;
            break;
        case 'h':
            fputs(build_usage, stdout);
            return -1;
        case ':':
            return cli_error(CLI_USAGE,
                             "build: %s needs an argument (see uigniterctl build --help)",
                             argv[optind - 1]);
        default:
            return cli_error(CLI_USAGE, "build: unknown option '%s' (see uigniterctl build --help)",
                             argv[optind - 1]);
        }
    }
    if (!o->output)
        return cli_error(CLI_USAGE, "build: -o APP.img is required (see uigniterctl build --help)");
    if (optind >= argc)
        return cli_error(CLI_USAGE, "build: BINARY is missing (see uigniterctl build --help)");
    o->binary = argv[optind];
    o->maps = argv + optind + 1;
    o->nmaps = argc - optind - 1;
    return CLI_OK;
}

int cmd_build(int argc, char **argv)
{
    struct build_opts o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc == CLI_OK)
        rc = build(&o);
    else if (rc < 0)
        rc = CLI_OK; /* --help */
    free(o.env);
    return rc;
}
