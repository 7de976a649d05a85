// The initial stack: argv/envp layout and the auxv entries static musl relies on.
#include <elf.h>
#include <stdio.h>
#include <sys/auxv.h>

extern char **environ;
extern void _start(void);

int main(int argc, char **argv)
{
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));

    /* The program headers are mapped with the image: find PT_LOAD and PT_TLS. */
    const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    int loads = 0;
    for (unsigned long i = 0; ph && i < phnum; i++) {
        loads += ph[i].p_type == PT_LOAD;
    }
    printf("PT_LOAD found via AT_PHDR: %s\n", loads > 0 ? "yes" : "no");

    unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; rnd && i < 16; i++)
        nonzero |= rnd[i];
    printf("AT_RANDOM readable and not all zero: %s\n", nonzero ? "yes" : "no");
    printf("AT_ENTRY is _start: %s\n", getauxval(AT_ENTRY) == (unsigned long)_start ? "yes" : "no");

    /* argv, NULL, envp follow each other on the initial stack. */
    printf("environ follows argv: %s\n", argv + argc + 1 == environ ? "yes" : "no");
    printf("argv[0]=%s\n", argv[0]);
    return 0;
}
