/*
 * test_shell_words.c — unit tests of cli/shell_words.c, the splitting of
 * `uigniterctl build --cmd "ARGS"`. Each case is checked against what sh does
 * with the same text (the expected words were taken from dash: set -- TEXT).
 * Prints one PASS/FAIL line per case (tests/run.sh).
 */
#include "shell_words.h"

#include <stdio.h>
#include <string.h>

struct words_case {
    const char *name;
    const char *input;
    const char *want[8]; /* NULL-terminated; want[0] == "ERR" means an error */
    const char *err;     /* substring of the error */
};

static const struct words_case cases[] = {
    {"empty", "", {NULL}, NULL},
    {"blanks_only", " \t\n ", {NULL}, NULL},
    {"plain", "a bb  ccc", {"a", "bb", "ccc", NULL}, NULL},
    {"tabs_newlines", "a\tb\nc", {"a", "b", "c", NULL}, NULL},
    {"single_quotes", "'a b' 'c\\d' '\"'", {"a b", "c\\d", "\"", NULL}, NULL},
    {"double_quotes",
     "\"a b\" \"c\\d\" \"\\\"x\\\\\" \"\\$HOME\"",
     {"a b", "c\\d", "\"x\\", "$HOME", NULL},
     NULL},
    {"empty_words", "'' \"\" a''b", {"", "", "ab", NULL}, NULL},
    {"backslash", "a\\ b \\'c \\\\", {"a b", "'c", "\\", NULL}, NULL},
    {"line_continuation", "a\\\nb \"c\\\nd\"", {"ab", "cd", NULL}, NULL},
    {"adjacent_parts",
     "--x='1 2'\"3\"4",
     {"--x=1 23"
      "4",
      NULL},
     NULL},
    {"no_expansion",
     "$HOME * ~ `id` a|b ;#c",
     {"$HOME", "*", "~", "`id`", "a|b", ";#c", NULL},
     NULL},
    {"unbalanced_single", "a 'b", {"ERR"}, "unbalanced single quote"},
    {"unbalanced_double", "a \"b\\\"", {"ERR"}, "unbalanced double quote"},
    {"trailing_backslash", "a\\", {"ERR"}, "ends with a backslash"},
};

static int run_case(const struct words_case *c, char *why, size_t whylen)
{
    char **argv = NULL, err[128] = "";
    int argc = -1;
    int rc = shell_words_split(c->input, &argv, &argc, err, sizeof err);
    if (c->want[0] && strcmp(c->want[0], "ERR") == 0) {
        if (rc == 0) {
            shell_words_free(argv);
            snprintf(why, whylen, "accepted, wanted \"%s\"", c->err);
            return -1;
        }
        if (!strstr(err, c->err)) {
            snprintf(why, whylen, "error \"%s\", wanted \"%s\"", err, c->err);
            return -1;
        }
        return 0;
    }
    if (rc < 0) {
        snprintf(why, whylen, "error: %s", err);
        return -1;
    }
    int n = 0;
    while (c->want[n])
        n++;
    int ok = argc == n && argv[argc] == NULL;
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(argv[i], c->want[i]) == 0;
    if (!ok) {
        int off = snprintf(why, whylen, "got %d words:", argc);
        for (int i = 0; i < argc && off < (int)whylen; i++)
            off += snprintf(why + off, whylen - (size_t)off, " [%s]", argv[i]);
    }
    shell_words_free(argv);
    return ok ? 0 : -1;
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[512];
        if (run_case(&cases[i], why, sizeof why) < 0)
            printf("FAIL shell_words/%s: %s\n", cases[i].name, why);
        else
            printf("PASS shell_words/%s\n", cases[i].name);
    }
    return 0;
}
