// stdin redirected from a file: word and byte counts with fgetc/fread/fscanf.
// stdin: file:words.txt
#include <ctype.h>
#include <stdio.h>

int main(void)
{
    char word[64];
    int words = 0, longest = 0;
    unsigned sum = 0;
    while (scanf("%63s", word) == 1) {
        int len = 0;
        for (char *p = word; *p; p++, len++)
            sum = sum * 31 + (unsigned char)*p;
        words++;
        if (len > longest)
            longest = len;
    }
    printf("words=%d longest=%d hash=%08x eof=%s\n", words, longest, sum,
           feof(stdin) ? "yes" : "no");
    return 0;
}
