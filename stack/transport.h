/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the backend-neutral socket API (tl_*): the one seam between the harness and
 * the stacks it drives.
 *
 * Call flow: the harness finds a backend by name or path (tl_backend_open: built in, or a
 * plug-in loaded through the ABI of <tcplab/stack.h>), creates one stack instance per
 * process (tl_stack_create), then drives TCP sockets through the tl_* calls below, which
 * are the backend's ops. `tcplab list` prints tl_backends().
 *
 * The conventions of every call (negative Linux errno, Linux flag values, no SIGPIPE) and the
 * threading rule are the plug-in ABI's: stack/include/tcplab/stack.h.
 */
#ifndef TL_TRANSPORT_H
#define TL_TRANSPORT_H

#include <errno.h>

#include <tcplab/stack.h>

/** A backend and where it came from. */
struct tl_backend {
	const struct tl_ops *ops;
	const char *origin;	/**< "built-in" or "plug-in" */
	const char *path;	/**< the plug-in's shared object; NULL if built in */
};

/**
 * Every backend, NULL-terminated, in the order `tcplab list` prints them: those built in,
 * then the plug-ins on the search path (transport.c) by name.
 */
const struct tl_backend *const *tl_backends(void);

/**
 * The backend @p name: a name from tl_backends, or the path of a plug-in (any name with a
 * '/'), loaded on first use. 0 and *@p out, or a negative errno with a one-line reason in
 * @p err: -ENOENT no such backend, -ENOEXEC not a loadable shared object, -ENOSYS no entry
 * symbol, -EPROTO another ABI version, -EINVAL an ops table with a hole (or a part of a wait set).
 */
int tl_backend_open(const char *name, const struct tl_backend **out, char *err, size_t len);

/** The ops of backend @p name (tl_backend_open without the reason); NULL if none. */
const struct tl_ops *tl_backend_find(const char *name);

/**
 * Create an instance of the backend called @p name. Returns NULL, errno set, and a one-line
 * reason in @p err: tl_backend_open's, or the backend's own.
 */
struct tl_stack *tl_stack_create(const char *name, const struct tl_stack_params *p, char *err,
				 size_t len);

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

/* The calls: each is its backend's op of the same name (struct tl_ops says what it returns). */
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

static inline int tl_get_nonblock(struct tl_stack *st, int s)
{
	return st->ops->get_nonblock(st, s);
}

static inline int tl_poll(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms)
{
	return st->ops->poll(st, fds, n, timeout_ms);
}

static inline int tl_bytes_available(struct tl_stack *st, int s)
{
	return st->ops->bytes_available(st, s);
}

/*
 * The wait set (tl_ops.ws_*): tl_ws_create returns -EOPNOTSUPP where the backend offers none
 * (its ops NULL), and the caller polls instead; the others are called on a set it returned.
 */
static inline bool tl_ws_offered(const struct tl_ops *ops)
{
	return ops->ws_create != NULL;
}

static inline int tl_ws_create(struct tl_stack *st)
{
	return tl_ws_offered(st->ops) ? st->ops->ws_create(st) : -EOPNOTSUPP;
}

static inline int tl_ws_ctl(struct tl_stack *st, int ws, int op, int s, uint32_t events,
			    uint64_t cookie)
{
	return st->ops->ws_ctl(st, ws, op, s, events, cookie);
}

static inline int tl_ws_wait(struct tl_stack *st, int ws, struct tl_event *ev, unsigned int max,
			     int timeout_ms)
{
	return st->ops->ws_wait(st, ws, ev, max, timeout_ms);
}

/** Close a wait set; accepts a negative @p ws (none) and does nothing. */
static inline void tl_ws_close(struct tl_stack *st, int ws)
{
	if (ws >= 0)
		st->ops->ws_close(st, ws);
}

/** Set an int-valued option (most of them). */
static inline int tl_setsockopt_int(struct tl_stack *st, int s, int level, int name, int v)
{
	return st->ops->setsockopt(st, s, level, name, &v, sizeof(v));
}

#endif /* TL_TRANSPORT_H */
