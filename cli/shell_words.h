/*
 * shell_words.h — splits a command line into words the way a POSIX shell does,
 * without any expansion: for `uigniterctl build --cmd "ARGS"`.
 */
#ifndef UIGNITER_CLI_SHELL_WORDS_H
#define UIGNITER_CLI_SHELL_WORDS_H

#include <stddef.h>

/*
 * Splits s into *argv_out (NULL-terminated, *argc_out words; free with
 * shell_words_free). Words are separated by unquoted blanks (space, tab, newline).
 * 'single quotes' keep everything literally; "double quotes" keep everything but
 * \$ \` \" \\ and backslash-newline; an unquoted backslash keeps the next character
 * (backslash-newline joins lines). Nothing is expanded: $, `, *, ~, |, ;, # and the
 * rest are ordinary characters. Returns 0, or -1 with a one-line message in err
 * (unbalanced quote, trailing backslash, out of memory).
 */
int shell_words_split(const char *s, char ***argv_out, int *argc_out, char *err, size_t errlen);

void shell_words_free(char **argv);

#endif
