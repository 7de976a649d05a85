/* string.h for lwIP inside uk.elf: the kernel's own string functions. */
#include "klib.h"
