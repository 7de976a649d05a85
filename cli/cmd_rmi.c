/*
 * cmd_rmi.c — `uigniterctl rmi [-f] NAME...`: removes images from the daemon's
 * store (DELETE /images/NAME). An image that a live VM, or one that may
 * restart, still uses is the daemon's 409 unless -f.
 */
#include "api.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

static const char rmi_usage[] =
    "usage: uigniterctl rmi [-f] NAME...\n"
    "\n"
    "Removes each image NAME from the daemon's store and prints it.\n"
    "\n"
    "  -f, --force   remove it even while a VM that has not ended uses it\n"
    "  -h, --help    this text\n"
    "\n"
    "exit status: 0 all removed, 1 any failed, 2 usage error\n";

int cmd_rmi(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int force = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            force = 1;
            break;
        case 'h':
            fputs(rmi_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("rmi", c, argv);
        }
    }
    if (optind >= argc)
        return cli_error(CLI_USAGE, "rmi: no image given (see uigniterctl rmi --help)");
    return api_for_each("DELETE", "/images/", argv + optind, argc - optind,
                        force ? "?force=1" : NULL, 60 * 1000);
}
