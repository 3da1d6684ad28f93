/* SPDX-License-Identifier: MIT */
/*
 * lwip.c - the "lwip" plug-in: <tcplab/stack.h> on lwIP's socket layer, over the DPDK layer
 * (stack/dpdk). Its one exported symbol is tcplab_stack_entry, at the end of this file.
 *
 * create: stk_cfg_parse -> dpk_eal_start -> dpk_port_open -> stk_netif_start (stk.h has the
 * flow and the threading rule). Socket calls go straight to lwip_*; they run in the caller's
 * thread under lwIP's core lock (LWIP_TCPIP_CORE_LOCKING). tl_poll spins stk_loop_once and
 * asks lwip_poll (timeout 0) which sockets are ready.
 *
 * Debian's liblwip is built with LWIP_SOCKET_EXTERNAL_HEADERS and LWIP_ERRNO_STDINCLUDE:
 * its socket layer takes the Linux values of levels, options, flags and poll events and sets
 * the Linux errno, so calls pass through unchanged and lwip_ret is the one place where a
 * lwIP failure becomes a negative errno.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <limits.h>

#include <rte_version.h>

#include "lwip/api.h"
#include "lwip/init.h"
#include "lwip/priv/sockets_priv.h"
#include "lwip/sockets.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

#include "clock.h"
#include "stk.h"
#include "stk_build.h"
#include "ws.h"

/* lwIP descriptors above this work, but behave as non-blocking and are not closed by
 * lwip_free. */
#define TRACKED_SOCKETS 16384
#define SETTLE_NS (200 * 1000 * 1000)
/* At exit, closed connections get this long to finish their handshakes before the rest are
 * aborted: the kernel finishes them after a process exits, lwIP dies with it. */
#define EXIT_SETTLE_NS (500 * 1000 * 1000)

/*
 * What the caller set on a socket that lwIP must not act on itself: every lwIP socket is
 * non-blocking (a blocking lwIP call would wait for input that only this thread can feed),
 * and the glue makes a call blocking by spinning the poll loop until the socket is ready or
 * SO_RCVTIMEO / SO_SNDTIMEO runs out.
 */
struct sock_state {
	uint8_t open;			/* this instance opened the socket */
	uint8_t nonblock;		/* the caller asked for O_NONBLOCK */
	uint8_t connecting;		/* connect in progress: a reset now means "refused" */
	uint8_t rd_closed;		/* EOF or reset seen, or shut for reading: recv gives 0 */
	uint8_t wr_shut;		/* shut for writing: send gives EPIPE */
	uint8_t linger0;		/* SO_LINGER on with 0 s: close resets */
	uint8_t err_told;		/* a reset was reported once: the socket is now closed */
	int rcvtimeo_ms;		/* 0: none */
	int sndtimeo_ms;
};

struct lwip_stack {
	struct tl_stack base;
	struct stk_cfg cfg;
	struct dpk_port port;
	struct stk_netif *nf;
	uint64_t c[STK_C__COUNT];
	unsigned int mbufs_start;
	uint64_t cycles_per_ms;
	unsigned int n_open;
	bool peer_lost_told;
	char version[160];
	struct dpk_ws_table ws;		/* the wait sets (stack/dpdk/ws.h) */
	struct pollfd ws_pf[TRACKED_SOCKETS];	/* a wait's candidates */
	struct sock_state sk[TRACKED_SOCKETS];
};

/* The instance whose wait sets ws_event feeds (lwIP is one per process), and the callback
 * lwIP's socket layer gave every netconn (event_callback, static in sockets.c). */
static struct lwip_stack *ws_owner;
static netconn_callback lwip_event;

static const char *const counter_names[STK_C__COUNT] = {
	[STK_C_DROP_RX_BAD_FRAME] = "drop_rx_bad_frame",
	[STK_C_DROP_RX_INPUT] = "drop_rx_input",
	[STK_C_DROP_RX_IP_PROTO] = "drop_rx_ip_proto",
	[STK_C_TW_RECYCLED] = "tcp_time_wait_recycled",
};

/* lwIP's settings; the port's are the DPDK layer's (dpk_cfg_parse) */
static const struct dpk_opt lwip_opts[] = {
	{ "tw_max", "TIME_WAIT connections kept before the oldest are recycled" },
	{ "idle_yield_us", "idle spin before tl_poll yields the CPU each pass (0: never)" },
};

int stk_cfg_parse(struct stk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len)
{
	int r = dpk_cfg_parse(&cfg->dpdk, p, lwip_opts, sizeof(lwip_opts) / sizeof(lwip_opts[0]),
			      err, len);

	if (r == 0)
		r = dpk_cfg_need_ip(&cfg->dpdk, err, len);
	if (r == 0)
		r = dpk_opt_uint(&cfg->tw_max, p, "tw_max", 256, 0, 1u << 20, err, len);
	if (r == 0)
		r = dpk_opt_uint(&cfg->idle_yield_us, p, "idle_yield_us", 0, 0, 1000000, err, len);
	return r;
}

static struct lwip_stack *lst(struct tl_stack *st)
{
	return (struct lwip_stack *)st;
}

/* The glue's record of a socket; NULL for one it does not track. */
static struct sock_state *state_of(struct lwip_stack *l, int s)
{
	return s >= 0 && s < TRACKED_SOCKETS && l->sk[s].open ? &l->sk[s] : NULL;
}

