// Many arguments with shell-special and non-ASCII bytes reach main unchanged.
// args: '$HOME' '*' '?' "'single'" '"double"' 'back\slash' a\ b tab:\	: ; \| '&&'
// args: héllo wörld 日本語 '' '' x y z 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16
// args: 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43
// args: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t bytes = 0;
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) {
        printf("%d [", i);
        for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
            printf(*p >= 32 && *p < 127 ? "%c" : "\\x%02x", *p);
        printf("]\n");
        bytes += strlen(argv[i]) + 1;
    }
    printf("argument bytes: %zu\n", bytes);
    return argc == 65 ? 0 : 1;
}
