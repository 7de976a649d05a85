/*
 * klib.h — the kernel's small C library: memory and string functions, a formatter,
 * the kernel heap, panics and --verbose logging. Freestanding: nothing here calls
 * the outside world except through hypercalls.
 */
#ifndef UK_KLIB_H
#define UK_KLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t ssize_t;
typedef int64_t off_t;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define PAGE_SIZE 4096ULL
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strcpy(char *d, const char *s);
char *strncpy(char *d, const char *s, size_t n);
char *strstr(const char *h, const char *n);
int atoi(const char *s);
long strtol(const char *s, char **end, int base);

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Kernel heap (mm/kmalloc.c). */
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);

/* Give up: the monitor prints the message and exits with 125. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
/* One line to stderr through the monitor, only with --verbose. */
__attribute__((format(printf, 1, 2))) void klog(const char *fmt, ...);
extern bool kverbose;
extern bool knotify; /* the monitor wants to know when the program starts */

#define assert(c) ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))

#endif
