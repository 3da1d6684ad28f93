/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the backend-neutral socket API (tl_*): the one seam between the harness and
 * the stacks it drives.
 *
 * Call flow: the harness picks a backend by name (tl_backend_find), creates one stack
 * instance per process (tl_stack_create), then drives TCP sockets through the tl_* calls
 * below. Each backend ("kernel", "lwip") is a struct tl_ops in the list kept by
 * transport.c; `tcplab list` prints that list.
 *
 * Conventions (every call):
 *  - Socket handles are small non-negative ints owned by the stack they came from.
 *  - Errors are returned as negative Linux errno values (-EAGAIN, -ECONNRESET, ...). Each
 *    backend converts its own codes in exactly one place.
 *  - Flags, option levels and names, shutdown modes and poll events use the Linux values
 *    from <sys/socket.h>, <netinet/tcp.h> and <poll.h>, whatever the backend: a script
 *    written for Linux means the same thing on every stack.
 *  - send never raises SIGPIPE; a send on a closed stream returns -EPIPE.
 *
 * Threading rule: a stack instance and its sockets belong to the thread that created the
 * instance. Backends that poll a device (lwip) make progress only inside tl_poll and the
 * socket calls of that thread; nothing runs behind the caller's back.
 */
#ifndef TL_TRANSPORT_H
#define TL_TRANSPORT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/** Which side of a run a stack instance serves. */
enum tl_role {
	TL_ROLE_CLIENT,	/**< the engine: connects out */
	TL_ROLE_SERVER,	/**< the SUT program behind `tcplab serve`: listens */
};

/** What a backend needs to start. */
struct tl_stack_params {
	enum tl_role role;
	/** Unique per run, shared by both sides: names DPDK file prefixes, memif sockets. */
	const char *run_id;
	/** Backend-specific "key=value" settings (topology, addresses, EAL arguments). */
	const char *const *opts;
	unsigned int n_opts;
};

/** A named counter a backend exposes for the result JSON (drops by reason, mbufs, ...). */
struct tl_counter {
	const char *name;
	uint64_t value;
};

struct tl_stack;

/**
 * A backend: one ops table, found by name. Every function pointer is mandatory; a backend
 * that cannot express a call returns -EOPNOTSUPP from it.
 */
struct tl_ops {
	const char *name;
	const char *description;
	/** TL_F_* properties the harness may use to pick how it waits. */
	unsigned int flags;
	/** The topologies it can run in, first the default, NULL-terminated. */
	const char *const *topologies;

	/** Start an instance. Returns NULL and sets errno on failure; logs why on stderr. */
	struct tl_stack *(*create)(const struct tl_stack_params *p);
	/**
	 * Check @p p as create would, starting nothing: 0, or a negative errno with a one-line
	 * reason in @p err (a malformed or unknown setting). What only a start can tell (DPDK,
	 * a port, a namespace) is left to create.
	 */
	int (*check)(const struct tl_stack_params *p, char *err, size_t len);
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
	int (*poll)(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms);
	int (*bytes_available)(struct tl_stack *st, int s);

	/** The address a server listens on when the user names none (port 0: any). */
	int (*default_addr)(struct tl_stack *st, struct sockaddr_storage *addr, socklen_t *len);
	/** Fill up to max counters; returns how many the backend has (may exceed max). */
	unsigned int (*counters)(struct tl_stack *st, struct tl_counter *out, unsigned int max);
	/** Versions of what runs underneath, e.g. "linux 6.1.0" or "lwip 2.1.3, dpdk 22.11". */
	const char *(*version)(struct tl_stack *st);
};

/**
 * A blocking call is the cheapest way to wait for one socket: it sleeps in the call and
 * returns with the data, where poll-then-call takes two calls (the kernel). Not set for
 * polling stacks, whose blocking calls spin like their poll.
 */
#define TL_F_BLOCKING_WAIT (1u << 0)

/** Every instance starts with this header; backends embed it as their first member. */
struct tl_stack {
	const struct tl_ops *ops;
};

/** The backends compiled in, NULL-terminated, in the order `tcplab list` prints them. */
const struct tl_ops *const *tl_backends(void);

/** Find a backend by name; NULL if there is none of that name. */
const struct tl_ops *tl_backend_find(const char *name);

/** Whether @p ops lists @p topology. */
bool tl_backend_has_topology(const struct tl_ops *ops, const char *topology);

/**
 * Create an instance of the backend called @p name.
 * Returns NULL and sets errno: ENOENT (no such backend) or the backend's own reason.
 */
