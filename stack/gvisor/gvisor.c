/* SPDX-License-Identifier: MIT */
/*
 * gvisor.c - the "gvisor" plug-in: <tcplab/stack.h> on gVisor's netstack, over the DPDK
 * layer (stack/dpdk). Its one exported symbol is tcplab_stack_entry, at the end of this file.
 *
 * Two halves: this file (the ops table, the port, the poll loop, blocking calls) and
 * netstack.go, a Go c-shared object (libtcplab-gvisor-go.so, next to this plug-in) that owns
 * netstack and the socket table. gv_shared.h is what they share.
 *
 * create: dpk_cfg_parse -> dpk_eal_start -> dpk_port_open -> gv_bind_thread -> gvStart.
 * The polling thread is bound to the Go runtime for the instance's life (go/bind.c): each
 * crossing into Go is then a callback on the M it holds, not Go 1.19's borrow of an extra M
 * per call. Every tl_* call must come from the thread that called create, as the ABI's
 * threading rule already says.
 *
 * A poll pass: flush TX -> dpk_port_rx -> (frames, or Go's word that it has work) one
 * crossing, gvPoll: inject, let netstack's goroutines run, drain what they sent into the TX
 * staging slots, store changed readiness -> the slots onto the port -> flush. tl_poll answers
 * from the readiness Go stored (gv_shared.ready), with no crossing while nothing happens.
 * Socket calls are one crossing each, and leave their frames in the slots too.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <rte_mbuf.h>
#include <rte_version.h>

#include "clock.h"
#include "dpdk_port.h"
#include "ws.h"
#include "gv_shared.h"
#include "libtcplab-gvisor-go.h"
#include "gv_build.h"
#include "bind.h"

#define SETTLE_NS (200 * 1000 * 1000)
#define EXIT_SETTLE_NS (500 * 1000 * 1000)
#define POLL_CLOCK_PASSES 8

/* What the caller set that netstack's endpoints (always non-blocking here) do not keep. */
struct sock_state {
	uint8_t open;
	uint8_t nonblock;
	int rcvtimeo_ms;
	int sndtimeo_ms;
};

/* The glue's own counters, after the port's and before netstack's. */
enum gv_counter {
	GV_C_DROP_RX_BAD_FRAME,		/* runt or chained mbuf */
	GV_C_CROSSINGS,			/* calls from C into Go */
	GV_C__COUNT,
};

struct gv_stack {
	struct tl_stack base;
	struct dpk_cfg cfg;
	struct dpk_port port;
	struct gv_shared *sh;
	bool bound;			/* the thread is bound (bound=1): see the header */
	bool started;			/* gvStart succeeded */
	bool peer_lost_told;
	unsigned int passes;
	int64_t next_link_check;	/* CLOCK_MONOTONIC ns */
	unsigned int mbufs_start;
	uint64_t cycles_per_ms;
	uint64_t c[GV_C__COUNT];
	char version[160];
	struct dpk_ws_table ws;		/* the wait sets (stack/dpdk/ws.h) */
	struct pollfd ws_pf[GV_MAX_SOCKETS];	/* a wait's candidates */
	struct sock_state sk[GV_MAX_SOCKETS];
};

static const char *const gv_counter_names[GV_C__COUNT] = {
	[GV_C_DROP_RX_BAD_FRAME] = "drop_rx_bad_frame",
	[GV_C_CROSSINGS] = "cgo_crossings",
};

/* netstack.go's gvCounters, in its order */
static const char *const go_counter_names[] = {
	"rx_frames_netstack", "tx_frames_netstack", "drop_tx_queue_full",
	"tx_slots_full", "sockets_open", "sockets_opened",
	"tcp_active_openings", "tcp_passive_openings", "tcp_current_established",
	"tcp_established_resets", "tcp_failed_connection_attempts",
	"tcp_valid_segments_received", "tcp_invalid_segments_received", "tcp_segments_sent",
	"tcp_segment_send_errors", "tcp_resets_sent", "tcp_resets_received",
	"tcp_retransmits", "tcp_timeouts", "tcp_checksum_errors",
	"tcp_listen_overflow_syn_drop", "tcp_listen_overflow_ack_drop",
	"ip_malformed_packets_received", "ip_invalid_destination_received",
	"stack_dropped_packets",
};
#define GO_COUNTERS (sizeof(go_counter_names) / sizeof(go_counter_names[0]))

static const struct dpk_opt gv_opts[] = {
	{ "bound", "1: bind the polling thread to Go's runtime (cheap crossings); 0: not" },
	{ "procs", "Go's GOMAXPROCS: Ps for the polling thread and netstack's goroutines" },
	{ "inline", "1: TCP segments are processed on the polling thread; 0: by netstack's goroutines" },
	{ "loop_timers", "1: netstack's timers run on the polling thread; 0: as Go runtime timers" },
	{ "tw_reuse", "off | global | loopback: a TIME_WAIT port reused for a new connection" },
};

