/*
 * cmd_rm.c — `uigniterctl rm [-f] ID...`: removes ended VMs' records and logs
 * (DELETE /vm/{id}), all at once. A VM that still runs is the daemon's 409
 * unless -f, which has the daemon kill it first.
 */
#include "api.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

static const char rm_usage[] =
    "usage: uigniterctl rm [-f] ID...\n"
    "\n"
    "Removes each ended VM (an id, a unique id prefix, or a name): its record and\n"
    "its console log. Prints each one removed.\n"
    "\n"
    "  -f, --force   kill a VM that still runs, then remove it\n"
    "  -h, --help    this text\n"
    "\n"
    "exit status: 0 all removed, 1 any failed (a running VM without -f), 2 usage error\n";

int cmd_rm(int argc, char **argv)
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
            fputs(rm_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("rm", c, argv);
        }
    }
    if (optind >= argc)
        return cli_error(CLI_USAGE, "rm: no VM given (see uigniterctl rm --help)");
    return api_for_each("DELETE", "/vm/", argv + optind, argc - optind, force ? "?force=1" : NULL,
                        120 * 1000);
}
