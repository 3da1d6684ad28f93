/* SPDX-License-Identifier: MIT */
/*
 * tcplab/stack.h - the plug-in ABI: what a TCP stack implements so that tcplab runs its
 * scenarios, conformance cases and benchmarks on it, the same way it runs them on Linux.
 *
 * A plug-in is a shared object that exports one symbol, tcplab_stack_entry, returning its ops
 * table (struct tl_ops). tcplab finds it by name (`--backend NAME` looks for
 * tcplab-stack-NAME.so in the build's own plug-in folders, then in each folder of
 * TCPLAB_STACK_PATH) or by path (`--backend ./libfoo.so`), checks tl_ops.abi_version against
 * its own TCPLAB_STACK_ABI_VERSION and refuses any other. This header is the whole contract:
 * it is self-contained and needs nothing else of tcplab's (pkg-config: tcplab-stack).
 *
 * Call flow, per process: the harness calls check (settings only, nothing started), then
 * create once, then the socket calls, poll, counters and version from the thread that
 * called create, then free. The engine (client) and the SUT (`tcplab serve`, server) are
 * separate processes, each with its own instance.
 *
 * Conventions (every call):
 *  - Socket handles are small non-negative ints owned by the instance they came from.
 *  - Errors are negative Linux errno values (-EAGAIN, -ECONNRESET, ...); a stack converts its
 *    own codes in exactly one place.
 *  - Flags (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL), option levels and names, shutdown modes and
 *    poll events are the Linux values of <sys/socket.h>, <netinet/tcp.h> and <poll.h>: a
 *    script written for Linux means the same thing on every stack.
 *  - send never raises SIGPIPE; a send on a closed stream returns -EPIPE.
 *
 * A wait set (tl_ops.ws_*, optional) is epoll's model over the same sockets: sockets are
 * registered once with the events they wait for and a cookie, and a wait returns the ready
 * ones only, so a loop over thousands of sockets costs what is ready, not what is open. A
 * stack that offers none leaves the four pointers NULL and the harness waits with poll.
 *
 * Threading rule: an instance and its sockets belong to the thread that created it. A stack
 * that polls a device makes progress only inside poll and the socket calls of that thread;
 * anything it runs elsewhere (its own threads) must be documented by the stack, as its cost.
 */
#ifndef TCPLAB_STACK_H
#define TCPLAB_STACK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/**
 * The ABI this header describes; bumped on any change to the structs below once a version
 * is released. 3 added tl_limits, then (before its release) the optional cleanup and wait
 * set: tl_ops' cleanup and ws_* at the end of the table, struct tl_event, enum tl_ws_op;
 * and tl_stack_params.conns.
 */
#define TCPLAB_STACK_ABI_VERSION 3u

/** The one symbol a plug-in exports, of type tl_stack_entry_fn. */
#define TCPLAB_STACK_ENTRY "tcplab_stack_entry"

/** Which side of a run an instance serves. */
enum tl_role {
	TL_ROLE_CLIENT,	/**< the engine: connects out */
	TL_ROLE_SERVER,	/**< the SUT program behind `tcplab serve`: listens */
};

/**
 * What a stack's side of a topology is; the harness's topology table says which topology
 * takes which, and what it hands the stack in settings (tl_stack_params.opts).
 */
enum tl_attach {
	/** Sockets of the host kernel's network (Linux, or a stack over it): the harness puts
	 * the process in the topology's namespace and gives it addresses there. */
	TL_ATTACH_SOCKETS,
	/** A DPDK port of its own: the harness hands it port=memif|tap|af_packet|pci, ip=,
	 * and the port's details (iface=, tap_addr=, pci=) as settings. */
	TL_ATTACH_DPDK,
};

