/*
 * cmd_stop.c — `uigniterctl stop [-t S] ID...`: stops VMs through
 * POST /vm/{id}/stop, all at once, so that stopping ten VMs takes one stop
 * timeout, not ten. Each reply comes once its VM has ended; each id that was
 * stopped is printed back, like `docker stop`.
 */
#include "api.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char stop_usage[] =
    "usage: uigniterctl stop [-t S] ID...\n"
    "\n"
    "Stops each VM (an id, a unique id prefix of 4 or more characters, or a name):\n"
    "SIGTERM to its monitor, SIGKILL after S seconds if it has not ended; returns\n"
    "once every VM has ended and prints each one stopped. Stopping an ended VM\n"
    "is not an error; a restarting VM ends at once.\n"
    "\n"
    "  -t, --time S   seconds before SIGKILL (default: the daemon's --stop-timeout)\n"
    "  -h, --help     this text\n"
    "\n"
    "exit status: 0 all stopped, 1 any failed, 2 usage error\n";

int cmd_stop(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"time", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long secs = -1;
    int c;
    char *end;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            errno = 0;
            secs = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || secs < 0 || secs > 86400)
                return cli_error(CLI_USAGE, "stop: -t '%s': want seconds (0 to 86400)", optarg);
            break;
        case 'h':
            fputs(stop_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("stop", c, argv);
        }
    }
    if (optind >= argc)
        return cli_error(CLI_USAGE, "stop: no VM given (see uigniterctl stop --help)");
    char suffix[40] = "/stop";
    if (secs >= 0)
        snprintf(suffix, sizeof suffix, "/stop?timeout=%ld", secs);
    /* The reply waits for the VM's end: the timeout, then a margin for SIGKILL. */
    int timeout_ms = (int)((secs >= 0 ? secs + 60 : 600) * 1000);
    return api_for_each("POST", "/vm/", argv + optind, argc - optind, suffix, timeout_ms);
}
