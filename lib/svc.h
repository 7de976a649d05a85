/* svc.h -- what every service's main() does the same way: the common flags
 * (--listen, --registry, --advertise, --ttl, --log-level), the address to
 * advertise, and registration in the registry. One place, so that every
 * service answers --help alike and registers alike.
 */
#ifndef UIG_SVC_H
#define UIG_SVC_H

#include "el.h"
#include "mc.h"
#include "net.h"
#include "registry.h"

typedef struct svc_opts {
    const char *name; /* service name, also the registry name */
    char listen_host[NET_ADDR_MAX];
    int listen_port;
    char registry_host[NET_ADDR_MAX];
    int registry_port;            /* 0: no registry ("--registry none") */
    char advertise[NET_ADDR_MAX]; /* "IP:PORT" others should use */
    int ttl;                      /* seconds */
    int log_level;
} svc_opts;

#define SVC_USAGE_COMMON                                                                           \
    "  --listen HOST:PORT     where to listen\n"                                                   \
    "  --registry HOST:PORT   memcached-protocol registry (default 127.0.0.1:11211; none: off)\n"  \
    "  --advertise IP:PORT    address to register (default: the listen address, or the local\n"    \
    "                         address that reaches the registry when listening on 0.0.0.0)\n"      \
    "  --ttl SECONDS          registration lifetime, refreshed every third of it (default 10)\n"   \
    "  --log-level LEVEL      debug, info, warn, error (default info)\n"

/* Sets the defaults; listen is the default --listen. */
void svc_opts_init(svc_opts *o, const char *name, const char *listen);
/* If argv[*i] is a common flag, takes it (and its value, advancing *i) and
 * returns 1; returns 0 for anything else. Bad values end the program with
 * one line on stderr. */
int svc_parse_flag(svc_opts *o, int argc, char **argv, int *i);
/* Registers o->advertise under o->name after the server listens on
 * actual_port (which replaces a listen port of 0). Returns the registry
 * client (NULL with no registry). */
mc_client *svc_register(el_loop *loop, svc_opts *o, int actual_port, reg_entry **entry);

#endif
