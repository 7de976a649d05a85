/*
 * exec.c — starts the application: map its ELF segments from the image, build
 * the initial stack (argc, argv, envp, auxv) exactly as Linux's execve does for a
 * static program, and enter it.
 *
 * Text and read-only data map straight onto the image's pages; writable data is
 * copied page by page on first touch; BSS is demand-zero. Nothing is read or
 * copied up front, so a large program starts as fast as a small one.
 */
#include "elf_parse.h"
#include "fs/image_parse.h"
#include "fs/vfs.h"
#include "sys/proc.h"

#define STACK_TOP 0x7ffffffff000ULL
#define STACK_SIZE (8ULL << 20)
#define PIE_BASE 0x555555554000ULL

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31
#define AT_MINSIGSTKSZ 51

struct strlist {
    const char **s;
    int n, cap;
};

static void push(struct strlist *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        const char **n = realloc(l->s, cap * sizeof *n);
        if (!n)
            panic("out of memory building the program's arguments");
        l->s = n;
        l->cap = cap;
    }
    l->s[l->n++] = s;
}

/* argv: the image's defaults, or argv[0] plus the arguments given to uvmm. */
static void build_argv(const struct uh_bootinfo *bi, const struct uimg_view *img,
                       struct strlist *argv)
{
    const char *argv0 = bi->argv0 ? PHYS_TO_VIRT(bi->argv0) : uimg_arg(img, 0);
    push(argv, argv0);
    if (bi->flags & UH_BOOT_ARGS) {
        const char *p = PHYS_TO_VIRT(bi->argv);
        for (uint32_t i = 0; i < bi->argc; i++, p += strlen(p) + 1)
            push(argv, p);
    } else {
        for (uint32_t i = 1; i < img->hdr->argc; i++)
            push(argv, uimg_arg(img, i));
    }
}

/* envp: the image's, then --env; a later NAME=... replaces an earlier one. */
static void add_env(struct strlist *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) + 1 : strlen(kv);
    for (int i = 0; i < env->n; i++) {
        if (strncmp(env->s[i], kv, klen) == 0) {
            env->s[i] = kv;
            return;
        }
    }
    push(env, kv);
}

static void build_env(const struct uh_bootinfo *bi, const struct uimg_view *img,
                      struct strlist *env)
{
    for (uint32_t i = 0; i < img->hdr->envc; i++)
        add_env(env, uimg_env(img, i));
    const char *p = PHYS_TO_VIRT(bi->envp);
    for (uint32_t i = 0; i < bi->envc; i++, p += strlen(p) + 1)
        add_env(env, p);
}

/* The entry's absolute path in the image, for AT_EXECFN. */
static void entry_path(const struct uimg_view *img, uint32_t ino, char *out, size_t max)
{
    char tmp[PATH_MAX];
    size_t pos = sizeof tmp - 1;
    tmp[pos] = 0;
    int depth = 0;
    while (ino != UIMG_ROOT && depth++ < 256) {
        uint32_t len;
        const char *name = uimg_name(img, ino, &len);
        if (len + 1 > pos)
            break;
        pos -= len;
        memcpy(tmp + pos, name, len);
        tmp[--pos] = '/';
        ino = uimg_inode(img, ino)->parent;
    }
    snprintf(out, max, "%s", tmp[pos] ? tmp + pos : "/");
}

static uint32_t prot_of(uint32_t flags)
{
    return ((flags & ELF_PF_R) ? PROT_READ : 0) | ((flags & ELF_PF_W) ? PROT_WRITE : 0) |
           ((flags & ELF_PF_X) ? PROT_EXEC : 0);
}

static void map_segments(const struct elf_info *e, uint64_t bias, uint64_t file_pa)
{
    for (int i = 0; i < e->nseg; i++) {
        const struct elf_seg *s = &e->segs[i];
        uint64_t va = s->vaddr + bias;
        uint64_t start = ALIGN_DOWN(va, PAGE_SIZE);
        uint64_t file_end = ALIGN_UP(va + s->filesz, PAGE_SIZE);
        uint64_t mem_end = ALIGN_UP(va + s->memsz, PAGE_SIZE);
        uint32_t prot = prot_of(s->flags);
        if (s->filesz > 0) {
            uint64_t off = ALIGN_DOWN(s->offset, PAGE_SIZE);
            struct vma v = {.start = start, .end = file_end, .prot = prot, .kind = VMA_FILE,
                            .src_pa = file_pa + off, .src_len = s->offset + s->filesz - off,
                            .shared_src = true};
            vm_unmap(v.start, v.end - v.start); /* a page shared with the previous segment */
            if (vm_map_fixed(&v) < 0)
                panic("out of memory mapping the program");
        } else {
            file_end = start;
        }
        if (mem_end > file_end) {
            struct vma v = {.start = file_end, .end = mem_end, .prot = prot, .kind = VMA_ANON};
            vm_unmap(v.start, v.end - v.start);
            if (vm_map_fixed(&v) < 0)
                panic("out of memory mapping the program");
        }
    }
}

