/* cc.h — lwIP's compiler and platform glue for uk.elf. */
#ifndef UK_LWIP_CC_H
#define UK_LWIP_CC_H

#include "klib.h"

#define SSIZE_MAX INT64_MAX /* klib.h has ssize_t */
#define LWIP_NO_UNISTD_H 1
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "lu"

#define BYTE_ORDER LITTLE_ENDIAN

#define LWIP_PLATFORM_DIAG(x) ((void)0)
#define LWIP_PLATFORM_ASSERT(x) panic("lwip: %s (%s:%d)", x, __FILE__, __LINE__)

uint32_t net_random(void);
#define LWIP_RAND() net_random()

#endif
