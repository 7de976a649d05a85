/* svc.c -- common service flags and registration (see svc.h). */
#include "svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

void svc_opts_init(svc_opts *o, const char *name, const char *listen)
{
    memset(o, 0, sizeof(*o));
    o->name = name;
    if (net_parse_hostport(listen, o->listen_host, sizeof(o->listen_host), &o->listen_port) < 0)
        die("bad default listen address %s", listen);
    snprintf(o->registry_host, sizeof(o->registry_host), "127.0.0.1");
    o->registry_port = 11211;
    o->ttl = 10;
    o->log_level = LOG_LEVEL_INFO;
    log_init(name, o->log_level);
}

int svc_parse_flag(svc_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    static const char *const flags[] = {"--listen", "--registry", "--advertise", "--ttl",
                                        "--log-level"};
    int known = 0;
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
        known |= strcmp(a, flags[k]) == 0;
    if (!known)
        return 0;
    if (*i + 1 >= argc)
        die("%s needs a value (see --help)", a);
    const char *v = argv[++*i];
    if (strcmp(a, "--listen") == 0) {
        if (net_parse_hostport(v, o->listen_host, sizeof(o->listen_host), &o->listen_port) < 0)
            die("--listen: expected HOST:PORT, got '%s'", v);
    } else if (strcmp(a, "--registry") == 0) {
        if (strcmp(v, "none") == 0)
            o->registry_port = 0;
        else if (net_parse_hostport(v, o->registry_host, sizeof(o->registry_host),
                                    &o->registry_port) < 0 ||
                 o->registry_port == 0)
            die("--registry: expected HOST:PORT or none, got '%s'", v);
    } else if (strcmp(a, "--advertise") == 0) {
        char host[NET_ADDR_MAX];
        int port;
        struct in_addr ia;
        if (net_parse_hostport(v, host, sizeof(host), &port) < 0 ||
            inet_pton(AF_INET, host, &ia) != 1)
            die("--advertise: expected IP:PORT, got '%s'", v);
        snprintf(o->advertise, sizeof(o->advertise), "%s", v);
    } else if (strcmp(a, "--ttl") == 0) {
        char *end;
        long t = strtol(v, &end, 10);
        if (*end || t < 1 || t > 86400)
            die("--ttl: expected seconds between 1 and 86400, got '%s'", v);
        o->ttl = (int)t;
    } else {
        if ((o->log_level = log_level_parse(v)) < 0)
            die("--log-level: unknown level '%s'", v);
        log_init(o->name, o->log_level);
    }
    return 1;
}

/* The local address the kernel would use to reach host: a UDP "connect"
 * sends nothing but picks the route. */
static int local_ip_towards(const char *host, int port, char *out, size_t outlen)
{
    struct sockaddr_in sa, me;
    socklen_t len = sizeof(me);
    if (net_resolve(host, port, &sa) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc == 0)
        rc = getsockname(fd, (struct sockaddr *)&me, &len);
    close(fd);
    if (rc < 0 || !inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)outlen))
        return -1;
    return 0;
}

mc_client *svc_register(el_loop *loop, svc_opts *o, int actual_port, reg_entry **entry)
{
    if (entry)
        *entry = NULL;
    if (!o->advertise[0]) {
        char ip[NET_ADDR_MAX] = "127.0.0.1";
        if (strcmp(o->listen_host, "0.0.0.0") != 0)
            memcpy(ip, o->listen_host, sizeof(ip));
        else if (o->registry_port)
            local_ip_towards(o->registry_host, o->registry_port, ip, sizeof(ip));
        ip[40] = '\0'; /* an IPv4 address or a short host name */
        snprintf(o->advertise, sizeof(o->advertise), "%.40s:%d", ip, actual_port);
    }
    if (!o->registry_port)
        return NULL;
    mc_client *mc = mc_client_create(loop, o->registry_host, o->registry_port);
    if (!mc)
        die("out of memory");
    reg_entry *e = reg_register(mc, o->name, o->advertise, o->ttl);
    if (!e)
        die("cannot register %s as %s: %s", o->advertise, o->name, strerror(errno));
    if (entry)
        *entry = e;
    return mc;
}
