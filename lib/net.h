/* net.h -- small TCP helpers in the spirit of Redis' anet: listen, accept,
 * connect, socket options and "HOST:PORT" parsing. Every socket they return is
 * non-blocking and close-on-exec. IPv4 only, which is what the unikernel's
 * network stack offers; host tools may also connect to a Unix stream socket
 * (a daemon's local API). Errors: -1 with errno.
 */
#ifndef UIG_NET_H
#define UIG_NET_H

#include <netinet/in.h>
#include <stddef.h>

#define NET_ADDR_MAX 64 /* enough for "255.255.255.255:65535" and host names we accept */

/* Splits "HOST:PORT" (or ":PORT", meaning 0.0.0.0). Returns 0, or -1/EINVAL. */
int net_parse_hostport(const char *s, char *host, size_t hostlen, int *port);
/* Numeric IPv4 or "localhost" (a unikernel has no resolver to rely on), then
 * getaddrinfo as a last resort. */
int net_resolve(const char *host, int port, struct sockaddr_in *sa);

int net_listen(const char *host, int port, int backlog);
/* Returns a non-blocking fd, or -1 (EAGAIN when nothing is pending). ip/port
 * of the peer are filled when not NULL. */
int net_accept(int lfd, char *ip, size_t iplen, int *port);
/* Starts a non-blocking connect; the fd becomes writable when it is done, and
 * net_connect_result() tells how it went. */
int net_connect(const char *host, int port);
int net_connect_result(int fd);
/* The same for the Unix stream socket at path, which must fit a sockaddr_un
 * (at most NET_UNIX_PATH_MAX bytes; ENAMETOOLONG beyond). A Unix connect
 * completes at once or fails (EAGAIN when the listener's backlog is full). */
#define NET_UNIX_PATH_MAX 107
int net_connect_unix(const char *path);
/* Blocking connect with a timeout, for tools and tests. */
int net_connect_wait(const char *host, int port, int timeout_ms);

int net_set_nonblock(int fd, int on);
int net_set_nodelay(int fd, int on);
/* The local address of a socket as "IP:PORT"; port alone when out is NULL. */
int net_local_port(int fd);
int net_local_addr(int fd, char *out, size_t outlen);

#endif
