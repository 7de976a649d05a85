// argv (with spaces and an empty word) and exactly the environment we asked for.
// args: one "two words" '' "  spaced  " -dash --
// env: FOO=bar EMPTY= WITH_EQ=a=b=c PATH=/bin
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    printf("argv[argc] is NULL: %s\n", argv[argc] ? "no" : "yes");

    int n = 0;
    while (environ[n])
        n++;
    printf("environ has %d entries\n", n);
    char **sorted = malloc(sizeof(char *) * (n + 1));
    memcpy(sorted, environ, sizeof(char *) * n);
    qsort(sorted, n, sizeof(char *), cmp);
    for (int i = 0; i < n; i++)
        printf("env [%s]\n", sorted[i]);

    const char *names[] = {"FOO", "EMPTY", "WITH_EQ", "PATH", "HOME", "MISSING"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        printf("getenv(%s)=%s%s%s\n", names[i], v ? "[" : "", v ? v : "NULL", v ? "]" : "");
    }
    setenv("NEW", "value", 1);
    unsetenv("FOO");
    printf("after setenv/unsetenv: NEW=%s FOO=%s\n", getenv("NEW"), getenv("FOO") ? "set" : "NULL");
    /* Fail on our own if the headers did not arrive, even in both runs alike. */
    return argc == 7 && n == 4 ? 0 : 1;
}
