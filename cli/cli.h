/*
 * cli.h — what the uigniterctl commands share: the command table's entry type and
 * the one way to report an error.
 *
 * Each command lives in its own file (cmd_<name>.c) with one entry point that takes
 * the command's own argv (argv[0] is the command name) and returns the exit status.
 * Adding a command is one file plus one row in uigniterctl.c's table.
 */
#ifndef UIGNITER_CLI_H
#define UIGNITER_CLI_H

/* Exit statuses of every command. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `uigniterctl --help` */
};

/* Prints "uigniterctl: <message>" on stderr and returns status. */
__attribute__((format(printf, 2, 3))) int cli_error(int status, const char *fmt, ...);

int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
