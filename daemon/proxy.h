/* proxy.h -- published ports: a host TCP port forwarded to a port of a VM.
 *
 * The daemon listens on ADDR:HOSTPORT and, for every connection accepted,
 * connects to VMIP:VMPORT and copies bytes both ways on its event loop, with
 * back-pressure (a side stops being read while the other's queue is full),
 * half-closes (a FIN is passed on as shutdown(SHUT_WR) once the queued bytes
 * are out) and resets (an RST on one side resets the other). A connection that
 * cannot reach the VM is closed at once. Nothing is lost in between: the copy is
 * exact, whatever the sizes and timings.
 */
#ifndef UIG_PROXY_H
#define UIG_PROXY_H

#include <stddef.h>

#include "el.h"

typedef struct proxy proxy;

typedef struct port_spec {
    char host_addr[16]; /* IPv4, default "127.0.0.1" */
    int host_port;      /* 1..65535 */
    int vm_port;        /* 1..65535 */
} port_spec;

/* Parses "HOSTPORT:VMPORT", "ADDR:HOSTPORT:VMPORT", either optionally ending in
 * "/tcp". Returns 0, or -1 with a reason in err ("/udp" is not supported). */
int port_spec_parse(const char *s, port_spec *out, char *err, size_t errlen);
/* Both would listen on the same host socket: the same port, and the same
 * address or either of them 0.0.0.0. */
int port_spec_clash(const port_spec *a, const port_spec *b);
/* "ADDR:HOSTPORT:VMPORT" */
void port_spec_str(const port_spec *p, char *out, size_t outlen);

/* Published ports listen in the network namespace at PATH (a file such as
 * /proc/PID/ns/net or one under /run/netns) instead of the daemon's own: a
 * daemon kept in a namespace of its own can still publish on the host's
 * loopback. The VM side is always connected from the daemon's namespace.
 * Returns 0, or -1 with a reason in err. Call before any proxy_open. */
int proxy_listen_netns(const char *path, char *err, size_t errlen);

/* Listens on spec's host side and forwards to vm_ip (dotted quad) at spec's VM
 * port. NULL with errno (EADDRINUSE when the port is taken) and err. */
proxy *proxy_open(el_loop *loop, const port_spec *spec, const char *vm_ip, char *err,
                  size_t errlen);
/* Stops listening and closes every forwarded connection. */
void proxy_close(proxy *p);
/* Connections being forwarded now. */
int proxy_conns(const proxy *p);

#endif
