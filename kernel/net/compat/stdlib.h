/* stdlib.h for lwIP inside uk.elf: the kernel's own heap and conversions. */
#include "klib.h"