struct tl_stack *tl_stack_create(const char *name, const struct tl_stack_params *p);

/**
 * The backend's check of @p p (tl_ops.check): 0, or a negative errno with a one-line reason
 * in @p err. -ENOENT for an unknown backend.
 */
int tl_stack_check(const char *name, const struct tl_stack_params *p, char *err, size_t len);

/**
 * The CPU a spinning side of @p role takes where it may pick (lwip's cpu=auto): the server
 * the highest CPU this process may run on, the client the lowest, so the two never share a
 * core. -1 when only one CPU is allowed (or the mask cannot be read): nothing to choose.
 */
int tl_auto_cpu(enum tl_role role);

/** Free an instance and every socket it still holds. Accepts NULL. */
void tl_stack_free(struct tl_stack *st);

/**
 * Look up "key=value" in @p p's options. Returns the value, or @p dflt when absent.
 */
const char *tl_params_get(const struct tl_stack_params *p, const char *key, const char *dflt);

/*
 * The calls. Each returns what its BSD namesake returns on success, or a negative errno:
 *  tl_socket       a new TCP stream socket (IPv4 for every backend, IPv6 where supported)
 *  tl_accept       -EAGAIN on a non-blocking listener with no pending connection
 *  tl_connect      -EINPROGRESS on a non-blocking socket; the result comes from POLLOUT
 *                  and SO_ERROR; -ECONNREFUSED, -EISCONN, -EALREADY as Linux does
 *  tl_send/recv    byte counts; 0 from recv is end of stream; -EAGAIN when nothing can
 *                  move on a non-blocking socket; -EPIPE, -ECONNRESET, -ENOTCONN
 *  tl_shutdown     SHUT_RD, SHUT_WR, SHUT_RDWR; -ENOTCONN when not connected
 *  tl_close        -EBADF on a handle that is not open
 *  tl_setsockopt   Linux levels and names; -ENOPROTOOPT for an option the stack lacks
 *  tl_poll         number of entries with revents set; 0 on timeout (timeout_ms < 0: wait)
 *  tl_bytes_available  bytes readable now (FIONREAD)
 */
static inline int tl_socket(struct tl_stack *st)
{
	return st->ops->socket(st);
}

static inline int tl_bind(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	return st->ops->bind(st, s, a, len);
}

static inline int tl_listen(struct tl_stack *st, int s, int backlog)
{
	return st->ops->listen(st, s, backlog);
}

static inline int tl_accept(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return st->ops->accept(st, s, a, len);
}

static inline int tl_connect(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	return st->ops->connect(st, s, a, len);
}

static inline ssize_t tl_send(struct tl_stack *st, int s, const void *buf, size_t len, int flags)
{
	return st->ops->send(st, s, buf, len, flags);
}

static inline ssize_t tl_recv(struct tl_stack *st, int s, void *buf, size_t len, int flags)
{
	return st->ops->recv(st, s, buf, len, flags);
}

static inline ssize_t tl_sendv(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	return st->ops->sendv(st, s, iov, iovcnt);
}

static inline ssize_t tl_recvv(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	return st->ops->recvv(st, s, iov, iovcnt);
}

static inline int tl_shutdown(struct tl_stack *st, int s, int how)
{
	return st->ops->shutdown(st, s, how);
}

static inline int tl_close(struct tl_stack *st, int s)
{
	return st->ops->close(st, s);
}

static inline int tl_setsockopt(struct tl_stack *st, int s, int level, int name, const void *val,
				socklen_t len)
{
	return st->ops->setsockopt(st, s, level, name, val, len);
}

static inline int tl_getsockopt(struct tl_stack *st, int s, int level, int name, void *val,
				socklen_t *len)
{
	return st->ops->getsockopt(st, s, level, name, val, len);
}

static inline int tl_getsockname(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return st->ops->getsockname(st, s, a, len);
}

static inline int tl_getpeername(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return st->ops->getpeername(st, s, a, len);
}

static inline int tl_set_nonblock(struct tl_stack *st, int s, bool on)
{
	return st->ops->set_nonblock(st, s, on);
}

static inline int tl_poll(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms)
{
	return st->ops->poll(st, fds, n, timeout_ms);
}

static inline int tl_bytes_available(struct tl_stack *st, int s)
{
	return st->ops->bytes_available(st, s);
}

/** Set an int-valued option (most of them). */
static inline int tl_setsockopt_int(struct tl_stack *st, int s, int level, int name, int v)
{
	return st->ops->setsockopt(st, s, level, name, &v, sizeof(v));
}

#endif /* TL_TRANSPORT_H */
