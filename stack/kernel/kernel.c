/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - the "kernel" backend: Linux sockets, the baseline every other stack is compared
 * against. Handles are the kernel's file descriptors; the stack instance only remembers which
 * descriptors it opened so tl_stack_free can close them. Its wait set (tl_ops.ws_*) is an
 * epoll instance, level-triggered, whose handle is a descriptor like a socket's.
 *
 * errno convention: every call returns the syscall's result or -errno, read once right after
 * the call (ret_errno below is the one conversion point).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../transport_pvt.h"

/* Events one ws_wait takes from epoll: the rest wait for the next call, which epoll's ready
 * list hands out in turn. */
#define WS_BATCH 256

/* tl_ws_op and poll's events are epoll's own values: they pass through unconverted. */
static_assert(TL_WS_ADD == EPOLL_CTL_ADD && TL_WS_DEL == EPOLL_CTL_DEL &&
	      TL_WS_MOD == EPOLL_CTL_MOD, "tl_ws_op is not EPOLL_CTL_*");
static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLPRI == EPOLLPRI &&
	      POLLERR == EPOLLERR && POLLHUP == EPOLLHUP && POLLRDHUP == EPOLLRDHUP,
	      "poll events are not epoll's");

struct kernel_stack {
	struct tl_stack base;
	char version[96];
	unsigned int n_fds;		/* the descriptor limit when created */
	uint8_t *open;			/* [n_fds]: 1 where this instance opened the fd */
};

static struct kernel_stack *kst(struct tl_stack *st)
{
	return (struct kernel_stack *)st;
}

static int ret_errno(long r)
{
	return r < 0 ? -errno : (int)r;
}

static void track(struct tl_stack *st, int fd, uint8_t on)
{
	if (fd >= 0 && (unsigned int)fd < kst(st)->n_fds)
		kst(st)->open[fd] = on;
}

/* Linux sockets take no settings: stack options are accepted and ignored. */
static int kernel_check(const struct tl_stack_params *p, char *err, size_t len)
{
	(void)p;
	(void)err;
	(void)len;
	return 0;
}

/*
 * Every connection is a descriptor: the soft RLIMIT_NOFILE (1024 on many systems) would cap
 * a run at about that many connections, so the process takes the hard limit, which it may.
 * Returns the limit now in force.
 */
static unsigned int raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > (1u << 20) ? 1u << 20 : (unsigned int)rl.rlim_cur;
}

static struct tl_stack *kernel_create(const struct tl_stack_params *p, char *err, size_t len)
{
	struct kernel_stack *k = calloc(1, sizeof(*k));
	struct utsname u;

	(void)p;
	if (k != NULL) {
		k->n_fds = raise_fd_limit();
		k->open = calloc(k->n_fds, 1);
	}
	if (k == NULL || k->open == NULL) {
		free(k);
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (uname(&u) == 0)
		snprintf(k->version, sizeof(k->version), "linux %s", u.release);
	else
		snprintf(k->version, sizeof(k->version), "linux");
	return &k->base;
}

static void kernel_free(struct tl_stack *st)
{
	int fd;

	for (fd = 0; (unsigned int)fd < kst(st)->n_fds; fd++)
		if (kst(st)->open[fd])
			close(fd);
	free(kst(st)->open);
	free(st);
}

static int kernel_socket(struct tl_stack *st)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	track(st, fd, 1);
	return ret_errno(fd);
}

static int kernel_bind(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	(void)st;
	return ret_errno(bind(s, a, len));
}

static int kernel_listen(struct tl_stack *st, int s, int backlog)
{
	(void)st;
	return ret_errno(listen(s, backlog));
}

static int kernel_accept(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	int fd = accept4(s, a, len, SOCK_CLOEXEC);

	track(st, fd, 1);
	return ret_errno(fd);
}

static int kernel_connect(struct tl_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	(void)st;
	return ret_errno(connect(s, a, len));
}

static ssize_t kernel_send(struct tl_stack *st, int s, const void *buf, size_t len, int flags)
{
	(void)st;
	return ret_errno(send(s, buf, len, flags | MSG_NOSIGNAL));
}

static ssize_t kernel_recv(struct tl_stack *st, int s, void *buf, size_t len, int flags)
{
	(void)st;
	return ret_errno(recv(s, buf, len, flags));
}

static ssize_t kernel_sendv(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	(void)st;
	return ret_errno(sendmsg(s, &m, MSG_NOSIGNAL));
}

static ssize_t kernel_recvv(struct tl_stack *st, int s, const struct iovec *iov, int iovcnt)
{
	(void)st;
	return ret_errno(readv(s, iov, iovcnt));
}

static int kernel_shutdown(struct tl_stack *st, int s, int how)
{
	(void)st;
	return ret_errno(shutdown(s, how));
}

static int kernel_close(struct tl_stack *st, int s)
{
	int r = close(s);

	if (r == 0)
		track(st, s, 0);
	return ret_errno(r);
}

static int kernel_setsockopt(struct tl_stack *st, int s, int level, int name, const void *val,
			     socklen_t len)
{
	(void)st;
	return ret_errno(setsockopt(s, level, name, val, len));
}

static int kernel_getsockopt(struct tl_stack *st, int s, int level, int name, void *val,
			     socklen_t *len)
{
	(void)st;
	return ret_errno(getsockopt(s, level, name, val, len));
}

static int kernel_getsockname(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	(void)st;
	return ret_errno(getsockname(s, a, len));
}

static int kernel_getpeername(struct tl_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	(void)st;
	return ret_errno(getpeername(s, a, len));
}

