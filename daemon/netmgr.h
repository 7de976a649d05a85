/* netmgr.h -- the network manager of uigniterd: the bridge, the taps and the
 * addresses of the VMs.
 *
 * Everything is done from C with rtnetlink and the tun ioctls, never by running
 * ip(8). The bridge is created when missing and given the subnet's first host
 * address (the VMs' gateway). A tap is created non-persistent, attached to the
 * bridge and brought up; its fd is what uvmm gets (--net-fd), so the tap
 * disappears by itself when the last process holding it exits.
 * Addresses are allocated next-fit over the subnet, so a released address comes
 * back only after all the others; the MAC follows from the address.
 * All functions are thread-safe (the warm pool's thread creates taps too).
 * Errors: -1 with errno, and a message in err when err is not NULL.
 */
#ifndef UIG_NETMGR_H
#define UIG_NETMGR_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

typedef struct netmgr netmgr;

typedef struct netmgr_config {
    const char *bridge;     /* "uigniter0" */
    const char *subnet;     /* "10.87.0.0/16": prefix 8..30 */
    const char *tap_prefix; /* "uigt": taps are named prefix + number, at most 15 bytes */
} netmgr_config;

/* Sets up the bridge (creates it when missing, adds the gateway address when
 * missing, brings it up). NULL on failure with errno and err. */
netmgr *netmgr_open(const netmgr_config *cfg, char *err, size_t errlen);
/* Frees the manager; the bridge stays. */
void netmgr_close(netmgr *nm);

/* Addresses are host byte order. */
uint32_t netmgr_gateway(const netmgr *nm); /* the bridge's address */
int netmgr_prefix(const netmgr *nm);       /* e.g. 16 */
/* A free address, marked in use. -1/EADDRNOTAVAIL when none is left. */
int netmgr_ip_alloc(netmgr *nm, uint32_t *ip);
/* Marks a given address in use (recovery). -1/EADDRINUSE when taken,
 * -1/EINVAL when outside the subnet or not a host address. */
int netmgr_ip_reserve(netmgr *nm, uint32_t ip);
void netmgr_ip_release(netmgr *nm, uint32_t ip);
int netmgr_ip_in_use(netmgr *nm); /* how many are allocated */
/* 02:75:67 followed by the low 24 bits of ip. */
void netmgr_mac(uint32_t ip, uint8_t mac[6]);
/* "10.87.0.2" and "02:75:67:00:00:02" */
void netmgr_ip_str(uint32_t ip, char out[16]);
void netmgr_mac_str(const uint8_t mac[6], char out[18]);

/* Creates a tap (IFF_TAP | IFF_NO_PI, not persistent, close-on-exec), attaches
 * it to the bridge and brings it up. Returns its fd and writes its name to
 * name. The tap lives as long as some process holds the fd. */
int netmgr_tap_create(netmgr *nm, char name[IFNAMSIZ], char *err, size_t errlen);
/* Deletes a tap by name (an orphaned one). 0 when gone or not there;
 * -1/EINVAL when the name is not tap_prefix + digits or the link is not a
 * tap; -1/EEXIST when the name is only another link's alternative name. */
int netmgr_tap_delete(netmgr *nm, const char *name);
/* Names of the links whose name is tap_prefix followed by digits. Returns how
 * many (at most max), or -1. */
int netmgr_tap_list(netmgr *nm, char (*names)[IFNAMSIZ], int max);

#endif