static struct gv_stack *gst(struct tl_stack *st)
{
	return (struct gv_stack *)st;
}

/*
 * tw_reuse: netstack's TCPTimeWaitReuseOption. The default is global, where netstack's is
 * loopback only: Linux's (net.ipv4.tcp_tw_reuse=2) reuses TIME_WAIT ports on loopback,
 * where the kernel side of a comparison runs, and a netstack engine on memif without reuse
 * runs out of its 28232 ephemeral ports within 2.5 s of crr (connect fails).
 */
static int tw_reuse_of(int *v, const struct tl_stack_params *p, char *err, size_t len)
{
	static const char *const names[] = { "off", "global", "loopback" };	/* netstack's order */
	const char *s = tl_params_get(p, "tw_reuse", "global");
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*v = i;
			return 0;
		}
	snprintf(err, len, "stack option tw_reuse=%s: expected off, global or loopback", s);
	return -EINVAL;
}

static int parse(struct dpk_cfg *cfg, unsigned int *bound, unsigned int *procs, unsigned int *inl,
		 unsigned int *loop_timers, int *tw_reuse,
		 const struct tl_stack_params *p, char *err, size_t len)
{
	int r = dpk_cfg_parse(cfg, p, gv_opts, sizeof(gv_opts) / sizeof(gv_opts[0]), err, len);

	if (r == 0)
		r = dpk_cfg_need_ip(cfg, err, len);
	if (r == 0)
		r = dpk_opt_uint(bound, p, "bound", 1, 0, 1, err, len);
	if (r == 0)
		r = dpk_opt_uint(procs, p, "procs", 2, 1, 64, err, len);
	if (r == 0)
		r = dpk_opt_uint(inl, p, "inline", 1, 0, 1, err, len);
	if (r == 0)
		r = dpk_opt_uint(loop_timers, p, "loop_timers", 1, 0, 1, err, len);
	if (r == 0)
		r = tw_reuse_of(tw_reuse, p, err, len);
	return r;
}

/* ---- the Go runtime's threads ---- */

/*
 * Pin the Go runtime's threads (started unpinned when the object was loaded) to the polling
 * thread's CPU: Go's scheduler, timers and GC then share that core with the loop instead of
 * taking the peer's. A thread with a narrower mask (DPDK's control threads) is left alone.
 */
static void pin_runtime_threads(void)
{
	cpu_set_t mine, all, t;
	struct dirent *de;
	DIR *d;

	if (sched_getaffinity(0, sizeof(mine), &mine) < 0 || CPU_COUNT(&mine) != 1)
		return;
	CPU_ZERO(&all);
	for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN) && i < CPU_SETSIZE; i++)
		CPU_SET((int)i, &all);
	d = opendir("/proc/self/task");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tid == gettid() || sched_getaffinity(tid, sizeof(t), &t) < 0)
			continue;
		if (CPU_EQUAL(&t, &all))
			sched_setaffinity(tid, sizeof(mine), &mine);
	}
	closedir(d);
}

/*
 * Every signal handler in the process on the alternate signal stack. Go runs goroutines on
 * small stacks and gives each of its threads an alternate stack; a handler without
 * SA_ONSTACK that a signal runs on a Go thread writes its frame (with the FPU state, a few
 * KiB) below a goroutine's stack, over its neighbours' (os/signal: "Go programs that use cgo").
 * DPDK's tap port installs one for SIGIO (a frame arrived), the burst guard one for SIGSEGV
 * and SIGBUS, the harness its SIGINT and SIGTERM: a GC then met zeroed goroutine stacks
 * ("unexpected return pc") on tap runs. Handlers already on the alternate stack (Go's) and
 * the default and ignore actions are left as they are.
 */
static void handlers_on_altstack(void)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if ((sa.sa_flags & SA_ONSTACK) || (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)))
			continue;
		sa.sa_flags |= SA_ONSTACK;
		sigaction(sig, &sa, NULL);
	}
}

/* ---- crossings and the poll loop ---- */

/* Put what Go left in the TX slots on the port's batch, in order. */
static void take_tx(struct gv_stack *g)
{
	struct gv_shared *sh = g->sh;
	uint32_t i;

	for (i = 0; i < sh->tx_n; i++) {
		struct rte_mbuf *m = dpk_port_tx_alloc(&g->port, sh->tx_len[i]);

		if (m == NULL)
			continue;	/* counted by the port */
		memcpy(rte_pktmbuf_mtod(m, void *), sh->tx_slots + (size_t)i * sh->slot_size,
		       sh->tx_len[i]);
		dpk_port_tx_queue(&g->port, m);
	}
	sh->tx_n = 0;
}

