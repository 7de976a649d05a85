/*
 * cmd_load.c — `uigniterctl load FILE [--name NAME]`: uploads an image (or a bare
 * static ELF) to the daemon's store with POST /images?name=NAME.
 *
 * The name defaults to FILE's base name without ".img", the contract in
 * DESIGN.md, so `load build/images/httpd.img` makes the image `httpd`. The file
 * is mapped rather than read, and the daemon checks what it receives, so the
 * upload is not validated twice; the daemon's message says what is wrong.
 */
#include "api.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char load_usage[] =
    "usage: uigniterctl load FILE [--name NAME]\n"
    "\n"
    "Uploads FILE, an image made by `uigniterctl build` or a static x86-64 ELF, to\n"
    "the daemon's store; an image of the same name is replaced (VMs already running\n"
    "keep the old one). Prints the image's name.\n"
    "\n"
    "  -n, --name NAME   the name to store it under (default: FILE's base name\n"
    "                    without .img); [A-Za-z0-9][A-Za-z0-9_.-]{0,127}\n"
    "  -h, --help        this text\n"
    "\n"
    "With the global --json, prints the daemon's JSON for the image.\n"
    "\n"
    "exit status: 0 loaded, 1 failed (unreadable FILE, refused by the daemon),\n"
    "2 usage error\n";

/* FILE's base name without a final ".img" (into a malloc'd string). */
static char *default_name(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".img") == 0)
        len -= 4;
    return strndup(base, len);
}

static int upload(const char *file, const char *name)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error(CLI_FAIL, "%s: %s", file, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cli_error(CLI_FAIL, "%s: not a regular file", file);
    }
    static const char empty[1];
    const void *data = empty;
    size_t size = (size_t)st.st_size;
    if (size > 0) {
        data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            close(fd);
            return cli_error(CLI_FAIL, "%s: %s", file, strerror(errno));
        }
    }
    close(fd);
    api_req r = {.method = "POST",
                 .body = data,
                 .body_len = size,
                 .content_type = "application/octet-stream",
                 .timeout_ms = 300 * 1000};
    int rc = CLI_FAIL;
    if (api_path(&r, "/images?name=", name, NULL) == 0 && api_do(&r) == 0) {
        if (cli_opts.json)
            api_print_raw(&r);
        else
            printf("%s\n", name);
        rc = fflush(stdout) == 0 ? CLI_OK : cli_error(CLI_FAIL, "writing the name failed");
    }
    api_release(&r);
    if (size > 0)
        munmap((void *)data, size);
    return rc;
}

int cmd_load(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'h':
            fputs(load_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("load", c, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_error(CLI_USAGE, "load: want one FILE (see uigniterctl load --help)");
    const char *file = argv[optind];
    char *dflt = name ? NULL : default_name(file);
    if (!name && !dflt)
        return cli_error(CLI_FAIL, "out of memory");
    if (!name && !*dflt) {
        free(dflt);
        return cli_error(CLI_USAGE, "load: cannot name an image after '%s'; give --name", file);
    }
    int rc = upload(file, name ? name : dflt);
    free(dflt);
    return rc;
}
