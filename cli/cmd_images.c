/*
 * cmd_images.c — `uigniterctl images`: the daemon's image store (GET /images)
 * as a table of name, kind (an image made by `build`, or a bare static ELF),
 * size and age; --json prints the daemon's array as is.
 */
#include "api.h"
#include "cli.h"
#include "table.h"

#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>

static const char images_usage[] =
    "usage: uigniterctl images [-q]\n"
    "\n"
    "Lists the images in the daemon's store: NAME  KIND (image or elf)  SIZE  CREATED\n"
    "\n"
    "  -q, --quiet   the names only, one a line\n"
    "  -h, --help    this text\n"
    "\n"
    "With the global --json, prints the daemon's JSON array as is.\n"
    "\n"
    "exit status: 0 listed, 1 failed, 2 usage error\n";

int cmd_images(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int quiet = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(images_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("images", c, argv);
        }
    }
    if (optind < argc)
        return cli_error(CLI_USAGE,
                         "images: unexpected argument '%s' (see uigniterctl images --help)",
                         argv[optind]);
    api_req r = {0};
    snprintf(r.path, sizeof r.path, "/images");
    if (api_do(&r) < 0) {
        api_release(&r);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (cli_opts.json) {
        api_print_raw(&r);
    } else if (!cJSON_IsArray(r.json)) {
        rc = cli_error(CLI_FAIL, "uigniterd's answer to GET /images is not a JSON array");
    } else {
        table t;
        table_init(&t, 4, "NAME", "KIND", "SIZE", "CREATED");
        const cJSON *img;
        cJSON_ArrayForEach(img, r.json)
        {
            if (quiet) {
                printf("%s\n", json_str(img, "name", "?"));
                continue;
            }
            char size[32] = "-", age[64];
            double v;
            if (json_num(img, "size", &v))
                fmt_bytes(v, size, sizeof size);
            fmt_age(json_str(img, "created_at", NULL), age, sizeof age);
            table_add(&t, json_str(img, "name", NULL), json_str(img, "kind", NULL), size, age);
        }
        if (!quiet)
            table_print(&t, stdout);
        table_free(&t);
    }
    api_release(&r);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_error(CLI_FAIL, "writing the listing failed");
    return rc;
}