/* The sockets whose readiness Go rewrote: candidates of the wait sets they are in. */
static void take_changed(struct gv_stack *g)
{
	struct gv_shared *sh = g->sh;
	uint32_t i;

	for (i = 0; i < sh->n_changed; i++) {
		sh->changed_mark[sh->changed[i]] = 0;
		dpk_ws_touch(&g->ws, sh->changed[i]);
	}
	sh->n_changed = 0;
}

/* After every crossing: its frames go out now, what it made ready is noted. */
static long crossed(struct gv_stack *g, long r)
{
	g->c[GV_C_CROSSINGS]++;
	if (g->sh->tx_n > 0)
		take_tx(g);
	if (g->sh->n_changed > 0)
		take_changed(g);
	dpk_port_tx_flush(&g->port);
	return r;
}

static int64_t monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * Go left word (a frame queued, a readiness changed), or a timer of netstack's is due. The
 * clock is read every CLOCK_PASSES passes only (a read is ~25 ns, an idle pass less); each
 * LINK_CHECK_NS the port's link is looked at, so that a peer that died is seen (the client
 * gives up: dpk_port_peer_lost) even when nothing is being sent.
 */
#define CLOCK_PASSES 8
#define LINK_CHECK_NS 1000000

static bool go_has_work(struct gv_stack *g)
{
	const struct gv_shared *sh = g->sh;
	int64_t now;

	if (__atomic_load_n(&sh->tx_waiting, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&sh->dirty, __ATOMIC_RELAXED))
		return true;
	if (++g->passes % CLOCK_PASSES != 0)
		return false;
	now = monotonic_ns();
	if (now >= g->next_link_check) {
		g->next_link_check = now + LINK_CHECK_NS;
		dpk_port_link_up(&g->port);
	}
	return now >= __atomic_load_n(&sh->next_timer_ns, __ATOMIC_RELAXED);
}

/* One pass; returns the frames received. */
static unsigned int loop_once(struct gv_stack *g)
{
	struct rte_mbuf *m[GV_RX_BURST];
	struct gv_shared *sh = g->sh;
	unsigned int n, i, k = 0;

	if (dpk_port_tx_pending(&g->port))
		dpk_port_tx_flush(&g->port);
	n = dpk_port_rx(&g->port, m, GV_RX_BURST);
	for (i = 0; i < n; i++) {
		if (m[i]->nb_segs != 1 || m[i]->data_len < 14) {
			g->c[GV_C_DROP_RX_BAD_FRAME]++;
			continue;
		}
		sh->rx_data[k] = rte_pktmbuf_mtod(m[i], const uint8_t *);
		sh->rx_len[k++] = m[i]->data_len;
	}
	if (k == 0 && !go_has_work(g)) {
		for (i = 0; i < n; i++)
			dpk_port_free(&g->port, m[i]);
		return n;
	}
	sh->rx_n = k;
	gvPoll();
	for (i = 0; i < n; i++)
		dpk_port_free(&g->port, m[i]);
	crossed(g, 0);
	return n;
}

static int64_t now_ns(void)
{
	return (int64_t)dpk_clock_ns();
}

static bool is_open(const struct gv_stack *g, int s)
{
	return s >= 0 && s < GV_MAX_SOCKETS && g->sk[s].open;
}

static int peer_lost(struct gv_stack *g)
{
	if (!g->peer_lost_told)
		fprintf(stderr, "gvisor: the link went down: the %s side is gone\n",
			g->cfg.port == DPK_PORT_MEMIF ? "memif server" : "peer");
	g->peer_lost_told = true;
	return -ENETDOWN;
}

/* What poll(2) reports for @p pf from the readiness Go stored. */
static int revents_of(struct gv_stack *g, struct pollfd *pf)
{
	short r;

	if (!is_open(g, pf->fd)) {
		pf->revents = pf->fd < 0 ? 0 : POLLNVAL;
		return pf->revents != 0;
	}
	r = (short)g->sh->ready[pf->fd];
	pf->revents = r & (pf->events | POLLERR | POLLHUP);
	return pf->revents != 0;
}

/*
 * Spin the loop until a socket is ready or @p timeout_ms is up (0: one pass; < 0: no limit).
 * The client gives up with -ENETDOWN when its link goes down (the server is gone).
 */
/* What a spin waits for: > 0 when it is there, 0 when not yet; asked after every pass. */
typedef int ready_fn(struct gv_stack *g, void *arg);

static int spin(struct gv_stack *g, int timeout_ms, ready_fn *ready, void *arg)
{
	uint64_t deadline = 0;
	unsigned int pass = 0;
	int r;

	for (;;) {
		unsigned int got = 0, k;

		/* full bursts again, up to DPK_RX_DRAIN frames, before the look at readiness */
		do {
			k = loop_once(g);
			got += k;
		} while (k == GV_RX_BURST && got < DPK_RX_DRAIN);
		r = ready(g, arg);
		if (r != 0)
			return r;
		if (g->cfg.role == TL_ROLE_CLIENT && dpk_port_peer_lost(&g->port))
			return peer_lost(g);
		if (timeout_ms == 0)
			return 0;
		if (++pass % POLL_CLOCK_PASSES != 0 || timeout_ms < 0)
			continue;
		if (deadline == 0)
			deadline = dpk_clock_cycles() + (uint64_t)timeout_ms * g->cycles_per_ms;
		else if (dpk_clock_cycles() >= deadline)
			return 0;
	}
}

