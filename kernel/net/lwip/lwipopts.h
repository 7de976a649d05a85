/*
 * lwipopts.h — how uk.elf builds lwIP 2.1.3 (Debian's source package): the raw
 * API without an OS layer (NO_SYS), driven by the kernel's own socket layer
 * (net/socket.c). IPv4 with ARP, ICMP, UDP and TCP; memory from the kernel heap,
 * so the number of connections is bounded by guest RAM, not by static pools; TCP
 * windows and buffers sized for throughput, with window scaling.
 */
#ifndef UK_LWIPOPTS_H
#define UK_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
/* The kernel runs lwIP's timers itself (net/netdev.c): TCP's only while a
   connection needs it, ARP's and reassembly's only for a while after a frame,
   so an idle guest sets no timer at all and its vCPU stays asleep. */
#define LWIP_TIMERS 0

/* Memory: everything from malloc (mm/kmalloc.c). */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define PBUF_POOL_BUFSIZE 1600

/* Protocols. */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define ARP_QUEUEING 1
#define ARP_QUEUE_LEN 64
#define ARP_TABLE_SIZE 64
#define ETH_PAD_SIZE 0
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DNS 0       /* musl resolves names itself, over UDP */
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define IP_REASS_MAX_PBUFS 64
#define LWIP_BROADCAST_PING 0
#define IP_SOF_BROADCAST 1
#define IP_SOF_BROADCAST_RECV 1
#define SO_REUSE 1
#define SO_REUSE_RXTOALL 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_SINGLE_NETIF 0

/* TCP: Linux-like sizes. The receive window opens as the application reads. */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 4
#define TCP_WND (512 * 1024)
#define TCP_SND_BUF (512 * 1024)
#define TCP_SND_QUEUELEN 4096
#define TCP_SNDLOWAT 16384
#define TCP_SNDQUEUELOWAT (TCP_SND_QUEUELEN / 2)
#define TCP_OVERSIZE TCP_MSS
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_BYTES (1024 * 1024)
#define TCP_OOSEQ_MAX_PBUFS 1024
#define LWIP_TCP_SACK_OUT 1
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 0xff
#define LWIP_TCP_KEEPALIVE 1
#define TCP_MAXRTX 12     /* lwIP's most: several minutes of retransmissions */
#define TCP_SYNMAXRTX 6   /* about two minutes, as Linux's tcp_syn_retries */
#define LWIP_TCP_TIMESTAMPS 0
#define LWIP_CALLBACK_API 1
#define LWIP_EVENT_API 0
#define TCP_CALCULATE_EFF_SEND_MSS 1
#define LWIP_TCP_MAX_SACK_NUM 4
#define MEMP_NUM_TCP_SEG TCP_SND_QUEUELEN

/* Checksums: generated and checked in software (the tap hands over whole frames). */
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_ICMP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_ICMP 1
#define LWIP_CHECKSUM_ON_COPY 1

#define LWIP_STATS 0
#define LWIP_NETIF_HOSTNAME 0
#define LWIP_NETIF_API 0
#define LWIP_NOASSERT_ON_ERROR 1
#define LWIP_DEBUG 0

#endif