/** What a stack gets to start. */
struct tl_stack_params {
	enum tl_role role;
	/** Unique per run, shared by both sides: for DPDK file prefixes, memif socket names. */
	const char *run_id;
	/**
	 * "key=value" settings: the topology's (port, addresses) first, then the user's
	 * `--stack-opt K=V` in order; a key given twice takes its last value (tl_params_get).
	 */
	const char *const *opts;
	unsigned int n_opts;
	/**
	 * The CPU the harness gives this side's polling thread (a spinning server the highest
	 * allowed CPU, a client the lowest, so two sides on one host never share a core); -1
	 * when there is nothing to choose. A stack that spins should take it unless told
	 * otherwise.
	 */
	int cpu;
	/**
	 * The connections this side is to hold open at once at most, as far as the harness
	 * knows (a run: the scenario's conns, on both sides); 0 when it does not (`tcplab
	 * serve` started by hand without --conns). A stack may size what it sets aside for
	 * them (a DPDK stack its mbuf pool); a setting the user gave for the same wins.
	 */
	unsigned int conns;
};

/** A named counter for the result JSON (frames, drops by reason, endpoints, ...). */
struct tl_counter {
	const char *name;
	uint64_t value;
};

/** How many half-open (SYN-RCVD) connections a listener holds, as a function of its backlog. */
enum tl_syn_cap {
	/** At most the backlog given to listen plus tl_limits.syn_over_backlog; past it, SYN
	 * cookies or drops. */
	TL_SYN_CAP_BACKLOG,
	/** No cap: one per SYN, each until a RST or the stack's SYN-RCVD timeout. */
	TL_SYN_CAP_NONE,
};

/**
 * What a stack states of its own limits and costs, each figure with its reason (the place
 * in the stack's source that sets it). The checks that hold a run to a bound read these,
 * through `tcplab list --json` (backends[].limits), instead of knowing the stack by name:
 * the SUT's memory under a SYN or idle flood (python/tcplab/flood.py), the memory per open
 * connection of rr_many_1k (pytest/test_scale.py). Bytes are the process's resident growth
 * (VmRSS), the harness's share included: what a check can see. The figures are bounds, not
 * measurements: a ceiling two to three times what was measured, a floor below it.
 */
struct tl_limits {
	/** Sockets one instance can have open at once, the listener included; 0: no cap of the
	 * stack's own (the kernel's is RLIMIT_NOFILE, a setting of the host). */
	unsigned int max_sockets;
	const char *max_sockets_reason;

	/** Resident growth of the process per open connection carrying traffic, bytes: at
	 * least conn_bytes_min (0: none of the connection lives in the process) and at most
	 * conn_bytes_max; the same on the client and the server. */
	uint64_t conn_bytes_min;
	uint64_t conn_bytes_max;
	const char *conn_bytes_reason;

	/** Half-open connections a listener holds at once: TL_SYN_CAP_BACKLOG, at most backlog
	 * + syn_over_backlog; TL_SYN_CAP_NONE, as many as SYNs come. Each costs the process at
	 * most syn_rcvd_bytes (0: held outside the process, by the kernel). */
	enum tl_syn_cap syn_cap;
	unsigned int syn_over_backlog;
	uint64_t syn_rcvd_bytes;
	const char *syn_rcvd_reason;

	/** An accepted connection that never sends: the process's growth for it, at most. */
	uint64_t idle_bytes;
	const char *idle_reason;

	/** Bytes on top of any bound made of the figures above: the allocator's and the
	 * runtime's granularity, a client's connection beside the ones counted. */
	uint64_t slack_bytes;
	const char *slack_reason;
};

/**
 * What tl_ops.ws_ctl does; the values of EPOLL_CTL_ADD, EPOLL_CTL_DEL and EPOLL_CTL_MOD of
 * <sys/epoll.h>.
 */
enum tl_ws_op {
	TL_WS_ADD = 1,	/**< register a socket: -EEXIST if it is in the set already */
	TL_WS_DEL = 2,	/**< unregister it: -ENOENT if it is not in the set */
	TL_WS_MOD = 3,	/**< change its events and cookie: -ENOENT if it is not in the set */
};

/** One ready socket of a wait set (tl_ops.ws_wait). */
struct tl_event {
	uint64_t cookie;	/**< as given to ws_ctl for the socket */
	uint32_t revents;	/**< what poll would set in pollfd.revents now (<poll.h> values) */
};

struct tl_ops;

/** Every instance starts with this header; a stack embeds it as its first member. */
struct tl_stack {
	const struct tl_ops *ops;	/**< set by the harness after create */
};