struct poll_arg {
	struct pollfd *fds;
	unsigned int n;
};

static int poll_ready(struct gv_stack *g, void *arg)
{
	struct poll_arg *a = arg;
	unsigned int i;
	int ready = 0;

	for (i = 0; i < a->n; i++)
		ready += revents_of(g, &a->fds[i]);
	return ready;
}

static int gv_poll_op(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms)
{
	struct poll_arg a = { .fds = fds, .n = n };

	return spin(gst(st), timeout_ms, poll_ready, &a);
}

/* ---- the wait sets: readiness from ready[], the candidates from Go's changed[] ---- */

static int gv_ws_create(struct tl_stack *st)
{
	return dpk_ws_create(&gst(st)->ws);
}

static int gv_ws_ctl(struct tl_stack *st, int ws, int op, int s, uint32_t events,
		     uint64_t cookie)
{
	struct gv_stack *g = gst(st);
	struct dpk_ws *w = dpk_ws_of(&g->ws, ws);

	if (w == NULL || !is_open(g, s))
		return -EBADF;
	return dpk_ws_ctl(w, op, s, events, cookie);
}

struct ws_arg {
	struct dpk_ws *w;
	struct tl_event *ev;
	unsigned int max;
};

static int ws_ready(struct gv_stack *g, void *arg)
{
	struct ws_arg *a = arg;
	unsigned int n = dpk_ws_take(a->w, g->ws_pf), i;

	for (i = 0; i < n; i++)
		revents_of(g, &g->ws_pf[i]);
	return (int)dpk_ws_report(a->w, g->ws_pf, n, a->ev, a->max);
}

static int gv_ws_wait(struct tl_stack *st, int ws, struct tl_event *ev, unsigned int max,
		      int timeout_ms)
{
	struct gv_stack *g = gst(st);
	struct ws_arg a = { .w = dpk_ws_of(&g->ws, ws), .ev = ev, .max = max };

	if (a.w == NULL)
		return -EBADF;
	if (max == 0)
		return -EINVAL;
	return spin(g, timeout_ms, ws_ready, &a);
}

static int gv_ws_close(struct tl_stack *st, int ws)
{
	return dpk_ws_close(&gst(st)->ws, ws);
}

/* ---- lifetime ---- */

static int start(struct gv_stack *g, const struct tl_stack_params *p, char *err, size_t len)
{
	struct in_addr ip, mask;
	unsigned int bound, procs, inl, loop_timers;
	int tw_reuse;
	uint8_t mac[6];
	int r;

	r = parse(&g->cfg, &bound, &procs, &inl, &loop_timers, &tw_reuse, p, err, len);
	if (r < 0)
		return r;
	if (inet_pton(AF_INET, g->cfg.ip, &ip) != 1 ||
	    inet_pton(AF_INET, g->cfg.netmask, &mask) != 1) {
		snprintf(err, len, "gvisor: ip=%s netmask=%s: not IPv4 addresses", g->cfg.ip,
			 g->cfg.netmask);
		return -EINVAL;
	}
	g->sh = calloc(1, sizeof(*g->sh));
	if (g->sh == NULL)
		return -ENOMEM;
	r = dpk_eal_start(&g->cfg, err, len);
	if (r < 0)
		return r;
	r = dpk_port_open(&g->port, &g->cfg, 0, err, len);
	if (r < 0)
		return r;
	g->sh->slot_size = dpk_port_mtu(&g->port) + 18;	/* Ethernet header and a VLAN tag */
	g->sh->tx_slots = malloc((size_t)g->sh->slot_size * GV_TX_SLOTS);
	if (g->sh->tx_slots == NULL || dpk_port_mac(&g->port, mac) < 0) {
		snprintf(err, len, "gvisor: no memory for the TX slots, or no MAC");
		r = -ENOMEM;
		goto err_close_port;
	}
	if (bound) {
		r = gv_bind_thread();
		if (r < 0) {
			snprintf(err, len, "gvisor: binding the polling thread to Go failed");
			goto err_close_port;
		}
		g->bound = true;
	}
	pin_runtime_threads();
	handlers_on_altstack();
	r = gvStart(g->sh, mac, (uint8_t *)&ip, __builtin_popcount(mask.s_addr),
		    dpk_port_mtu(&g->port), g->cfg.checksum, (int)procs, (int)inl, (int)loop_timers, tw_reuse, err, (int)len);
	if (r < 0)
		goto err_unbind;
	g->started = true;
	return 0;

err_unbind:
	if (g->bound)
		gv_unbind_thread();
err_close_port:
	dpk_port_close(&g->port);
	return r;
}

