/*
 * seed_kernel_elf.c — writes seed inputs for fuzz_kernel_elf: the real uk.elf
 * (stripped of nothing; the loader only reads program headers and segments).
 */
#include <stdio.h>

int main(int argc, char **argv)
{
    static unsigned char buf[8 << 20];
    if (argc != 2) {
        fprintf(stderr, "usage: seed_kernel_elf DIR\n");
        return 2;
    }
    FILE *in = fopen("build/uk.elf", "rb");
    if (!in)
        return 0;
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    char path[4096];
    snprintf(path, sizeof path, "%s/uk.elf", argv[1]);
    FILE *out = fopen(path, "wb");
    if (!out)
        return 1;
    fwrite(buf, 1, n, out);
    fclose(out);
    return 0;
}
