/* SPDX-License-Identifier: MIT */
/*
 * example.c - the smallest complete tcplab stack plug-in: every op of <tcplab/stack.h> on
 * Linux sockets, each a call to replace with one into your stack. Built out of tree: Makefile.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <tcplab/stack.h>

#define EX_MAX_FDS 4096		/* descriptors tracked for free; higher ones still work */

struct ex_stack {
	struct tl_stack base;	/* first, as the ABI asks */
	uint64_t opened;	/* counter: sockets made by socket and accept */
	uint64_t errors;	/* counter: calls that returned an errno, -EAGAIN included */
	unsigned char open[EX_MAX_FDS];
};

static struct ex_stack *ex(struct tl_stack *st)
{
	return (struct ex_stack *)st;
}

/* The errno conversion: a Linux call's result, or -errno (counted). */
static ssize_t ret(struct tl_stack *st, ssize_t r)
{
	ex(st)->errors += r < 0;
	return r < 0 ? -errno : r;
}

/* The instance learns which handles are its own (here, ex_close), so free closes the rest. */
static int track(struct tl_stack *st, int fd)
{
	ex(st)->opened += fd >= 0;
	if (fd >= 0 && fd < EX_MAX_FDS)
		ex(st)->open[fd] = 1;
	return ret(st, fd);
}

/* No settings; a stack with some checks them here (tl_params_get), naming a bad one. */
static int ex_check(const struct tl_stack_params *p, char *err, size_t len)
{
	(void)p, (void)err, (void)len;
	return 0;
}

static struct tl_stack *ex_create(const struct tl_stack_params *p, char *err, size_t len)
{
	struct ex_stack *x = calloc(1, sizeof(*x));

	(void)p;
	if (x == NULL)	/* errno is ENOMEM; err says why in one line */
		snprintf(err, len, "example: out of memory");
	return (struct tl_stack *)x;
}