static void gv_free(struct tl_stack *st);

static struct tl_stack *gv_create(const struct tl_stack_params *p, char *err, size_t len)
{
	struct gv_stack *g = calloc(1, sizeof(*g));
	int r;

	if (g == NULL)
		return NULL;
	r = start(g, p, err, len);
	if (r < 0) {
		if (g->sh != NULL)
			free(g->sh->tx_slots);
		free(g->sh);
		free(g);
		errno = -r;
		return NULL;
	}
	g->mbufs_start = dpk_port_mbufs_in_use(&g->port);
	g->cycles_per_ms = dpk_clock_cycles_of_ms(1);
	g->ws.n_sockets = GV_MAX_SOCKETS;
	snprintf(g->version, sizeof(g->version), "gvisor netstack %s (go %s), dpdk %s",
		 GV_NETSTACK_VERSION, GV_GO_VERSION,
		 strncmp(rte_version(), "DPDK ", 5) == 0 ? rte_version() + 5 : rte_version());
	return &g->base;
}

static int gv_check(const struct tl_stack_params *p, char *err, size_t len)
{
	struct dpk_cfg cfg;
	unsigned int bound, procs, inl, loop_timers;
	int tw_reuse;

	return parse(&cfg, &bound, &procs, &inl, &loop_timers, &tw_reuse, p, err, len);
}

static unsigned int settle(struct gv_stack *g, unsigned int *time_wait, int64_t ns);

static void gv_free(struct tl_stack *st)
{
	struct gv_stack *g = gst(st);
	unsigned int tw;
	int s;

	dpk_ws_close_all(&g->ws);
	for (s = 0; s < GV_MAX_SOCKETS; s++)
		if (g->sk[s].open) {
			crossed(g, gvClose(s, 0));
			g->sk[s].open = 0;
		}
	/* a FIN just queued must reach the peer, and the peer's FIN be answered, before the
	 * stack stops: otherwise the peer sees a reset the kernel would not have sent */
	settle(g, &tw, EXIT_SETTLE_NS);
	gvStop();
	crossed(g, 0);
	if (g->bound)
		gv_unbind_thread();
	dpk_port_close(&g->port);
	free(g->sh->tx_slots);
	free(g->sh);
	free(g);
}

/* ---- sockets ---- */

static int gv_socket_op(struct tl_stack *st)
{
	struct gv_stack *g = gst(st);
	int s = (int)crossed(g, gvSocket());

	if (s >= 0)
		g->sk[s] = (struct sock_state){ .open = 1 };
	return s;
}

static int sin_of(const struct sockaddr *a, socklen_t len, uint8_t ip[4], int *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;

	if (a == NULL || len < sizeof(*sin))
		return -EINVAL;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	memcpy(ip, &sin->sin_addr, 4);
	*port = ntohs(sin->sin_port);
	return 0;
}

