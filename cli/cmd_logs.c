/*
 * cmd_logs.c — `uigniterctl logs [-f] [--tail N] ID`: a VM's console output
 * (GET /vm/{id}/logs), written to stdout as it arrives, never held whole, so
 * `-f` on a chatty VM or a log of megabytes costs a buffer, not the log.
 */
#include "api.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static const char logs_usage[] =
    "usage: uigniterctl logs [-f] [--tail N] ID\n"
    "\n"
    "Prints what the VM's program (and its monitor, for diagnostics) wrote to\n"
    "stdout and stderr since the VM was created, across restarts, up to the\n"
    "newest bytes the daemon keeps (its --log-size).\n"
    "\n"
    "  -f, --follow   go on printing new output until the VM ends for good\n"
    "  -n, --tail N   only the last N lines\n"
    "  -h, --help     this text\n"
    "\n"
    "exit status: 0 printed, 1 failed (unknown VM, daemon unreachable, stdout\n"
    "closed), 2 usage error\n";

static int to_stdout(const char *data, size_t len, void *arg)
{
    int *gone = arg;
    if (api_write_stdout(data, len) < 0) {
        *gone = 1;
        return -1;
    }
    return 0;
}

int cmd_logs(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"tail", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int follow = 0, c;
    long tail = -1;
    char *end;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":fn:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            follow = 1;
            break;
        case 'n':
            errno = 0;
            tail = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || tail < 0 || tail > 100000000)
                return cli_error(CLI_USAGE, "logs: --tail '%s': want a number of lines", optarg);
            break;
        case 'h':
            fputs(logs_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("logs", c, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_error(CLI_USAGE, "logs: want one VM (see uigniterctl logs --help)");
    char query[64] = "";
    if (follow && tail >= 0)
        snprintf(query, sizeof query, "/logs?follow=1&tail=%ld", tail);
    else if (follow)
        snprintf(query, sizeof query, "/logs?follow=1");
    else if (tail >= 0)
        snprintf(query, sizeof query, "/logs?tail=%ld", tail);
    else
        snprintf(query, sizeof query, "/logs");
    int gone = 0;
    api_req r = {.sink = to_stdout, .sink_arg = &gone, .timeout_ms = follow ? INT_MAX : 60000};
    if (api_path(&r, "/vm/", argv[optind], query) < 0)
        return CLI_FAIL;
    api_start(&r);
    api_wait(&r);
    int rc = CLI_OK;
    if (gone)
        rc = CLI_FAIL; /* a reader that went away (| head) needs no message */
    else if (!api_ok(&r))
        rc = api_report(&r);
    api_release(&r);
    return rc;
}