/* The one conversion point: lwIP's socket layer returns -1 and sets (Linux) errno. */
static long lwip_ret(long r)
{
	if (r >= 0)
		return r;
	return errno > 0 ? -errno : -EIO;
}

/* A new socket (socket, accept) or a closed one; new ones start blocking, as on Linux. */
static void track(struct lwip_stack *l, int s, uint8_t on)
{
	if (s < 0 || s >= TRACKED_SOCKETS || l->sk[s].open == on)
		return;
	l->sk[s] = (struct sock_state){ .open = on };
	if (on) {
		lwip_fcntl(s, F_SETFL, O_NONBLOCK);
		l->n_open++;
	} else {
		l->n_open--;
	}
}

/* The caller's view: NULL for a non-blocking socket (every lwIP call passes through). */
static const struct sock_state *blocking(struct lwip_stack *l, int s)
{
	if (s < 0 || s >= TRACKED_SOCKETS || !l->sk[s].open || l->sk[s].nonblock)
		return NULL;
	return &l->sk[s];
}

static int64_t now_ns(void)
{
	return (int64_t)dpk_clock_ns();
}

/* ---- lifetime ---- */

static int start(struct lwip_stack *l, const struct tl_stack_params *p, char *err, size_t len)
{
	int r;

	r = stk_cfg_parse(&l->cfg, p, err, len);
	if (r < 0)
		return r;
	r = dpk_eal_start(&l->cfg.dpdk, err, len);
	if (r < 0)
		return r;
	r = dpk_port_open(&l->port, &l->cfg.dpdk, stk_netif_priv_size(), err, len);
	if (r < 0)
		return r;
	l->nf = stk_netif_start(&l->port, &l->cfg, l->c, err, len);
	if (l->nf == NULL) {
		r = -errno;
		goto err_close_port;
	}
	return 0;

err_close_port:
	dpk_port_close(&l->port);
	return r;
}

static struct tl_stack *lwip_create(const struct tl_stack_params *p, char *err, size_t len)
{
	struct lwip_stack *l = calloc(1, sizeof(*l));
	int r;

	if (l == NULL)
		return NULL;
	r = start(l, p, err, len);
	if (r < 0) {
		free(l);
		errno = -r;
		return NULL;
	}
	l->ws.n_sockets = TRACKED_SOCKETS;
	ws_owner = l;
	l->mbufs_start = dpk_port_mbufs_in_use(&l->port);
	l->cycles_per_ms = dpk_clock_cycles_of_ms(1);
	snprintf(l->version, sizeof(l->version), "lwip %s (%s), dpdk %s", LWIP_VERSION_STRING,
		 STK_LWIP_BUILD,
		 strncmp(rte_version(), "DPDK ", 5) == 0 ? rte_version() + 5 : rte_version());
	return &l->base;
}

/* The settings as lwip_create would read them (stk_cfg_parse), nothing started. */
static int lwip_check(const struct tl_stack_params *p, char *err, size_t len)
{
	struct stk_cfg cfg;

	return stk_cfg_parse(&cfg, p, err, len);
}

static unsigned int settle(struct lwip_stack *l, unsigned int *time_wait, int64_t ns);

static void lwip_free(struct tl_stack *st)
{
	struct lwip_stack *l = lst(st);
	unsigned int tw;
	int s;

	dpk_ws_close_all(&l->ws);
	ws_owner = NULL;
	for (s = 0; s < TRACKED_SOCKETS && l->n_open > 0; s++)
		if (l->sk[s].open) {
			lwip_close(s);
			track(l, s, 0);
		}
	/* a FIN just queued must reach the peer, and the peer's FIN be answered, before the
	 * stack stops: otherwise the peer sees a reset the kernel would not have sent */
	settle(l, &tw, EXIT_SETTLE_NS);
	stk_netif_stop(l->nf);
	dpk_port_close(&l->port);
	free(l);
}

/* ---- sockets ---- */

static void ws_hook(int s);

/* Linux's net.ipv4.ip_default_ttl; lwIP's TCP_TTL is 255 */
#define DEFAULT_TTL 64

static int lwip_socket_op(struct tl_stack *st)
{
	int s = lwip_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), ttl = DEFAULT_TTL;

	if (s >= 0) {
		track(lst(st), s, 1);
		ws_hook(s);
		lwip_setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	}
	return (int)lwip_ret(s);
}

/*
 * A socket that has an address already (bound, or connected) is refused with EINVAL, as
 * Linux's inet_bind does. lwIP 2.1's tcp_bind checks only that the pcb is CLOSED, which a
 * bound pcb still is: it binds again, and TCP_REG puts the pcb on tcp_bound_pcbs a second
 * time, a loop in that list (a third bind then never returns).
 */
static int lwip_bind_op(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	struct sockaddr_storage now;
	socklen_t now_len = sizeof(now);

	(void)st;
	if (lwip_getsockname(s, (struct sockaddr *)&now, &now_len) == 0 &&
	    now.ss_family == AF_INET && ((struct sockaddr_in *)&now)->sin_port != 0)
		return -EINVAL;
	return (int)lwip_ret(lwip_bind(s, a, len));
}

static int lwip_listen_op(struct tl_stack *st, int s, int backlog)
{
	(void)st;
	return (int)lwip_ret(lwip_listen(s, backlog));
}