static void sin_put(struct sockaddr *a, socklen_t *len, const uint8_t ip[4], int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	if (a == NULL || len == NULL)
		return;
	memcpy(&sin.sin_addr, ip, 4);
	memcpy(a, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
}

static int gv_bind_op(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	uint8_t ip[4];
	int port, r = sin_of(a, len, ip, &port);

	return r < 0 ? r : (int)crossed(gst(st), gvBindAddr(s, ip, port));
}

static int gv_listen_op(struct tl_stack *st, int s, int backlog)
{
	return (int)crossed(gst(st), gvListen(s, backlog));
}

/* Spin until @p s shows @p ev (or an error or hangup): 1, -EAGAIN at the deadline, or why. */
static int wait_for(struct gv_stack *g, int s, short ev, int64_t deadline)
{
	struct pollfd pf = { .fd = s, .events = ev };
	int left = dpk_ms_left(deadline), r;

	if (left == 0)
		return -EAGAIN;
	r = gv_poll_op(&g->base, &pf, 1, left);
	return r < 0 ? r : r == 0 ? -EAGAIN : 1;
}

/* The caller's view of @p s: NULL when it does not block. */
static const struct sock_state *blocking(struct gv_stack *g, int s)
{
	return is_open(g, s) && !g->sk[s].nonblock ? &g->sk[s] : NULL;
}

static int gv_accept_op(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	struct gv_stack *g = gst(st);
	const struct sock_state *k = blocking(g, s);
	int64_t deadline = dpk_deadline_of(k ? k->rcvtimeo_ms : 0);
	uint8_t ip[4];
	int port, n, w;

	for (;;) {
		n = (int)crossed(g, gvAccept(s, ip, &port));
		if (n >= 0) {
			g->sk[n] = (struct sock_state){ .open = 1 };
			sin_put(a, len, ip, port);
			return n;
		}
		if (k == NULL || n != -EAGAIN)
			return n;
		w = wait_for(g, s, POLLIN, deadline);
		if (w < 0)
			return w;
	}
}

static int gv_connect_op(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	struct gv_stack *g = gst(st);
	const struct sock_state *k = blocking(g, s);
	uint8_t ip[4];
	int port, e = 0, e2, r = sin_of(a, len, ip, &port), w;

	if (r < 0)
		return r;
	r = (int)crossed(g, gvConnect(s, ip, port));
	if (r != -EINPROGRESS || k == NULL)
		return r;
	w = wait_for(g, s, POLLOUT, dpk_deadline_of(k->sndtimeo_ms));
	if (w < 0)
		return w == -EAGAIN ? -EINPROGRESS : w;
	/* as Linux's blocking connect does inside: the outcome is told once, by this call
	 * (netstack answers the first connect after an asynchronous one's success with 0,
	 * then EISCONN), and the error it reports is no longer pending */
	r = (int)crossed(g, gvConnect(s, ip, port));
	if (r < 0)
		crossed(g, gvGetsockopt(s, SOL_SOCKET, SO_ERROR, &e, &e2));
	return r;
}

static ssize_t send_once(struct gv_stack *g, int s, const void *buf, size_t len, int flags)
{
	return crossed(g, gvSend(s, (void *)buf, len, (flags & MSG_MORE) != 0));
}

static ssize_t gv_send_op(struct tl_stack *st, int s, const void *buf, size_t len, int flags)
{
	struct gv_stack *g = gst(st);
	const struct sock_state *k = blocking(g, s);
	int64_t deadline;
	size_t sent = 0;
	ssize_t r;
	int w;

	/* no signals here: MSG_NOSIGNAL is implied */
	if (k == NULL || (flags & MSG_DONTWAIT))
		return send_once(g, s, buf, len, flags);
	deadline = dpk_deadline_of(k->sndtimeo_ms);
	for (;;) {
		r = send_once(g, s, (const char *)buf + sent, len - sent, flags);
		if (r < 0 && r != -EAGAIN)
			return sent > 0 ? (ssize_t)sent : r;
		sent += r > 0 ? (size_t)r : 0;
		if (sent == len)
			return (ssize_t)sent;
		w = wait_for(g, s, POLLOUT, deadline);
		if (w < 0)
			return sent > 0 ? (ssize_t)sent : w;
	}
}

/*
 * MSG_PEEK with MSG_WAITALL on a blocking socket: as on Linux, wait until @p len bytes are
 * there (or the stream ends, or an error, or the timeout), then peek them all. Readable
 * stays set while fewer are there, so the wait is loop passes, not poll.
 */
static ssize_t peek_waitall(struct gv_stack *g, int s, void *buf, size_t len, int64_t deadline)
{
	ssize_t r;

	for (;;) {
		r = crossed(g, gvRecv(s, buf, len, 1));
		if ((r < 0 && r != -EAGAIN) || r == 0 || (size_t)r == len)
			return r;
		if (dpk_ms_left(deadline) == 0)
			return r > 0 ? r : -EAGAIN;
		loop_once(g);
	}
}

/* A blocking recv returns what is there once something is; MSG_WAITALL waits for all. */
static ssize_t gv_recv_op(struct tl_stack *st, int s, void *buf, size_t len, int flags)
{
	struct gv_stack *g = gst(st);
	const struct sock_state *k = blocking(g, s);
	int64_t deadline = dpk_deadline_of(k ? k->rcvtimeo_ms : 0);
	bool all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
	bool peek_all = (flags & MSG_WAITALL) && (flags & MSG_PEEK);
	int peek = (flags & MSG_PEEK) != 0;
	size_t got = 0;
	ssize_t r;
	int w;

	if (k == NULL || (flags & MSG_DONTWAIT))
		return crossed(g, gvRecv(s, buf, len, peek));
	if (peek_all)
		return peek_waitall(g, s, buf, len, deadline);
	for (;;) {
		r = crossed(g, gvRecv(s, (char *)buf + got, len - got, peek));
		if (r < 0 && r != -EAGAIN)
			return got > 0 ? (ssize_t)got : r;
		got += r > 0 ? (size_t)r : 0;
		if (r == 0 || (got > 0 && (!all || got == len)))
			return (ssize_t)got;
		w = wait_for(g, s, POLLIN, deadline);
		if (w < 0)
			return got > 0 ? (ssize_t)got : w;
	}
}

/* Vectors go element by element; a short move ends the call, as a short write would. */
static ssize_t gv_sendv_op(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	ssize_t total = 0, r;
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		r = gv_send_op(st, s, iov[i].iov_base, iov[i].iov_len, total > 0 ? MSG_DONTWAIT : 0);
		if (r < 0)
			return total > 0 ? total : r;
		total += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return total;
}

static ssize_t gv_recvv_op(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	ssize_t total = 0, r;
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		r = gv_recv_op(st, s, iov[i].iov_base, iov[i].iov_len, total > 0 ? MSG_DONTWAIT : 0);
		if (r == -EAGAIN && total > 0)
			break;
		if (r < 0)
			return total > 0 ? total : r;
		total += r;
		if (r == 0 || (size_t)r < iov[i].iov_len)
			break;
	}
	return total;
}

