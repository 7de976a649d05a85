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

/* The options given before the command name. */
struct cli_globals {
    const char *host; /* --host ADDR; NULL: UIGNITER_HOST or the default */
    int json;         /* --json: print the daemon's JSON as it comes */
};
extern struct cli_globals cli_opts;

/* Prints "uigniterctl: <message>" on stderr and returns status. */
__attribute__((format(printf, 2, 3))) int cli_error(int status, const char *fmt, ...);
/* Reports what getopt_long (run with opterr 0 and a leading ':') returned as
 * c, for command cmd, as a usage error; returns CLI_USAGE. */
int cli_option_error(const char *cmd, int c, char **argv);

/* For a command whose only option is -h/--help: prints usage_text and returns
 * CLI_OK for it, CLI_USAGE for any other option, -1 to go on (optind is then
 * the first argument). */
int cli_help_only(int argc, char **argv, const char *cmd, const char *usage_text);

int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_undeploy(int argc, char **argv);

#endif