static int kernel_set_nonblock(struct tl_stack *st, int s, bool on)
{
	int fl = fcntl(s, F_GETFL);

	(void)st;
	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return ret_errno(fcntl(s, F_SETFL, fl));
}

static int kernel_get_nonblock(struct tl_stack *st, int s)
{
	int fl = fcntl(s, F_GETFL);

	(void)st;
	return fl < 0 ? -errno : (fl & O_NONBLOCK) != 0;
}

static int kernel_poll(struct tl_stack *st, struct pollfd *fds, unsigned int n, int timeout_ms)
{
	(void)st;
	return ret_errno(poll(fds, n, timeout_ms));
}

static int kernel_ws_create(struct tl_stack *st)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	track(st, fd, 1);
	return ret_errno(fd);
}

static int kernel_ws_ctl(struct tl_stack *st, int ws, int op, int s, uint32_t events,
			 uint64_t cookie)
{
	struct epoll_event ev = {
		.events = events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP),
		.data.u64 = cookie,
	};

	(void)st;
	if (op != TL_WS_ADD && op != TL_WS_DEL && op != TL_WS_MOD)
		return -EINVAL;
	return ret_errno(epoll_ctl(ws, op, s, &ev));
}

static int kernel_ws_wait(struct tl_stack *st, int ws, struct tl_event *ev, unsigned int max,
			  int timeout_ms)
{
	struct epoll_event e[WS_BATCH];
	int n, i;

	(void)st;
	n = epoll_wait(ws, e, max < WS_BATCH ? (int)max : WS_BATCH, timeout_ms);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++)
		ev[i] = (struct tl_event){ .cookie = e[i].data.u64, .revents = e[i].events };
	return n;
}

static int kernel_ws_close(struct tl_stack *st, int ws)
{
	return kernel_close(st, ws);
}

static int kernel_bytes_available(struct tl_stack *st, int s)
{
	int n = 0;

	(void)st;
	if (ioctl(s, FIONREAD, &n) < 0)
		return -errno;
	return n;
}

static int kernel_default_addr(struct tl_stack *st, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	(void)st;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*sin);
	return 0;
}

static unsigned int kernel_counters(struct tl_stack *st, struct tl_counter *out, unsigned int max)
{
	(void)st;
	(void)out;
	(void)max;
	return 0;
}

static const char *kernel_version(struct tl_stack *st)
{
	return kst(st)->version;
}

/*
 * A socket lives in kernel memory: the processes grow by the harness's share only. The
 * figures are the ones the flood and scale checks held the kernel to before stacks stated
 * their own (scenarios/conformance/packets.md, "Floods"; scenarios/README.md, "Scale").
 */
static const struct tl_limits kernel_limits = {
	.max_sockets = 0,
	.max_sockets_reason = "no cap of its own: one descriptor a socket, so RLIMIT_NOFILE "
			      "(the backend raises its soft limit to the hard one)",
	.conn_bytes_min = 0,
	.conn_bytes_max = 8 * 1024,
	.conn_bytes_reason = "the socket lives in kernel memory: the process grows by the "
			     "harness's share only (the SUT's per-connection state, about 4 KiB "
			     "measured; scenarios/README.md, Scale)",
	.syn_cap = TL_SYN_CAP_BACKLOG,
	.syn_over_backlog = 1,
	.syn_rcvd_bytes = 0,
	.syn_rcvd_reason = "the kernel holds SYN-RECV request socks, not the SUT process: at most "
			   "the listen backlog (clamped to net.core.somaxconn), then SYN cookies "
			   "(tcp_syncookies=1; net/ipv4/tcp_input.c tcp_conn_request; full only "
			   "past the backlog: inet_csk_reqsk_queue_is_full, so backlog + 1)",
	.idle_bytes = 8192,
	.idle_reason = "every connection is accepted (serve.c: no cap but RLIMIT_NOFILE): its "
		       "slot, an epoll entry and a HX_SERVE_BUF (64 KiB) buffer of which an idle "
		       "connection touches one page; the socket itself in kernel memory",
	.slack_bytes = 4u << 20,
	.slack_reason = "a client's connection beside the flood's, the allocator's granularity",
};

const struct tl_ops tl_kernel_ops = {
	.abi_version = TCPLAB_STACK_ABI_VERSION,
	.name = "kernel",
	.description = "Linux kernel sockets: the baseline",
	.flags = TL_F_BLOCKING_WAIT,
	.attach = TL_ATTACH_SOCKETS,
	.limits = &kernel_limits,
	.create = kernel_create,
	.check = kernel_check,
	.free = kernel_free,
	.socket = kernel_socket,
	.bind = kernel_bind,
	.listen = kernel_listen,
	.accept = kernel_accept,
	.connect = kernel_connect,
	.send = kernel_send,
	.recv = kernel_recv,
	.sendv = kernel_sendv,
	.recvv = kernel_recvv,
	.shutdown = kernel_shutdown,
	.close = kernel_close,
	.setsockopt = kernel_setsockopt,
	.getsockopt = kernel_getsockopt,
	.getsockname = kernel_getsockname,
	.getpeername = kernel_getpeername,
	.set_nonblock = kernel_set_nonblock,
	.get_nonblock = kernel_get_nonblock,
	.poll = kernel_poll,
	.bytes_available = kernel_bytes_available,
	.default_addr = kernel_default_addr,
	.counters = kernel_counters,
	.version = kernel_version,
	.ws_create = kernel_ws_create,
	.ws_ctl = kernel_ws_ctl,
	.ws_wait = kernel_ws_wait,
	.ws_close = kernel_ws_close,
};