static int gv_shutdown_op(struct tl_stack *st, int s, int how)
{
	return (int)crossed(gst(st), gvShutdown(s, how));
}

static int gv_close_op(struct tl_stack *st, int s)
{
	struct gv_stack *g = gst(st);
	int r = (int)crossed(g, gvClose(s, blocking(g, s) != NULL));
	int64_t deadline;

	if (r < 0)
		return r;
	g->sk[s].open = 0;
	dpk_ws_forget(&g->ws, s);
	if (r > 0) {
		/* SO_LINGER with a timeout: the loop runs until the peer has it all, or r ms */
		deadline = dpk_deadline_of(r);
		while (!crossed(g, gvLingered(dpk_ms_left(deadline) == 0)))
			loop_once(g);
	}
	return 0;
}

static int gv_setsockopt_op(struct tl_stack *st, int s, int level, int name, const void *val,
			    socklen_t len)
{
	struct gv_stack *g = gst(st);
	const struct timeval *tv = val;
	const struct linger *lg = val;

	if (!is_open(g, s))
		return -EBADF;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		int ms;

		if (len < sizeof(*tv))
			return -EINVAL;
		ms = (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);
		*(name == SO_RCVTIMEO ? &g->sk[s].rcvtimeo_ms : &g->sk[s].sndtimeo_ms) = ms;
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_LINGER)
		return len < sizeof(*lg) ? -EINVAL :
		       (int)crossed(g, gvSetsockopt(s, level, name, lg->l_onoff, lg->l_linger));
	if (len < sizeof(int))
		return -EINVAL;
	return (int)crossed(g, gvSetsockopt(s, level, name, *(const int *)val, 0));
}

static int gv_getsockopt_op(struct tl_stack *st, int s, int level, int name, void *val,
			    socklen_t *len)
{
	struct gv_stack *g = gst(st);
	int v = 0, v2 = 0, r;

	if (!is_open(g, s))
		return -EBADF;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		int ms = name == SO_RCVTIMEO ? g->sk[s].rcvtimeo_ms : g->sk[s].sndtimeo_ms;
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		if (*len < sizeof(tv))
			return -EINVAL;
		memcpy(val, &tv, sizeof(tv));
		*len = sizeof(tv);
		return 0;
	}
	r = (int)crossed(g, gvGetsockopt(s, level, name, &v, &v2));
	if (r < 0)
		return r;
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger lg = { .l_onoff = v, .l_linger = v2 };

		if (*len < sizeof(lg))
			return -EINVAL;
		memcpy(val, &lg, sizeof(lg));
		*len = sizeof(lg);
		return 0;
	}
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

static int name_op(struct gv_stack *g, int s, int peer, struct sockaddr *a, socklen_t *len)
{
	uint8_t ip[4];
	int port, r = (int)crossed(g, gvName(s, peer, ip, &port));

	if (r == 0)
		sin_put(a, len, ip, port);
	return r;
}

static int gv_getsockname_op(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return name_op(gst(st), s, 0, a, len);
}

static int gv_getpeername_op(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return name_op(gst(st), s, 1, a, len);
}

static int gv_set_nonblock_op(struct tl_stack *st, int s, bool on)
{
	struct gv_stack *g = gst(st);

	if (!is_open(g, s))
		return -EBADF;
	g->sk[s].nonblock = on;
	return 0;
}

static int gv_get_nonblock_op(struct tl_stack *st, int s)
{
	struct gv_stack *g = gst(st);

	return is_open(g, s) ? g->sk[s].nonblock : -EBADF;
}

static int gv_bytes_available_op(struct tl_stack *st, int s)
{
	return (int)crossed(gst(st), gvAvailable(s));
}

static int gv_default_addr(struct tl_stack *st, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, gst(st)->cfg.ip, &sin->sin_addr) != 1)
		return -EINVAL;
	*len = sizeof(*sin);
	return 0;
}

/* Let closing connections finish their handshakes before they are counted (bounded). */
static unsigned int settle(struct gv_stack *g, unsigned int *time_wait, int64_t ns)
{
	int64_t end = now_ns() + ns;
	unsigned int active;

	for (;;) {
		loop_once(g);
		active = (unsigned int)crossed(g, gvConns(time_wait));
		if (active == 0 || now_ns() >= end || dpk_port_peer_lost(&g->port))
			return active;
	}
}

