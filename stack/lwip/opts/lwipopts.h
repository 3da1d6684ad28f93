/* SPDX-License-Identifier: MIT */
/*
 * lwipopts.h - tcplab's lwIP configuration, used when meson builds lwIP from Debian's lwip
 * source package (ci/lwip-source.sh; -Dlwip=source, the default where the source can be had).
 * It comes first on the include path, so lwIP's opt.h reads this file and not the one Debian's
 * port ships. The OS layer is tcplab's own (sys_arch.c, arch/sys_arch.h: run to completion,
 * no tcpip thread); Debian's arch/cc.h and posix socket headers are used as they are.
 *
 * Two groups of settings. The first keeps what the glue and the conformance results depend
 * on exactly as Debian's liblwip 2.1.3 has it (stack/lwip/README.md lists those facts): the
 * socket layer on Linux's own headers and errno, core locking, libc malloc for every pool,
 * the same protocols and socket options. The second is why this build exists, each choice
 * measured by `tcplab bench stack` (stack/lwip/README.md, "lwIP build"):
 *  - per-netif checksum control: memif is shared memory between two processes on one host,
 *    nothing on it can corrupt a frame, so the glue turns checksums off there (and only there:
 *    tap, veth and pci keep them, and the packet checks with bad checksums run on those);
 *  - a larger MSS, window and send buffer, so one segment can fill a jumbo memif frame and
 *    a stream is not held to 64 KiB in flight;
 *  - sockets in lwIP's own table, not Debian's list (MEMP_NUM_NETCONN below): thousands of
 *    connections without a list walk per socket call.
 */
#ifndef TCPLAB_LWIPOPTS_H
#define TCPLAB_LWIPOPTS_H

/* ---- as Debian's liblwip 2.1.3 ---- */

#define NO_SYS				0
#define LWIP_TCPIP_CORE_LOCKING		1

/* the socket layer on the C library's own socket headers: Linux values throughout */
#define LWIP_SOCKET_EXTERNAL_HEADERS		1
#define LWIP_SOCKET_EXTERNAL_HEADER_SOCKETS_H	"posix/sockets.h"
#define LWIP_SOCKET_EXTERNAL_HEADER_INET_H	"posix/inet.h"
#define LWIP_COMPAT_SOCKETS		0
#define LWIP_SOCKET_OFFSET		1
#define LWIP_SOCKET_SELECT		0
#define LWIP_POLL			1

/*
 * Sockets in lwIP's own table (sockets.c: sockets[NUM_SOCKETS], NUM_SOCKETS being
 * MEMP_NUM_NETCONN), not Debian's LWIP_SOCKET_OPEN_COUNT list (debian/patches/max_sockets):
 * that list finds a socket by walking it, on every call and every event_callback, so each
 * socket call cost O(open sockets) and a poll over N sockets O(N^2); at 1,000 connections
 * rr_many_1k ran at 18k transactions/s and never had all its connections open within a
 * 3 s run. The table is O(1) and numbers sockets the same way (the lowest free number);
 * its size is the glue's (TRACKED_SOCKETS in lwip.c), the most sockets one instance has;
 * its entries are a few dozen bytes each, untouched until used. Multicast memberships stay
 * at the 4 they were (sockets.c sizes them by NUM_SOCKETS and scans them on every close).
 */
#define MEMP_NUM_NETCONN		16384
#define LWIP_SOCKET_MAX_MEMBERSHIPS	4

/* every pool from malloc: sockets and pcbs are not capped at MEMP_NUM_* */
#define MEM_LIBC_MALLOC			1
#define MEMP_MEM_MALLOC			1
#define MEM_USE_POOLS			0
#define MEM_ALIGNMENT			8

/* ... through per-size free lists in front of malloc (heap.c: why, and what they keep) */
#include <stddef.h>
void *tcplab_heap_malloc(size_t size);
void tcplab_heap_free(void *p);
void *tcplab_heap_calloc(size_t n, size_t size);
#define mem_clib_malloc			tcplab_heap_malloc
#define mem_clib_free			tcplab_heap_free
#define mem_clib_calloc			tcplab_heap_calloc

/* link output sees a whole frame in one pbuf */
#define LWIP_NETIF_TX_SINGLE_PBUF	1
#define LWIP_NETIF_LOOPBACK		1
#define LWIP_HAVE_LOOPIF		0

#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1
#define ARP_QUEUEING			1
#define ARP_QUEUE_LEN			10
#define IP_FORWARD			1

#define LWIP_ARP			1
#define LWIP_ETHERNET			1
#define LWIP_IPV4			1
#define LWIP_ICMP			1
#define LWIP_IGMP			1
#define LWIP_RAW			1
#define LWIP_UDP			1
#define LWIP_UDPLITE			1
#define LWIP_TCP			1
#define LWIP_IPV6			1
#define LWIP_ICMP6			1
#define LWIP_IPV6_MLD			1
#define LWIP_IPV6_AUTOCONFIG		1
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS	1
#define LWIP_IPV6_SEND_ROUTER_SOLICIT	1
#define LWIP_IPV6_FORWARD		1
#define LWIP_IPV6_NUM_ADDRESSES		6
#define MEMP_NUM_MLD6_GROUP		16

