/*
 * uigniterctl.c — the user's command-line tool: finds the command and runs it.
 *
 * Commands are one file each (kvmtool's builtin-*.c style) registered in the table
 * below; main only handles what comes before the command name: the global options
 * --host (where uigniterd is) and --json (the daemon's JSON as it comes, for
 * scripts). Every error is one line "uigniterctl: ..." on stderr; the exit status
 * is 0, 1 for a failure, 2 for a usage error (`run` without -d: the VM's status).
 */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"build", cmd_build, "pack a static binary and files into an image"},
    {"load", cmd_load, "upload an image to the daemon's store"},
    {"images", cmd_images, "list the daemon's images"},
    {"rmi", cmd_rmi, "remove images from the daemon's store"},
    {"run", cmd_run, "start a VM from an image (attached, or -d in the background)"},
    {"ps", cmd_ps, "list VMs"},
    {"inspect", cmd_inspect, "show a VM as JSON, or check an image file"},
    {"logs", cmd_logs, "print (or follow) a VM's console output"},
    {"stop", cmd_stop, "stop VMs"},
    {"rm", cmd_rm, "remove ended VMs (-f: running ones too)"},
    {"stats", cmd_stats, "CPU, memory and uptime of running VMs, and the warm pool"},
    {"deploy", cmd_deploy, "start a deployment file's services and keep them running"},
    {"status", cmd_status, "show deployments: ready replicas per service"},
    {"undeploy", cmd_undeploy, "stop a deployment's VMs and forget it"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

struct cli_globals cli_opts;

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("uigniterctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int cli_option_error(const char *cmd, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    char opt[64];
    if (strncmp(arg, "--", 2) == 0)
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(arg, "="), arg);
    else if (optopt > 0 && optopt < 128)
        snprintf(opt, sizeof opt, "-%c", optopt);
    else
        snprintf(opt, sizeof opt, "%s", arg);
    if (c == ':')
        return cli_error(CLI_USAGE, "%s: %s needs a value (see uigniterctl %s --help)", cmd, opt,
                         cmd);
    return cli_error(CLI_USAGE, "%s: unknown option '%s' (see uigniterctl %s --help)", cmd, opt,
                     cmd);
}

int cli_help_only(int argc, char **argv, const char *cmd, const char *usage_text)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return CLI_OK;
        }
        return cli_option_error(cmd, c, argv);
    }
    return -1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: uigniterctl [--host ADDR] [--json] COMMAND [ARGS...]\n"
                 "       uigniterctl COMMAND --help\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "global options:\n"
            "  --host ADDR  where uigniterd listens: HOST:PORT, a Unix socket path\n"
            "               (/path or unix:PATH); default $UIGNITER_HOST, else 127.0.0.1:6666\n"
            "  --json       print the daemon's JSON as it comes (ps, images, inspect, stats,\n"
            "               run -d, load)\n"
            "\n"
            "exit status: 0 on success, 1 on failure, 2 on a usage error;\n"
            "run without -d: the VM's own exit status\n");
}

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a closed socket or stdout is an error return, not death */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--json") == 0) {
            cli_opts.json = 1;
        } else if (strcmp(a, "--host") == 0 || strcmp(a, "-H") == 0) {
            if (i + 1 >= argc)
                return cli_error(CLI_USAGE, "%s needs an address (see uigniterctl --help)", a);
            cli_opts.host = argv[++i];
        } else if (strncmp(a, "--host=", 7) == 0) {
            cli_opts.host = a + 7;
        } else {
            return cli_error(CLI_USAGE, "unknown option '%s' (see uigniterctl --help)", a);
        }
    }
    if (cli_opts.host && !*cli_opts.host)
        return cli_error(CLI_USAGE, "--host: empty address (see uigniterctl --help)");
    if (i >= argc)
        return cli_error(CLI_USAGE, "no command given (see uigniterctl --help)");
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 >= argc) {
            usage(stdout);
            return CLI_OK;
        }
        const struct cli_command *c = find_command(argv[i + 1]);
        if (!c)
            return cli_error(CLI_USAGE, "unknown command '%s' (see uigniterctl --help)",
                             argv[i + 1]);
        char *help_argv[] = {argv[i + 1], "--help", NULL};
        return c->run(2, help_argv);
    }
    const struct cli_command *c = find_command(name);
    if (!c)
        return cli_error(CLI_USAGE, "unknown command '%s' (see uigniterctl --help)", name);
    return c->run(argc - i, argv + i);
}