/*
 * The counters, after a settle: the port's (dpk_port_counters), the glue's, netstack's
 * (gvCounters: frames, drops by reason, sockets, netstack's own TCP statistics), connections
 * netstack still holds (tcp_active: not counting TIME_WAIT), the mbufs out of the pool when
 * the stack started, and the Go runtime's goroutines.
 */
static unsigned int gv_counters(struct tl_stack *st, struct tl_counter *out, unsigned int max)
{
	struct gv_stack *g = gst(st);
	uint64_t v[GO_COUNTERS];
	unsigned int n = 0, i, active, tw = 0;

	active = settle(g, &tw, SETTLE_NS);
	n = dpk_port_counters(&g->port, out, max, n);
	for (i = 0; i < GV_C__COUNT; i++)
		dpk_counter_put(out, max, &n, gv_counter_names[i], g->c[i]);
	crossed(g, gvCounters(v, GO_COUNTERS));
	for (i = 0; i < GO_COUNTERS; i++)
		dpk_counter_put(out, max, &n, go_counter_names[i], v[i]);
	dpk_counter_put(out, max, &n, "tcp_active", active);
	dpk_counter_put(out, max, &n, "tcp_time_wait", tw);
	dpk_counter_put(out, max, &n, "mbufs_in_use_start", g->mbufs_start);
	dpk_counter_put(out, max, &n, "go_goroutines", (uint64_t)crossed(g, gvGoroutines()));
	dpk_counter_put(out, max, &n, "bound_thread", g->bound);
	return n;
}

static const char *gv_version(struct tl_stack *st)
{
	return gst(st)->version;
}

/*
 * netstack's limits, as the flood and scale checks hold it to them (scenarios/conformance/
 * packets.md, "Floods"; scenarios/README.md, "Scale").
 */
static const struct tl_limits gv_limits = {
	.max_sockets = GV_MAX_SOCKETS,
	.max_sockets_reason = "GV_MAX_SOCKETS (gv_shared.h): the readiness table Go and C "
			      "share, the listener included",
	.conn_bytes_min = 1024,
	.conn_bytes_max = 60 * 1024,
	.conn_bytes_reason = "one netstack endpoint with its queues (tcpip/transport/tcp/"
			     "endpoint.go) and Go's heap around them, which grows in steps: about "
			     "26 KiB measured, moving by 20 % between runs (scenarios/README.md, "
			     "Scale)",
	.syn_cap = TL_SYN_CAP_BACKLOG,
	.syn_over_backlog = 1,
	.syn_rcvd_bytes = 32768,
	.syn_rcvd_reason = "pending handshakes at most the accept queue's capacity - 1 (backlog + "
			   "1: gvListen), then SYN cookies (tcpip/transport/tcp/accept.go "
			   "handleListenSegment)",
	.idle_bytes = 65536,
	.idle_reason = "no cap on accepted connections (the accept queue is drained by serve): "
		       "one netstack endpoint and its buffers each (tcpip/transport/tcp/"
		       "endpoint.go); serve's slot and one touched page of its HX_SERVE_BUF",
	.slack_bytes = 16u << 20,
	.slack_reason = "a client's connection beside the flood's, the allocator's and Go's "
			"runtime granularity (its heap grows in steps)",
};

static const struct tl_ops gv_ops = {
	.abi_version = TCPLAB_STACK_ABI_VERSION,
	.name = "gvisor",
	.description = "gVisor's netstack on DPDK (ports: memif; tap and af_packet in a "
		       "namespace; pci)",
	.attach = TL_ATTACH_DPDK,
	.limits = &gv_limits,
	.create = gv_create,
	.check = gv_check,
	.free = gv_free,
	.socket = gv_socket_op,
	.bind = gv_bind_op,
	.listen = gv_listen_op,
	.accept = gv_accept_op,
	.connect = gv_connect_op,
	.send = gv_send_op,
	.recv = gv_recv_op,
	.sendv = gv_sendv_op,
	.recvv = gv_recvv_op,
	.shutdown = gv_shutdown_op,
	.close = gv_close_op,
	.setsockopt = gv_setsockopt_op,
	.getsockopt = gv_getsockopt_op,
	.getsockname = gv_getsockname_op,
	.getpeername = gv_getpeername_op,
	.set_nonblock = gv_set_nonblock_op,
	.get_nonblock = gv_get_nonblock_op,
	.poll = gv_poll_op,
	.bytes_available = gv_bytes_available_op,
	.default_addr = gv_default_addr,
	.counters = gv_counters,
	.version = gv_version,
	.cleanup = dpk_cleanup_run,
	.ws_create = gv_ws_create,
	.ws_ctl = gv_ws_ctl,
	.ws_wait = gv_ws_wait,
	.ws_close = gv_ws_close,
};

/* The plug-in's one exported symbol (tcplab-stack-gvisor.map hides the rest). */
__attribute__((visibility("default"))) const struct tl_ops *tcplab_stack_entry(void)
{
	return &gv_ops;
}