#define LWIP_TCP_KEEPALIVE		1
#define LWIP_SO_SNDTIMEO		1
#define LWIP_SO_RCVTIMEO		1
#define LWIP_SO_RCVBUF			1
#define LWIP_SO_LINGER			1
#define SO_REUSE			1
#define LWIP_MULTICAST_TX_OPTIONS	1

#define LWIP_STATS			0
#define LWIP_STATS_DISPLAY		0
#define LWIP_NOASSERT_ON_ERROR		1

/* the port implements these (sys_arch.c here: depth counts, see arch/sys_arch.h) */
void sys_check_core_locking(void);
void sys_mark_tcpip_thread(void);
void sys_lock_tcpip_core(void);
void sys_unlock_tcpip_core(void);
#define LWIP_ASSERT_CORE_LOCKED()	sys_check_core_locking()
#define LWIP_MARK_TCPIP_THREAD()	sys_mark_tcpip_thread()
#define LOCK_TCPIP_CORE()		sys_lock_tcpip_core()
#define UNLOCK_TCPIP_CORE()		sys_unlock_tcpip_core()

/* ---- tcplab's choices ---- */

/*
 * The port (sys_arch.c, arch/sys_arch.h): lwIP runs in the backend's polling thread alone.
 * tcpip_init starts no thread; the loop handles the tcpip mailbox with tcpip_thread_poll_one,
 * which lwIP compiles only with TCPIP_THREAD_TEST. Mailbox sizes as Debian's port has them
 * (128, it ignores the size asked for), except a TCP connection's receive mailbox: one entry
 * per segment waiting for the application, 512 so that a 512 KiB window of 1460-byte
 * segments fits; and a listener's accept mailbox: lwIP ignores listen's backlog
 * (TCP_LISTEN_BACKLOG 0), so this is its accept queue, and a connection that finds it full is
 * reset (api_msg.c accept_function). 1024, the backlog tcplab serve asks for: at 128, a
 * serve that took its listener's turn every few hundred ready connections (a wait set's
 * turns) reset 862 of 10,000 connections as they opened.
 */
#define TCPIP_THREAD_TEST		1
#define TCPIP_MBOX_SIZE			128
#define DEFAULT_TCP_RECVMBOX_SIZE	512
#define DEFAULT_UDP_RECVMBOX_SIZE	128
#define DEFAULT_RAW_RECVMBOX_SIZE	128
#define DEFAULT_ACCEPTMBOX_SIZE		1024

/*
 * Checksums on by default; the glue clears them on memif (NETIF_SET_CHECKSUM_CTRL). Debian
 * checksums while tcp_write copies (LWIP_CHECKSUM_ON_COPY): that sum is taken before lwIP
 * knows the netif, so it would be computed for memif too and never used. Off: a netif with
 * checksums on sums each segment when it leaves (tcp_output_segment).
 */
#define LWIP_CHECKSUM_CTRL_PER_NETIF	1
#define LWIP_CHECKSUM_ON_COPY		0

/*
 * The largest segment: a 9000-byte memif MTU less the IPv4 and TCP headers. On every netif
 * lwIP sends and advertises min(TCP_MSS, MTU - 40) (TCP_CALCULATE_EFF_SEND_MSS), so a
 * 1500-byte tap or veth still sees 1460, as with Debian's build.
 */
#define TCP_MSS				8960

/*
 * 512 KiB receive window and send buffer (Debian: 64 KiB): about 58 full segments in flight.
 * The window scale follows: 512 KiB >> 4 fits the 16-bit window field.
 */
#define LWIP_WND_SCALE			1
#define TCP_RCV_SCALE			4
#define TCP_WND				(512 * 1024)
#define TCP_SND_BUF			(512 * 1024)
#define TCP_SND_QUEUELEN		((4 * (TCP_SND_BUF) + (TCP_MSS - 1)) / (TCP_MSS))
/* writable again (POLLOUT) once this much of the send buffer is free; opt.h's default
 * (half the buffer) does not fit the 16-bit limit lwIP checks it against */
#define TCP_SNDLOWAT			(4 * TCP_MSS)

/*
 * TTL 64, Linux's net.ipv4.ip_default_ttl (opt.h: 255). The glue sets IP_TTL 64 on every
 * socket, but a SYN-ACK leaves from the pcb tcp_listen_input makes with tcp_alloc, before
 * any socket exists, and that one takes IP_DEFAULT_TTL (pkt_ttl_and_df saw 255).
 */
#define IP_DEFAULT_TTL			64

#endif /* TCPLAB_LWIPOPTS_H */
