/*
 * uigniterctl.c — the user's command-line tool: finds the command and runs it.
 *
 * Commands are one file each (kvmtool's builtin-*.c style) registered in the table
 * below; main only handles what comes before the command name. Every error is one
 * line "uigniterctl: ..." on stderr; the exit status is 0, 1 for a failure, 2 for
 * a usage error.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"build", cmd_build, "pack a static binary and files into an image"},
    {"inspect", cmd_inspect, "check an image and print its files, entry, argv and env"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

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

static void usage(FILE *out)
{
    fprintf(out, "usage: uigniterctl COMMAND [ARGS...]\n"
                 "       uigniterctl COMMAND --help\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nexit status: 0 on success, 1 on failure, 2 on a usage error\n");
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
    if (argc < 2)
        return cli_error(CLI_USAGE, "no command given (see uigniterctl --help)");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return CLI_OK;
        }
        const struct cli_command *c = find_command(argv[2]);
        if (!c)
            return cli_error(CLI_USAGE, "unknown command '%s' (see uigniterctl --help)", argv[2]);
        char *help_argv[] = {argv[2], "--help", NULL};
        return c->run(2, help_argv);
    }
    if (name[0] == '-')
        return cli_error(CLI_USAGE, "unknown option '%s' (see uigniterctl --help)", name);
    const struct cli_command *c = find_command(name);
    if (!c)
        return cli_error(CLI_USAGE, "unknown command '%s' (see uigniterctl --help)", name);
    return c->run(argc - 1, argv + 1);
}