/* Copies a string to the top of the new stack. */
static uint64_t put_str(uint64_t *sp, const char *s)
{
    size_t n = strlen(s) + 1;
    *sp -= n;
    memcpy((void *)*sp, s, n);
    return *sp;
}

__attribute__((noreturn)) void exec_start(const struct uh_bootinfo *bi)
{
    const struct uimg_view *img = imgfs_view();
    uint32_t entry = img->hdr->entry;
    uint64_t size;
    const uint8_t *data = uimg_data(img, entry, &size);
    const char *why;
    struct elf_info e;
    char execfn[PATH_MAX];
    entry_path(img, entry, execfn, sizeof execfn);
    if (!data || elf_parse(data, size, USER_TOP - STACK_SIZE - (1ULL << 32), &e, &why) < 0)
        panic("cannot run %s: %s", execfn, data ? why : "not a regular file");

    uint64_t bias = e.pie ? PIE_BASE - e.lo : 0;
    uint64_t file_pa = bi->image + (uint64_t)(data - img->base);
    map_segments(&e, bias, file_pa);
    vm_set_brk_base(e.hi + bias);

    struct vma stack = {.start = STACK_TOP - STACK_SIZE, .end = STACK_TOP,
                        .prot = PROT_READ | PROT_WRITE | (e.exec_stack ? PROT_EXEC : 0),
                        .kind = VMA_ANON};
    if (vm_map_fixed(&stack) < 0)
        panic("out of memory mapping the stack");

    struct strlist argv = {0}, env = {0};
    build_argv(bi, img, &argv);
    build_env(bi, img, &env);

    uint64_t sp = STACK_TOP;
    sp -= 16;
    memcpy((void *)sp, bi->seed, 16);
    uint64_t at_random = sp;
    uint64_t at_platform = put_str(&sp, "x86_64");
    uint64_t at_execfn = put_str(&sp, execfn);
    uint64_t *uenv = malloc((env.n + 1) * sizeof *uenv);
    uint64_t *uargv = malloc((argv.n + 1) * sizeof *uargv);
    if (!uenv || !uargv)
        panic("out of memory building the program's arguments");
    for (int i = env.n - 1; i >= 0; i--)
        uenv[i] = put_str(&sp, env.s[i]);
    for (int i = argv.n - 1; i >= 0; i--)
        uargv[i] = put_str(&sp, argv.s[i]);

    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    uint64_t auxv[][2] = {
        {AT_PHDR, e.phdr_vaddr + bias}, {AT_PHENT, e.phentsize}, {AT_PHNUM, e.phnum},
        {AT_PAGESZ, PAGE_SIZE},         {AT_BASE, 0},            {AT_FLAGS, 0},
        {AT_ENTRY, e.entry + bias},     {AT_UID, 0},             {AT_EUID, 0},
        {AT_GID, 0},                    {AT_EGID, 0},            {AT_SECURE, 0},
        {AT_HWCAP, d},                  {AT_HWCAP2, 0},          {AT_CLKTCK, 100},
        {AT_PLATFORM, at_platform},     {AT_RANDOM, at_random},  {AT_EXECFN, at_execfn},
        {AT_MINSIGSTKSZ, 2048},         {AT_NULL, 0},
    };
    uint64_t words = 1 + (argv.n + 1) + (env.n + 1) + 2 * ARRAY_SIZE(auxv);
    sp = ALIGN_DOWN(sp, 16);
    if (words & 1)
        sp -= 8;
    sp -= words * 8;
    uint64_t *w = (uint64_t *)sp;
    *w++ = argv.n;
    for (int i = 0; i < argv.n; i++)
        *w++ = uargv[i];
    *w++ = 0;
    for (int i = 0; i < env.n; i++)
        *w++ = uenv[i];
    *w++ = 0;
    memcpy(w, auxv, sizeof auxv);
    free(uenv);
    free(uargv);
    free(argv.s);
    free(env.s);

    /* Enter the program with the register state of a fresh Linux process. */
    static struct regs start;
    memset(&start, 0, sizeof start);
    start.rip = e.entry + bias;
    start.cs = KERNEL_CS;
    start.rflags = 0x2;
    start.rsp = sp;
    start.ss = KERNEL_DS;
    kmark(UH_MARK_APP_ENTRY);
    return_to_user(&start);
}