/**
 * A blocking call is the cheapest way to wait for one socket: it sleeps in the call and
 * returns with the data, where poll-then-call takes two calls (the kernel). Not set for
 * polling stacks, whose blocking calls spin like their poll.
 */
#define TL_F_BLOCKING_WAIT (1u << 0)

/**
 * A stack: one ops table. Every function pointer is mandatory but cleanup and the wait
 * set's (ws_*), see there; a stack that cannot express a call returns -EOPNOTSUPP from it.
 * Each call returns what its BSD namesake returns on success, or a negative errno:
 *  socket       a new TCP stream socket (IPv4 on every stack, IPv6 where supported)
 *  accept       -EAGAIN on a non-blocking listener with no pending connection
 *  connect      -EINPROGRESS on a non-blocking socket, the result then from POLLOUT and
 *               SO_ERROR; -ECONNREFUSED, -EISCONN, -EALREADY as Linux does
 *  send/recv    byte counts; 0 from recv is end of stream; -EAGAIN when nothing can move on
 *               a non-blocking socket; -EPIPE, -ECONNRESET, -ENOTCONN
 *  shutdown     SHUT_RD, SHUT_WR, SHUT_RDWR; -ENOTCONN when not connected
 *  close        -EBADF on a handle that is not open
 *  setsockopt   Linux levels and names; -ENOPROTOOPT for an option the stack lacks
 *  set_nonblock, get_nonblock  the socket's O_NONBLOCK: set it; read it (1 set, 0 clear)
 *  poll         entries with revents set; 0 on timeout (timeout_ms < 0: wait)
 *  bytes_available  bytes readable now (FIONREAD)
 */
struct tl_ops {
	/** TCPLAB_STACK_ABI_VERSION as the stack was built; any other is refused. */
	uint32_t abi_version;
	/** Short name, [a-z0-9_-], as `--backend` takes it and results record it. */
	const char *name;
	const char *description;
	unsigned int flags;		/**< TL_F_* */
	enum tl_attach attach;
	/**
	 * The stack's limits and costs (struct tl_limits), or NULL: none stated, and a check
	 * then holds it to generic bounds. When given, every reason is non-empty and
	 * conn_bytes_min <= conn_bytes_max, or the plug-in is refused at load (ABI 3).
	 */
	const struct tl_limits *limits;

	/**
	 * Check @p p as create would, starting nothing: 0, or a negative errno with a one-line
	 * reason in @p err (a malformed or unknown setting). What only a start can tell (a
	 * device, a namespace) is left to create.
	 */
	int (*check)(const struct tl_stack_params *p, char *err, size_t len);
	/** Start an instance. NULL on failure, errno set and a one-line reason in @p err. */
	struct tl_stack *(*create)(const struct tl_stack_params *p, char *err, size_t len);
	/** Close what sockets remain and stop. */
	void (*free)(struct tl_stack *st);

	int (*socket)(struct tl_stack *st);
	int (*bind)(struct tl_stack *st, int s, const struct sockaddr *addr, socklen_t len);
	int (*listen)(struct tl_stack *st, int s, int backlog);
	int (*accept)(struct tl_stack *st, int s, struct sockaddr *addr, socklen_t *len);
	int (*connect)(struct tl_stack *st, int s, const struct sockaddr *addr, socklen_t len);
	ssize_t (*send)(struct tl_stack *st, int s, const void *buf, size_t len, int flags);
	ssize_t (*recv)(struct tl_stack *st, int s, void *buf, size_t len, int flags);
	ssize_t (*sendv)(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt);
	ssize_t (*recvv)(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt);
	int (*shutdown)(struct tl_stack *st, int s, int how);
	int (*close)(struct tl_stack *st, int s);
	int (*setsockopt)(struct tl_stack *st, int s, int level, int name, const void *val,
			  socklen_t len);
	int (*getsockopt)(struct tl_stack *st, int s, int level, int name, void *val,
			  socklen_t *len);
	int (*getsockname)(struct tl_stack *st, int s, struct sockaddr *addr, socklen_t *len);
	int (*getpeername)(struct tl_stack *st, int s, struct sockaddr *addr, socklen_t *len);
	int (*set_nonblock)(struct tl_stack *st, int s, bool on);
	int (*get_nonblock)(struct tl_stack *st, int s);
	int (*poll)(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms);
	int (*bytes_available)(struct tl_stack *st, int s);

