/*
 * shell_words.c — POSIX shell word splitting with no expansion (see shell_words.h).
 *
 * A small state machine over the input that appends to the current word; a word
 * exists as soon as any part of it was seen, so "" and '' give empty words like
 * they do in sh. The rules are those of the Shell Command Language's token
 * recognition and quote removal (XCU 2.2, 2.3), minus operators and expansions.
 */
#include "shell_words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct splitter {
    char **argv;
    int argc, cap;
    char *word; /* the word being built; its length is at most strlen(input) */
    size_t len;
    int in_word;
};

static int push_word(struct splitter *sp)
{
    if (sp->argc + 1 >= sp->cap) {
        int cap = sp->cap ? sp->cap * 2 : 8;
        char **a = realloc(sp->argv, (size_t)cap * sizeof *a);
        if (!a)
            return -1;
        sp->argv = a;
        sp->cap = cap;
    }
    char *w = malloc(sp->len + 1);
    if (!w)
        return -1;
    memcpy(w, sp->word, sp->len);
    w[sp->len] = '\0';
    sp->argv[sp->argc++] = w;
    sp->argv[sp->argc] = NULL;
    sp->len = 0;
    sp->in_word = 0;
    return 0;
}

static void add_char(struct splitter *sp, char c)
{
    sp->word[sp->len++] = c;
    sp->in_word = 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Inside "...": a backslash quotes only these. */
static int dq_escapable(char c)
{
    return c == '$' || c == '`' || c == '"' || c == '\\' || c == '\n';
}

/* Consumes a "..." that starts at *p (after the quote); -1 if it never closes. */
static int scan_double(struct splitter *sp, const char **p)
{
    const char *s = *p;
    for (;; s++) {
        if (*s == '\0')
            return -1;
        if (*s == '"')
            break;
        if (*s == '\\' && dq_escapable(s[1])) {
            s++;
            if (*s != '\n')
                add_char(sp, *s);
            continue;
        }
        add_char(sp, *s);
    }
    *p = s + 1;
    return 0;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int split(struct splitter *sp, const char *s, char *err, size_t errlen)
{
    while (*s) {
        char c = *s++;
        if (is_blank(c)) {
            if (sp->in_word && push_word(sp) < 0)
                return fail(err, errlen, "out of memory");
        } else if (c == '\\') {
            if (*s == '\0')
                return fail(err, errlen, "ends with a backslash");
            if (*s != '\n')
                add_char(sp, *s);
            s++;
        } else if (c == '\'') {
            const char *end = strchr(s, '\'');
            if (!end)
                return fail(err, errlen, "unbalanced single quote");
            sp->in_word = 1;
            while (s < end)
                add_char(sp, *s++);
            s++;
        } else if (c == '"') {
            sp->in_word = 1;
            if (scan_double(sp, &s) < 0)
                return fail(err, errlen, "unbalanced double quote");
        } else {
            add_char(sp, c);
        }
    }
    if (sp->in_word && push_word(sp) < 0)
        return fail(err, errlen, "out of memory");
    return 0;
}

int shell_words_split(const char *s, char ***argv_out, int *argc_out, char *err, size_t errlen)
{
    struct splitter sp = {0};
    sp.word = malloc(strlen(s) + 1);
    sp.argv = calloc(1, sizeof *sp.argv);
    sp.cap = 1;
    if (!sp.word || !sp.argv) {
        free(sp.word);
        free(sp.argv);
        return fail(err, errlen, "out of memory");
    }
    int rc = split(&sp, s, err, errlen);
    free(sp.word);
    if (rc < 0) {
        shell_words_free(sp.argv);
        return -1;
    }
    *argv_out = sp.argv;
    *argc_out = sp.argc;
    return 0;
}

void shell_words_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}
