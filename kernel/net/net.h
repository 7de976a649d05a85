/*
 * net.h — the network side of uk.elf: the Ethernet device and lwIP's clock
 * (netdev.c) and BSD sockets on lwIP's raw API (socket.c).
 */
#ifndef UK_NET_H
#define UK_NET_H

#include "klib.h"
#include "mm/mm.h"
#include "uigniter/hypercall.h"

void net_init(const struct uh_bootinfo *bi);
void net_start(void); /* lwIP up (at boot with a device, else at the first socket) */
bool net_present(void);
uint32_t net_dns_server(void); /* network byte order, 0: none */
/* Sends the frames lwIP queued (and runs loopback traffic). */
void net_flush(void);
uint32_t net_random(void);
/* /etc/hosts and /etc/resolv.conf (with --dns) when the image has none. */
void net_etc_files(uint32_t dns);

#endif
