/* daemon_limits.h -- the sizes the API promises (docs/api.md), in one place for
 * the request parser, the daemon and the fuzzer. */
#ifndef UIGD_DAEMON_LIMITS_H
#define UIGD_DAEMON_LIMITS_H

#define RR_IMAGE_MAX    128         /* image names */
#define RR_NAME_MAX     63          /* VM names */
#define RR_PORTS_MAX    16          /* published ports per VM */
#define RR_VOLUMES_MAX  16          /* volumes per VM (uvmm's UH_VOL_MAX) */
#define RR_ARGENV_BYTES (30 * 1024) /* arguments + environment: uvmm's boot page */
#define RR_MEM_MIN      2
#define RR_MEM_MAX      65536

#endif
