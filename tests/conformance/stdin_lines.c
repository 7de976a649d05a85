// Line-oriented stdin through stdio: empty lines, a long line, no final newline, EOF.
// stdin: text:alpha\nbeta gamma\n\n\tdelta with tab\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nno newline
#include <stdio.h>
#include <string.h>

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int no = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        int nl = n > 0 && line[n - 1] == '\n';
        if (nl)
            line[--n] = 0;
        printf("%d len=%zd newline=%s [%.40s]\n", ++no, n, nl ? "yes" : "no", line);
    }
    printf("lines=%d eof=%s error=%s\n", no, feof(stdin) ? "yes" : "no",
           ferror(stdin) ? "yes" : "no");
    printf("getchar after EOF: %d\n", getchar());
    return 0;
}