static void ex_free(struct tl_stack *st)
{
	for (int fd = 0; fd < EX_MAX_FDS; fd++)
		if (ex(st)->open[fd])
			close(fd);
	free(st);
}
static int ex_close(struct tl_stack *st, int s)
{
	int r = close(s);

	if (r == 0 && s < EX_MAX_FDS)
		ex(st)->open[s] = 0;
	return ret(st, r);
}
static int ex_socket(struct tl_stack *st)
{
	return track(st, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
}
static int ex_accept(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return track(st, accept4(s, a, len, SOCK_CLOEXEC));
}

/* Calls that pass straight through: flags, options, poll events are Linux's already. */
static int ex_bind(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	return ret(st, bind(s, a, len));
}
static int ex_listen(struct tl_stack *st, int s, int backlog)
{
	return ret(st, listen(s, backlog));
}
static int ex_connect(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	return ret(st, connect(s, a, len));
}

/* MSG_NOSIGNAL: a send on a closed stream is -EPIPE, never SIGPIPE. */
static ssize_t ex_send(struct tl_stack *st, int s, const void *buf, size_t len, int flags)
{
	return ret(st, send(s, buf, len, flags | MSG_NOSIGNAL));
}
static ssize_t ex_recv(struct tl_stack *st, int s, void *buf, size_t len, int flags)
{
	return ret(st, recv(s, buf, len, flags));
}
static ssize_t ex_sendv(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	return ret(st, sendmsg(s, &(struct msghdr){ .msg_iov = (struct iovec *)iov,
					     .msg_iovlen = (size_t)iovcnt }, MSG_NOSIGNAL));
}
static ssize_t ex_recvv(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	return ret(st, readv(s, iov, iovcnt));
}
static int ex_shutdown(struct tl_stack *st, int s, int how)
{
	return ret(st, shutdown(s, how));
}
static int ex_setsockopt(struct tl_stack *st, int s, int level, int name, const void *val,
			 socklen_t len)
{
	return ret(st, setsockopt(s, level, name, val, len));
}
static int ex_getsockopt(struct tl_stack *st, int s, int level, int name, void *val,
			 socklen_t *len)
{
	return ret(st, getsockopt(s, level, name, val, len));
}
static int ex_getsockname(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return ret(st, getsockname(s, a, len));
}
static int ex_getpeername(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	return ret(st, getpeername(s, a, len));
}
/* A polling stack runs its loop in poll and the socket calls, until an event or timeout. */
static int ex_poll(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms)
{
	return ret(st, poll(fds, n, timeout_ms));
}
static int ex_get_nonblock(struct tl_stack *st, int s)
{
	int fl = (int)ret(st, fcntl(s, F_GETFL));

	return fl < 0 ? fl : (fl & O_NONBLOCK) != 0;
}

static int ex_set_nonblock(struct tl_stack *st, int s, bool on)
{
	int v = on;

	return ret(st, ioctl(s, FIONBIO, &v));
}
static int ex_bytes_available(struct tl_stack *st, int s)
{
	int n = 0, r = ioctl(s, FIONREAD, &n);

	return r < 0 ? ret(st, r) : n;
}

/* A server given no address listens on 127.0.0.1, port 0 (any). */
static int ex_default_addr(struct tl_stack *st, struct sockaddr_storage *ss, socklen_t *len)
{
	(void)st;
	*(struct sockaddr_in *)ss = (struct sockaddr_in){ .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	*len = sizeof(struct sockaddr_in);
	return 0;
}

/* What the result JSON records: stack_counters, and versions.stack. */
static unsigned int ex_counters(struct tl_stack *st, struct tl_counter *out, unsigned int max)
{
	if (max > 0)
		out[0] = (struct tl_counter){ "sockets_opened", ex(st)->opened };
	if (max > 1)
		out[1] = (struct tl_counter){ "errors", ex(st)->errors };
	return 2;
}
static const char *ex_version(struct tl_stack *st)
{
	(void)st;
	return "example 1 (linux sockets)";
}

/*
 * What the stack states of its limits (NULL states none, and checks then hold it to generic
 * bounds). Each figure cites where the stack sets it: here Linux sockets underneath, so the
 * kernel backend's figures (stack/kernel/kernel.c). Replace them with your stack's.
 */
static const struct tl_limits ex_limits = {
	.max_sockets = 0,
	.max_sockets_reason = "no cap of its own: a Linux descriptor a socket, RLIMIT_NOFILE",
	.conn_bytes_min = 0,
	.conn_bytes_max = 8 * 1024,
	.conn_bytes_reason = "a Linux socket lives in kernel memory: the process holds the "
			     "harness's share only",
	.syn_cap = TL_SYN_CAP_BACKLOG,
	.syn_over_backlog = 1,
	.syn_rcvd_bytes = 0,
	.syn_rcvd_reason = "Linux holds request socks in the kernel, at most backlog + 1 "
			   "(inet_csk_reqsk_queue_is_full), then SYN cookies",
	.idle_bytes = 8192,
	.idle_reason = "the socket in kernel memory; serve's slot and one page of its buffer",
	.slack_bytes = 4u << 20,
	.slack_reason = "a client's connection beside the flood's, the allocator's granularity",
};

static const struct tl_ops ex_ops = {
	.abi_version = TCPLAB_STACK_ABI_VERSION, .name = "example", .attach = TL_ATTACH_SOCKETS,
	.description = "Linux sockets through the plug-in ABI", .flags = TL_F_BLOCKING_WAIT,
	.limits = &ex_limits,
	.check = ex_check, .create = ex_create, .free = ex_free, .socket = ex_socket,
	.bind = ex_bind, .listen = ex_listen, .accept = ex_accept, .connect = ex_connect,
	.send = ex_send, .recv = ex_recv, .sendv = ex_sendv, .recvv = ex_recvv,
	.shutdown = ex_shutdown, .close = ex_close, .setsockopt = ex_setsockopt,
	.getsockopt = ex_getsockopt, .getsockname = ex_getsockname, .getpeername = ex_getpeername,
	.set_nonblock = ex_set_nonblock, .get_nonblock = ex_get_nonblock, .poll = ex_poll, .bytes_available = ex_bytes_available,
	.default_addr = ex_default_addr, .counters = ex_counters, .version = ex_version,
};

/* The one exported symbol; build with -fvisibility=hidden and only it is seen. */
__attribute__((visibility("default"))) const struct tl_ops *tcplab_stack_entry(void)
{
	return &ex_ops;
}
