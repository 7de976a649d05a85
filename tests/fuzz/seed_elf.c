/*
 * seed_elf.c — writes seed inputs for fuzz_elf: the static programs the build
 * produced (real musl binaries, PIE and not) and a few hand-made small ELF files,
 * so the fuzzer starts from inputs that pass the parser.
 */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void save(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(data, 1, len, f);
    fclose(f);
}

static void copy(const char *dir, const char *name, const char *src)
{
    static unsigned char buf[4 << 20];
    FILE *f = fopen(src, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    save(dir, name, buf, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_elf DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    copy(dir, "hello", "build/examples/hello");
    copy(dir, "guest", "build/tests/robustness/guest");
    copy(dir, "static-pie", "build/tests/image/hello-static-pie");

    /* A minimal ET_EXEC: one RX segment holding the headers and `hlt`. */
    struct tiny {
        Elf64_Ehdr eh;
        Elf64_Phdr ph[2];
        unsigned char code[16];
    } m;
    memset(&m, 0, sizeof m);
    memcpy(m.eh.e_ident, ELFMAG, SELFMAG);
    m.eh.e_ident[EI_CLASS] = ELFCLASS64;
    m.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    m.eh.e_ident[EI_VERSION] = EV_CURRENT;
    m.eh.e_type = ET_EXEC;
    m.eh.e_machine = EM_X86_64;
    m.eh.e_version = EV_CURRENT;
    m.eh.e_entry = 0x400000 + offsetof(struct tiny, code);
    m.eh.e_phoff = sizeof m.eh;
    m.eh.e_ehsize = sizeof m.eh;
    m.eh.e_phentsize = sizeof(Elf64_Phdr);
    m.eh.e_phnum = 2;
    m.ph[0] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x400000, sizeof m, sizeof m, 4096};
    m.ph[1] = (Elf64_Phdr){PT_LOAD, PF_R | PF_W, 0, 0x401000, 0x401000, 16, 8192, 4096};
    m.code[0] = 0xf4;
    save(dir, "tiny-exec", &m, sizeof m);
    m.eh.e_type = ET_DYN;
    save(dir, "tiny-dyn", &m, sizeof m);
    return 0;
}