	/** The address a server listens on when the user names none (port 0: any). */
	int (*default_addr)(struct tl_stack *st, struct sockaddr_storage *addr, socklen_t *len);
	/** Fill up to @p max counters; returns how many the stack has (may exceed max). */
	unsigned int (*counters)(struct tl_stack *st, struct tl_counter *out, unsigned int max);
	/** What runs underneath, e.g. "linux 6.1.0" or "lwip 2.1.3, dpdk 22.11". */
	const char *(*version)(struct tl_stack *st);

	/**
	 * Optional (NULL: the stack leaves nothing outside its process). Remove what instances
	 * of run @p run_id (tl_stack_params.run_id) left outside their processes (files,
	 * directories) because they died without closing: a SIGKILL, a crash. Called from
	 * another process, with no instance created there, once both sides of the run have
	 * ended; it must not start the stack.
	 */
	void (*cleanup)(const char *run_id);

	/*
	 * The wait set, optional (added to ABI 3 before its release): all four NULL, the
	 * stack offers none and the harness waits with poll over every socket; or all four
	 * set, or the plug-in is refused at load. It is poll's semantics kept between calls,
	 * epoll's level-triggered model: a socket is reported by every ws_wait for as long as
	 * poll would report it, with the same revents (POLLERR and POLLHUP whether asked for
	 * or not). Closing a socket (close, free) takes it out of every wait set; no event of
	 * it is reported after. A stack that polls a device makes progress inside ws_wait as
	 * inside poll.
	 */
	/** A new wait set: a handle (>= 0, in a space of its own or the sockets'), or a
	 * negative errno; -EOPNOTSUPP: this instance offers none (the harness polls). */
	int (*ws_create)(struct tl_stack *st);
	/**
	 * @p op (enum tl_ws_op) socket @p s in wait set @p ws: wait for @p events (POLLIN,
	 * POLLOUT, POLLPRI, POLLRDHUP; POLLERR and POLLHUP always) and report it with
	 * @p cookie. 0, or -EEXIST (ADD of a socket in the set), -ENOENT (DEL or MOD of one
	 * not in it), -EBADF (@p ws or @p s not open), -EINVAL (another op), -ENOMEM.
	 */
	int (*ws_ctl)(struct tl_stack *st, int ws, int op, int s, uint32_t events,
		      uint64_t cookie);
	/**
	 * Fill up to @p max entries of @p ev with the sockets of @p ws that are ready now,
	 * waiting up to @p timeout_ms for one (0: do not wait; < 0: wait until one is).
	 * Returns how many were filled, 0 on timeout, -EINTR, -EBADF. When more than @p max
	 * are ready, successive calls take turns among them (none waits for ever).
	 */
	int (*ws_wait)(struct tl_stack *st, int ws, struct tl_event *ev, unsigned int max,
		       int timeout_ms);
	/** Close wait set @p ws (its sockets stay open): 0, or -EBADF. free closes those
	 * left open. */
	int (*ws_close)(struct tl_stack *st, int ws);
};

/** The entry symbol's type: returns the plug-in's ops table, never NULL. */
typedef const struct tl_ops *tl_stack_entry_fn(void);

/** Defined by the plug-in (exported, default visibility). */
const struct tl_ops *tcplab_stack_entry(void);

/**
 * The value of setting @p key in @p p: the last "key=value" given, or @p dflt when none is.
 */
static inline const char *tl_params_get(const struct tl_stack_params *p, const char *key,
					const char *dflt)
{
	size_t klen = strlen(key);
	const char *v = dflt;
	unsigned int i;

	for (i = 0; i < p->n_opts; i++)
		if (strncmp(p->opts[i], key, klen) == 0 && p->opts[i][klen] == '=')
			v = p->opts[i] + klen + 1;
	return v;
}

#endif /* TCPLAB_STACK_H */