static int lwip_poll_op(struct tl_stack *st, struct pollfd *fds, unsigned int n,
			int timeout_ms);

/* ---- blocking calls, made of non-blocking ones and the poll loop ---- */

/*
 * Spin the loop until @p s shows @p ev (or an error or hangup) or @p deadline passes.
 * 1 when ready, -EAGAIN when the time ran out, another negative errno when the stack gave up.
 */
static int wait_for(struct lwip_stack *l, int s, short ev, int64_t deadline)
{
	struct pollfd pf = { .fd = s, .events = ev };
	int left = dpk_ms_left(deadline), r;

	if (left == 0)
		return -EAGAIN;
	r = lwip_poll_op(&l->base, &pf, 1, left);
	return r < 0 ? r : r == 0 ? -EAGAIN : 1;
}

static int lwip_accept_op(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	struct lwip_stack *l = lst(st);
	const struct sock_state *k = blocking(l, s);
	int64_t deadline = dpk_deadline_of(k ? k->rcvtimeo_ms : 0);
	int n, w;

	for (;;) {
		n = lwip_accept(s, a, len);
		if (n >= 0) {
			int ttl = DEFAULT_TTL;
			socklen_t tl = sizeof(ttl);

			/* as on Linux, the new socket has its listener's TTL (lwIP: TCP_TTL) */
			track(l, n, 1);
			ws_hook(n);
			lwip_getsockopt(s, IPPROTO_IP, IP_TTL, &ttl, &tl);
			lwip_setsockopt(n, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
			return n;
		}
		if (k == NULL || errno != EAGAIN)
			return (int)lwip_ret(n);
		w = wait_for(l, s, POLLIN, deadline);
		if (w < 0)
			return w;
	}
}

/* A blocking connect: EINPROGRESS, then writable, then the outcome from SO_ERROR. */
static int lwip_connect_op(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	struct lwip_stack *l = lst(st);
	const struct sock_state *k = blocking(l, s);
	struct sock_state *ks = state_of(l, s);
	socklen_t elen = sizeof(int);
	int r = lwip_connect(s, a, len), e = 0, w;

	if (r < 0 && errno == EINPROGRESS && ks != NULL)
		ks->connecting = 1;
	if (r == 0 || k == NULL || errno != EINPROGRESS)
		return (int)lwip_ret(r);
	w = wait_for(l, s, POLLOUT, dpk_deadline_of(k->sndtimeo_ms));
	if (w < 0)
		return w == -EAGAIN ? -EINPROGRESS : w;
	if (lwip_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		return (int)lwip_ret(-1);
	ks->connecting = 0;
	/* lwIP reports a reset answering the SYN as ERR_RST; Linux calls it a refusal */
	return e == ECONNRESET ? -ECONNREFUSED : -e;
}

#define SEND_SLOW_PATH (-SSIZE_MAX - 1)

/*
 * A small send on an established TCP connection, straight to tcp_write and tcp_output under
 * the core lock: what lwIP's socket and netconn layers (lwip_send, netconn_write_partly,
 * lwip_netconn_do_writemore) would do for it, without their message and bookkeeping (echo_rr
 * 2-17 % faster in interleaved pairs, stack/lwip/README.md). Taken only where those layers
 * would do exactly this: nothing else in progress on the connection, no error pending, the
 * data fits in one segment, and the send buffer stays above its low-water marks afterwards
 * (so the socket stays writable, as it was). SEND_SLOW_PATH otherwise, having changed
 * nothing.
 */
static ssize_t send_fast(int s, const void *buf, size_t len, int flags)
{
	struct lwip_sock *sock = lwip_socket_dbg_get_socket(s);
	struct netconn *conn = sock != NULL ? sock->conn : NULL;
	struct tcp_pcb *pcb;
	ssize_t r = SEND_SLOW_PATH;
	err_t err;

	if ((flags & ~MSG_DONTWAIT) != 0 || len == 0 || conn == NULL || sock->errevent != 0 ||
	    NETCONNTYPE_GROUP(netconn_type(conn)) != NETCONN_TCP ||
	    conn->state != NETCONN_NONE || conn->pending_err != ERR_OK)
		return SEND_SLOW_PATH;
	LOCK_TCPIP_CORE();
	pcb = conn->pcb.tcp;
	if (pcb != NULL && (pcb->state == ESTABLISHED || pcb->state == CLOSE_WAIT) &&
	    len <= tcp_mss(pcb) && len + TCP_SNDLOWAT < tcp_sndbuf(pcb) &&
	    tcp_sndqueuelen(pcb) + 2 < TCP_SNDQUEUELOWAT) {
		err = tcp_write(pcb, buf, (u16_t)len, TCP_WRITE_FLAG_COPY);
		if (err == ERR_OK)
			r = tcp_output(pcb) == ERR_RTE ? -EHOSTUNREACH : (ssize_t)len;
	}
	UNLOCK_TCPIP_CORE();
	return r;
}

static ssize_t send_raw(struct tl_stack *st, int s, const void *buf, size_t len, int flags)
{
	struct lwip_stack *l = lst(st);
	const struct sock_state *k = blocking(l, s);
	int64_t deadline;
	size_t sent = 0;
	ssize_t r;
	int w;

	/* no signals in lwIP: MSG_NOSIGNAL is implied and not understood */
	flags &= ~MSG_NOSIGNAL;
	r = send_fast(s, buf, len, flags);
	if (r != SEND_SLOW_PATH)
		return r;
	if (k == NULL || (flags & MSG_DONTWAIT))
		return lwip_ret(lwip_send(s, buf, len, flags));
	deadline = dpk_deadline_of(k->sndtimeo_ms);
	for (;;) {
		r = lwip_send(s, (const char *)buf + sent, len - sent, flags | MSG_DONTWAIT);
		if (r < 0 && errno != EAGAIN)
			return sent > 0 ? (ssize_t)sent : lwip_ret(r);
		sent += r > 0 ? (size_t)r : 0;
		if (sent == len)
			return (ssize_t)sent;
		w = wait_for(l, s, POLLOUT, deadline);
		if (w < 0)
			return sent > 0 ? (ssize_t)sent : w;
	}
}

/* A blocking recv returns what is there once something is; MSG_WAITALL waits for all of it
 * (lwIP 2.1's lwip_recv ignores that flag). */
static ssize_t recv_raw(struct tl_stack *st, int s, void *buf, size_t len, int flags)
{
	struct lwip_stack *l = lst(st);
	const struct sock_state *k = blocking(l, s);
	int64_t deadline = dpk_deadline_of(k ? k->rcvtimeo_ms : 0);
	bool all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
	size_t got = 0;
	ssize_t r;
	int w;

	flags &= ~MSG_WAITALL;
	if (k == NULL || (flags & MSG_DONTWAIT))
		return lwip_ret(lwip_recv(s, buf, len, flags));
	for (;;) {
		r = lwip_recv(s, (char *)buf + got, len - got, flags | MSG_DONTWAIT);
		if (r < 0 && errno != EAGAIN)
			return got > 0 ? (ssize_t)got : lwip_ret(r);
		got += r > 0 ? (size_t)r : 0;
		if (r == 0 || (got > 0 && (!all || got == len)))
			return (ssize_t)got;
		w = wait_for(l, s, POLLIN, deadline);
		if (w < 0)
			return got > 0 ? (ssize_t)got : w;
	}
}

/* Drop the first @p n bytes of an iovec array copy; returns the entries left. */
static int iov_advance(struct iovec *iov, int cnt, size_t n, struct iovec **first)
{
	while (cnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		cnt--;
	}
	if (cnt > 0) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	*first = iov;
	return cnt;
}

static ssize_t sendv_raw(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	struct lwip_stack *l = lst(st);
	const struct sock_state *k = blocking(l, s);
	int64_t deadline = dpk_deadline_of(k ? k->sndtimeo_ms : 0);
	struct iovec v[IOV_MAX > 64 ? 64 : IOV_MAX], *at = v;
	size_t sent = 0;
	int cnt = iovcnt, w;
	ssize_t r;

	if (k == NULL || iovcnt < 1 || iovcnt > (int)(sizeof(v) / sizeof(v[0])))
		return lwip_ret(lwip_writev(s, iov, iovcnt));
	memcpy(v, iov, sizeof(v[0]) * (size_t)iovcnt);
	for (;;) {
		r = lwip_writev(s, at, cnt);
		if (r < 0 && errno != EAGAIN)
			return sent > 0 ? (ssize_t)sent : lwip_ret(r);
		sent += r > 0 ? (size_t)r : 0;
		cnt = iov_advance(at, cnt, r > 0 ? (size_t)r : 0, &at);
		if (cnt == 0)
			return (ssize_t)sent;
		w = wait_for(l, s, POLLOUT, deadline);
		if (w < 0)
			return sent > 0 ? (ssize_t)sent : w;
	}
}

static ssize_t recvv_raw(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	struct lwip_stack *l = lst(st);
	const struct sock_state *k = blocking(l, s);
	int64_t deadline = dpk_deadline_of(k ? k->rcvtimeo_ms : 0);
	ssize_t r;
	int w;

	for (;;) {
		r = lwip_readv(s, iov, iovcnt);
		if (r >= 0 || k == NULL || errno != EAGAIN)
			return lwip_ret(r);
		w = wait_for(l, s, POLLIN, deadline);
		if (w < 0)
			return w;
	}
}

/*
 * Linux's answers where lwIP's differ, from what the glue saw of the socket. Linux reports a
 * reset once (sk_err is cleared when read) and the socket is then closed: recv returns 0 and
 * send fails with EPIPE; lwIP keeps returning ECONNRESET, or ENOTCONN once the connection is
 * gone. Likewise after EOF or SHUT_RD recv returns 0, and after SHUT_WR send gives EPIPE.
 */
static ssize_t after_recv(struct lwip_stack *l, int s, ssize_t r, size_t len)
{
	struct sock_state *k = state_of(l, s);

	if (k == NULL)
		return r;
	if ((r == -ENOTCONN || r == -ECONNRESET) && (k->rd_closed || k->err_told))
		return 0;
	if (r == 0 && len > 0)
		k->rd_closed = 1;
	if (r == -ECONNRESET)
		k->err_told = 1;
	return r;
}

static ssize_t after_send(struct lwip_stack *l, int s, ssize_t r)
{
	struct sock_state *k = state_of(l, s);

	if (k == NULL)
		return r;
	if ((r == -ENOTCONN && k->wr_shut) || (r == -ECONNRESET && k->err_told))
		return -EPIPE;
	if (r == -ECONNRESET)
		k->err_told = 1;
	return r == -ENOTCONN && k->err_told ? -EPIPE : r;
}

static size_t iov_len(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	int i;

	for (i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

static ssize_t lwip_send_op(struct tl_stack *st, int s, const void *buf, size_t len, int flags)
{
	return after_send(lst(st), s, send_raw(st, s, buf, len, flags));
}

static ssize_t lwip_recv_op(struct tl_stack *st, int s, void *buf, size_t len, int flags)
{
	return after_recv(lst(st), s, recv_raw(st, s, buf, len, flags), len);
}

static ssize_t lwip_sendv_op(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	return after_send(lst(st), s, sendv_raw(st, s, iov, iovcnt));
}

static ssize_t lwip_recvv_op(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	return after_recv(lst(st), s, recvv_raw(st, s, iov, iovcnt), iov_len(iov, iovcnt));
}

static void flush(struct lwip_stack *l)
{
	bool ran;

	stk_loop_once(l->nf, &ran);
}

/*
 * shutdown and close run one loop pass so the FIN leaves now: a caller that closes its last
 * socket may not poll again before it asks the peer whether everything arrived.
 */
static int lwip_shutdown_op(struct tl_stack *st, int s, int how)
{
	struct sock_state *k = state_of(lst(st), s);
	int r = lwip_shutdown(s, how);

	if (r == 0) {
		if (k != NULL && how != SHUT_WR)
			k->rd_closed = 1;
		if (k != NULL && how != SHUT_RD)
			k->wr_shut = 1;
		LOCK_TCPIP_CORE();
		dpk_ws_touch(&lst(st)->ws, s);
		UNLOCK_TCPIP_CORE();
		flush(lst(st));
	}
	return (int)lwip_ret(r);
}

/*
 * SO_LINGER 0: Linux resets the connection on close, always; lwIP 2.1 only when unsent or
 * unacknowledged data remain (api_msg.c lwip_netconn_do_close_internal). Abort it here, under
 * the core lock; lwIP's error callback detaches the pcb from the netconn, which close frees.
 */
static void abort_conn(int s)
{
	struct lwip_sock *sock = lwip_socket_dbg_get_socket(s);

	LOCK_TCPIP_CORE();
	if (sock != NULL && sock->conn != NULL &&
	    NETCONNTYPE_GROUP(netconn_type(sock->conn)) == NETCONN_TCP &&
	    sock->conn->pcb.tcp != NULL && sock->conn->pcb.tcp->state != LISTEN &&
	    sock->conn->pcb.tcp->state != CLOSED)
		tcp_abort(sock->conn->pcb.tcp);
	UNLOCK_TCPIP_CORE();
}

static int lwip_close_op(struct tl_stack *st, int s)
{
	struct sock_state *k = state_of(lst(st), s);
	int r;

	if (k != NULL && k->linger0)
		abort_conn(s);
	r = lwip_close(s);

	if (r == 0) {
		track(lst(st), s, 0);
		dpk_ws_forget(&lst(st)->ws, s);
		flush(lst(st));
	}
	return (int)lwip_ret(r);
}

/* lwIP keeps the timeouts too (getsockopt reads them back); the glue's waits obey them. */
static int lwip_setsockopt_op(struct tl_stack *st, int s, int level, int name, const void *val,
			      socklen_t len)
{
	struct lwip_stack *l = lst(st);
	int r = lwip_setsockopt(s, level, name, val, len);
	const struct linger *lg = val;
	const struct timeval *tv = val;

	if (r == 0 && level == SOL_SOCKET && name == SO_LINGER && len >= sizeof(*lg) &&
	    state_of(l, s) != NULL)
		l->sk[s].linger0 = lg->l_onoff && lg->l_linger == 0;
	if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
	    len >= sizeof(*tv) && s >= 0 && s < TRACKED_SOCKETS) {
		int ms = (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);

		if (name == SO_RCVTIMEO)
			l->sk[s].rcvtimeo_ms = ms;
		else
			l->sk[s].sndtimeo_ms = ms;
	}
	return (int)lwip_ret(r);
}

/*
 * lwIP returns its flag bit for boolean socket options (SOF_KEEPALIVE is 8, SOF_REUSEADDR 4):
 * Linux returns 1. A reset answering a connect is ECONNRESET in lwIP, ECONNREFUSED on Linux.
 */
static int lwip_getsockopt_op(struct tl_stack *st, int s, int level, int name, void *val,
			      socklen_t *len)
{
	struct sock_state *k = state_of(lst(st), s);
	int r = lwip_getsockopt(s, level, name, val, len);
	int *v = val;

	if (r < 0 || level != SOL_SOCKET || *len < sizeof(int))
		return (int)lwip_ret(r);
	if (name == SO_KEEPALIVE || name == SO_REUSEADDR || name == SO_BROADCAST)
		*v = *v != 0;
	if (name == SO_ERROR && k != NULL && *v != 0) {
		if (k->connecting)
			*v = *v == ECONNRESET ? ECONNREFUSED : *v;
		k->connecting = 0;
		k->err_told = 1;
	}
	return 0;
}

static int lwip_getsockname_op(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	(void)st;
	return (int)lwip_ret(lwip_getsockname(s, a, len));
}

static int lwip_getpeername_op(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	(void)st;
	return (int)lwip_ret(lwip_getpeername(s, a, len));
}

/* The lwIP socket stays non-blocking; the glue remembers what the caller wants. */
static int lwip_set_nonblock_op(struct tl_stack *st, int s, bool on)
{
	struct lwip_stack *l = lst(st);
	int r = lwip_fcntl(s, F_GETFL, 0);

	if (r < 0)
		return (int)lwip_ret(r);
	if (s < TRACKED_SOCKETS && l->sk[s].open)
		l->sk[s].nonblock = on;
	else
		r = lwip_fcntl(s, F_SETFL, on ? O_NONBLOCK : 0);
	return (int)lwip_ret(r < 0 ? r : 0);
}

static int lwip_get_nonblock_op(struct tl_stack *st, int s)
{
	struct lwip_stack *l = lst(st);
	int r = lwip_fcntl(s, F_GETFL, 0);

	if (r < 0)
		return (int)lwip_ret(r);
	if (s < TRACKED_SOCKETS && l->sk[s].open)
		return l->sk[s].nonblock;
	return (r & O_NONBLOCK) != 0;
}

static int lwip_bytes_available_op(struct tl_stack *st, int s)
{
	int n = 0, r;

	(void)st;
	r = lwip_ioctl(s, FIONREAD, &n);
	return r < 0 ? (int)lwip_ret(r) : n;
}

/* ---- the poll loop ---- */

static int peer_lost(struct lwip_stack *l)
{
	if (!l->peer_lost_told)
		fprintf(stderr, "lwip: the link went down: the %s side is gone\n",
			l->cfg.dpdk.port == DPK_PORT_MEMIF ? "memif server" : "peer");
	l->peer_lost_told = true;
	return -ENETDOWN;
}

/*
 * Linux reports POLLHUP with POLLERR on a TCP socket (an error there is always fatal: the
 * connection is in CLOSE, tcp_poll); lwIP only POLLERR. Writable without error ends a
 * connect in progress.
 */
static int linux_revents(struct lwip_stack *l, struct pollfd *fds, unsigned int n, int r)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct sock_state *k = state_of(l, fds[i].fd);

		if (fds[i].revents & POLLERR)
			fds[i].revents |= POLLHUP;
		else if ((fds[i].revents & POLLOUT) && k != NULL)
			k->connecting = 0;
	}
	return r;
}

/*
 * An entry that is no socket is POLLNVAL and ready, as on Linux. lwip_poll fails (-1, errno
 * untouched) when it finds one beyond its socket table, though it has set that entry's
 * POLLNVAL; and a number inside the table that no socket holds it takes for a socket with
 * nothing ready (lwip_pollscan looks it up without checking its netconn), so the entries
 * the glue does not track get POLLNVAL here. The entries with events, or @p r when none is
 * POLLNVAL (then a failure is a real one).
 */
static int nval_count(struct lwip_stack *l, struct pollfd *fds, unsigned int n, int r)
{
	unsigned int i;
	int ready = 0;
	bool nval = false;

	for (i = 0; i < n; i++) {
		if (fds[i].fd >= 0 && state_of(l, fds[i].fd) == NULL)
			fds[i].revents = POLLNVAL;
		nval |= (fds[i].revents & POLLNVAL) != 0;
		ready += fds[i].revents != 0;
	}
	return nval ? ready : r;
}

/*
 * Spin the loop until a socket is ready or @p timeout_ms is up (0: one pass; < 0: no limit;
 * the time is counted from the first clock read, POLL_CLOCK_PASSES passes in).
 * The client side gives up with -ENETDOWN when its link goes down: the server is gone and
 * nothing will ever arrive. The server keeps serving: its stdin tells it when to stop.
 */
#define POLL_CLOCK_PASSES 8

/* Loop passes while each brings a full burst, up to DPK_RX_DRAIN frames; @p ran as a pass's
 * (whether anything ran) for any of them. Returns the frames received. */
static unsigned int drain(struct lwip_stack *l, bool *ran)
{
	unsigned int got = 0, n;
	bool any = false;

	do {
		n = stk_loop_once(l->nf, ran);
		any |= *ran;
		got += n;
	} while (n == DPK_RX_BURST && got < DPK_RX_DRAIN);
	*ran = any;
	return got;
}

/*
 * What a spin waits for: > 0 when it is there (or a negative errno), 0 when not yet. Asked
 * after a pass that ran something, and once at the start (the caller's socket calls may
 * have changed what is ready).
 */
typedef int ready_fn(struct lwip_stack *l, void *arg);

static int spin(struct lwip_stack *l, int timeout_ms, ready_fn *ready, void *arg)
{
	uint64_t now = 0, idle_since = 0, deadline = 0;	/* set at the first clock read */
	uint64_t yield_after = dpk_clock_cycles_of_us(l->cfg.idle_yield_us);
	bool changed = true;
	unsigned int pass = 0;
	int r;

	for (;;) {
		bool ran;

		if (drain(l, &ran) > 0)
			idle_since = now;
		if (changed || ran) {
			r = ready(l, arg);
			if (r != 0)
				return r;
		}
		changed = false;
		if (l->cfg.dpdk.role == TL_ROLE_CLIENT && dpk_port_peer_lost(&l->port))
			return peer_lost(l);
		if (timeout_ms == 0)
			return 0;
		/* the clock every few passes: an idle pass is tens of ns, and a read is ten */
		if (++pass % POLL_CLOCK_PASSES != 0)
			continue;
		now = dpk_clock_cycles();
		if (deadline == 0) {
			deadline = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * l->cycles_per_ms;
			idle_since = now;
		}
		if (timeout_ms > 0 && now >= deadline)
			return 0;
		/* idle for a while: let a process that shares this core (the peer) run */
		if (yield_after > 0 && now - idle_since > yield_after)
			sched_yield();
	}
}

struct poll_arg {
	struct pollfd *fds;
	unsigned int n;
};

static int poll_ready(struct lwip_stack *l, void *arg)
{
	struct poll_arg *a = arg;
	int r;

	if (a->n == 0)
		return 0;
	r = nval_count(l, a->fds, a->n, lwip_poll(a->fds, a->n, 0));
	return r < 0 ? (int)lwip_ret(r) : linux_revents(l, a->fds, a->n, r);
}

static int lwip_poll_op(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms)
{
	struct poll_arg a = { .fds = fds, .n = n };

	return spin(lst(st), timeout_ms, poll_ready, &a);
}

/* ---- the wait sets ---- */

/* Every netconn event (data, room to send, an error; a new connection on a listener) after
 * lwIP's socket layer has seen it: its socket becomes a candidate. conn->socket is the
 * socket's number once it has one (negative before: sockets.c counts events there). */
static void ws_event(struct netconn *conn, enum netconn_evt evt, u16_t len)
{
	lwip_event(conn, evt, len);
	if (ws_owner != NULL && conn->socket >= 0)
		dpk_ws_touch(&ws_owner->ws, conn->socket);
}

/* Route socket @p s's events through ws_event; an accepted socket inherits its listener's
 * callback (api_msg.c accept_function), so wrapping each new socket covers them all. */
static void ws_hook(int s)
{
	struct lwip_sock *sock = lwip_socket_dbg_get_socket(s);

	if (sock == NULL || sock->conn == NULL || sock->conn->callback == ws_event)
		return;
	if (lwip_event == NULL)
		lwip_event = sock->conn->callback;
	if (sock->conn->callback == lwip_event)
		sock->conn->callback = ws_event;
}

static int lwip_ws_create(struct tl_stack *st)
{
	return dpk_ws_create(&lst(st)->ws);
}

static int lwip_ws_ctl(struct tl_stack *st, int ws, int op, int s, uint32_t events,
		       uint64_t cookie)
{
	struct lwip_stack *l = lst(st);
	struct dpk_ws *w = dpk_ws_of(&l->ws, ws);
	int r;

	if (w == NULL || state_of(l, s) == NULL)
		return -EBADF;
	LOCK_TCPIP_CORE();
	r = dpk_ws_ctl(w, op, s, events, cookie);
	UNLOCK_TCPIP_CORE();
	return r;
}

struct ws_arg {
	struct dpk_ws *w;
	struct tl_event *ev;
	unsigned int max;
};

/*
 * The candidates, with one lwip_poll over them: taken off the list and handed back under
 * the core lock (ws_event adds to it under that lock; lwIP's socket calls take the lock
 * themselves, so lwip_poll runs without it).
 */
static int ws_ready(struct lwip_stack *l, void *arg)
{
	struct ws_arg *a = arg;
	unsigned int n, out;
	int r;

	LOCK_TCPIP_CORE();
	n = dpk_ws_take(a->w, l->ws_pf);
	UNLOCK_TCPIP_CORE();
	if (n == 0)
		return 0;
	r = nval_count(l, l->ws_pf, n, lwip_poll(l->ws_pf, n, 0));
	if (r < 0)
		return (int)lwip_ret(r);
	linux_revents(l, l->ws_pf, n, r);
	LOCK_TCPIP_CORE();
	out = dpk_ws_report(a->w, l->ws_pf, n, a->ev, a->max);
	UNLOCK_TCPIP_CORE();
	return (int)out;
}

static int lwip_ws_wait(struct tl_stack *st, int ws, struct tl_event *ev, unsigned int max,
			int timeout_ms)
{
	struct lwip_stack *l = lst(st);
	struct ws_arg a = { .w = dpk_ws_of(&l->ws, ws), .ev = ev, .max = max };

	if (a.w == NULL)
		return -EBADF;
	if (max == 0)
		return -EINVAL;
	return spin(l, timeout_ms, ws_ready, &a);
}

static int lwip_ws_close(struct tl_stack *st, int ws)
{
	return dpk_ws_close(&lst(st)->ws, ws);
}

static int lwip_default_addr(struct tl_stack *st, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	if (lwip_inet_pton(AF_INET, lst(st)->cfg.dpdk.ip, &sin->sin_addr) != 1)
		return -EINVAL;
	*len = sizeof(*sin);
	return 0;
}

/* Let closing connections finish their handshakes before they are counted (bounded). */
static unsigned int settle(struct lwip_stack *l, unsigned int *time_wait, int64_t ns)
{
	int64_t end = now_ns() + ns;
	unsigned int active;

	for (;;) {
		bool ran;

		stk_loop_once(l->nf, &ran);
		active = stk_netif_pcbs(l->nf, time_wait);
		if (active == 0 || now_ns() >= end || dpk_port_peer_lost(&l->port))
			return active;
	}
}

/*
 * The counters, after a settle: the port's (dpk_port_counters: frames, bursts, drops by
 * reason, mbufs out of the pool, hugepages), then lwIP's drops by reason, connections lwIP
 * still has open (tcp_active: not counting TIME_WAIT, which is not open), sockets not
 * closed, the mbufs out of the pool when the stack started, and the netif's MTU and checksum
 * setting (1: computed and checked) as lwIP has them.
 */
static unsigned int lwip_counters(struct tl_stack *st, struct tl_counter *out, unsigned int max)
{
	struct lwip_stack *l = lst(st);
	unsigned int n = 0, i, active, tw = 0;

	active = settle(l, &tw, SETTLE_NS);
	n = dpk_port_counters(&l->port, out, max, n);
	for (i = 0; i < STK_C__COUNT; i++)
		dpk_counter_put(out, max, &n, counter_names[i], l->c[i]);
	dpk_counter_put(out, max, &n, "tcp_active", active);
	dpk_counter_put(out, max, &n, "tcp_time_wait", tw);
	dpk_counter_put(out, max, &n, "sockets_open", l->n_open);
	dpk_counter_put(out, max, &n, "mbufs_in_use_start", l->mbufs_start);
	dpk_counter_put(out, max, &n, "netif_mtu", stk_netif_mtu(l->nf));
	dpk_counter_put(out, max, &n, "netif_checksum", stk_netif_checksum(l->nf));
	return n;
}

static const char *lwip_version(struct tl_stack *st)
{
	return lst(st)->version;
}

/*
 * lwIP's limits, as the flood and scale checks hold it to them (scenarios/conformance/
 * packets.md, "Floods"; scenarios/README.md, "Scale"): every pool comes from malloc, so
 * nothing but the socket table caps what it holds.
 */
static const struct tl_limits lwip_limits = {
	.max_sockets = TRACKED_SOCKETS,
	.max_sockets_reason = "lwIP's own socket table, sockets[NUM_SOCKETS] (MEMP_NUM_NETCONN, "
			      "lwipopts.h), which the glue tracks as TRACKED_SOCKETS (lwip.c)",
	.conn_bytes_min = 1024,
	.conn_bytes_max = 48 * 1024,
	.conn_bytes_reason = "a pcb, a netconn, a socket and a 4 KiB receive mailbox, all in the "
			     "process (MEMP_MEM_MALLOC, lwipopts.h), and the mbufs it first "
			     "touches: about 20 KiB measured (scenarios/README.md, Scale)",
	.syn_cap = TL_SYN_CAP_NONE,
	.syn_rcvd_bytes = 2048,
	.syn_rcvd_reason = "no cap on SYN-RCVD pcbs: TCP_LISTEN_BACKLOG is 0 (lwIP opt.h) and "
			   "pcbs come from malloc (MEMP_MEM_MALLOC, lwipopts.h); each lives until "
			   "a RST or TCP_SYN_RCVD_TIMEOUT, 20 s (tcp_priv.h, tcp_slowtmr): a "
			   "tcp_pcb and its SYN-ACK segment per SYN",
	.idle_bytes = 16384,
	.idle_reason = "no cap on accepted connections: pcb, netconn and lwip_sock from malloc "
		       "(MEMP_MEM_MALLOC; api/sockets.c alloc_socket), a recvmbox of "
		       "DEFAULT_TCP_RECVMBOX_SIZE per netconn; serve's slot and one touched page "
		       "of its HX_SERVE_BUF",
	.slack_bytes = 8u << 20,
	.slack_reason = "a client's connection beside the flood's, malloc's granularity and "
			"heap.c's free lists",
};

static const struct tl_ops lwip_ops = {
	.abi_version = TCPLAB_STACK_ABI_VERSION,
	.name = "lwip",
	.description = "lwIP on DPDK (ports: memif; tap and af_packet in a namespace; pci)",
	.attach = TL_ATTACH_DPDK,
	.limits = &lwip_limits,
	.create = lwip_create,
	.check = lwip_check,
	.free = lwip_free,
	.socket = lwip_socket_op,
	.bind = lwip_bind_op,
	.listen = lwip_listen_op,
	.accept = lwip_accept_op,
	.connect = lwip_connect_op,
	.send = lwip_send_op,
	.recv = lwip_recv_op,
	.sendv = lwip_sendv_op,
	.recvv = lwip_recvv_op,
	.shutdown = lwip_shutdown_op,
	.close = lwip_close_op,
	.setsockopt = lwip_setsockopt_op,
	.getsockopt = lwip_getsockopt_op,
	.getsockname = lwip_getsockname_op,
	.getpeername = lwip_getpeername_op,
	.set_nonblock = lwip_set_nonblock_op,
	.get_nonblock = lwip_get_nonblock_op,
	.poll = lwip_poll_op,
	.bytes_available = lwip_bytes_available_op,
	.default_addr = lwip_default_addr,
	.counters = lwip_counters,
	.version = lwip_version,
	.cleanup = dpk_cleanup_run,
	.ws_create = lwip_ws_create,
	.ws_ctl = lwip_ws_ctl,
	.ws_wait = lwip_ws_wait,
	.ws_close = lwip_ws_close,
};

/* The plug-in's one exported symbol (the version script, tcplab-stack-lwip.map, hides the
 * rest: lwIP's and DPDK's symbols stay inside the shared object). */
__attribute__((visibility("default"))) const struct tl_ops *tcplab_stack_entry(void)
{
	return &lwip_ops;
}
