/* SPDX-License-Identifier: MIT */
/*
 * conform_run.c - `tcplab case FILE --side sut|peer`: run one side of a conformance case on
 * a backend and print its trace, one JSON line per call:
 *
 *   {"line": 7, "op": "connect", "ret": -1, "err": "ECONNREFUSED"}
 *   {"line": 9, "op": "recv", "ret": 100, "data_ok": true}
 *   {"signal": "accepted"}                  (for the orchestrator to pass on)
 *   {"event": "ready"}                      (first line: the stack is up; not a trace line)
 *
 * Values that legitimately differ between runs are normalized so traces compare across
 * stacks: new handles print as "handle", addresses as sut/peer/any, ephemeral ports (32768
 * and up: every stack here draws them there) as "eph", but a named port byte-swapped as
 * "swapped:N". `wait NAME [MS]` reads lines on stdin
 * until NAME arrives, keeping the stack polled meanwhile (a polling stack only moves when
 * called), for at most MS ms (default 10 s).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "conform.h"
#include "conform_pvt.h"
#include "harness.h"
#include "json.h"
#include "pattern.h"
#include "topology.h"
#include "transport.h"

#define WAIT_MS 10000
#define BUF_MAX (16u << 20)
#define FILL_CHUNK (64u << 10)
#define FILL_MAX (64u << 20)		/* fill and drain give up past this: "never full" */

struct runner {
	struct tl_stack *st;
	const struct cf_side *cs;
	int handles[CF_MAX_VARS];
	uint64_t tx_off[CF_MAX_VARS];
	uint64_t rx_off[CF_MAX_VARS];
	struct in_addr sut;
	struct in_addr peer;
	struct hx_json j;
	struct hx_pattern pattern;	/* to verify what arrives */
	uint8_t *out;			/* BUF_MAX + one period of the pattern, to send from */
	uint8_t *in;			/* BUF_MAX */
	char ctl[256];
	size_t ctl_len;
};

/* ---- trace output ---- */

static void ret_field(struct runner *r, long ret, bool handle)
{
	char name[32];
	const char *e;

	if (ret >= 0) {
		if (handle)
			hx_json_str(&r->j, "ret", "handle");
		else
			hx_json_int(&r->j, "ret", ret);
		return;
	}
	hx_json_int(&r->j, "ret", -1);
	e = strerrorname_np((int)-ret);
	if (e == NULL) {
		snprintf(name, sizeof(name), "errno%ld", -ret);
		e = name;
	}
	hx_json_str(&r->j, "err", e);
}

/* Whether @p port is one the script @p cs names (bind, connect). */
static bool named_port(const struct cf_side *cs, unsigned int port)
{
	unsigned int i;

	for (i = 0; i < cs->n_steps; i++)
		if ((cs->steps[i].op == CF_BIND || cs->steps[i].op == CF_CONNECT) &&
		    cs->steps[i].port == port)
			return true;
	return false;
}

void cf_port_text(const struct cf_side *cs, unsigned int port, char *out, size_t len)
{
	unsigned int swapped = ((port & 0xff) << 8) | (port >> 8);

	if (port < CF_EPHEMERAL_MIN)
		snprintf(out, len, "%u", port);
	else if (named_port(cs, swapped))
		snprintf(out, len, "swapped:%u", swapped);
	else
		snprintf(out, len, "eph");
}

static void addr_field(struct runner *r, const char *key, const struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN + 8], port[24], out[64];

	if (sin->sin_addr.s_addr == r->sut.s_addr)
		snprintf(host, sizeof(host), "sut");
	else if (sin->sin_addr.s_addr == r->peer.s_addr)
		snprintf(host, sizeof(host), "peer");
	else if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
		snprintf(host, sizeof(host), "any");
	else
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	cf_port_text(r->cs, ntohs(sin->sin_port), port, sizeof(port));
	snprintf(out, sizeof(out), "%s:%s", host, port);
	hx_json_str(&r->j, key, out);
}

static void revents_field(struct runner *r, short ev)
{
	static const struct { short bit; const char *name; } bits[] = {
		{ POLLIN, "POLLIN" }, { POLLPRI, "POLLPRI" }, { POLLOUT, "POLLOUT" },
		{ POLLERR, "POLLERR" }, { POLLHUP, "POLLHUP" }, { POLLNVAL, "POLLNVAL" },
		{ POLLRDHUP, "POLLRDHUP" },	/* only when asked for (`poll V in+rdhup T`) */
	};
	unsigned int i;

	hx_json_arr_begin(&r->j, "revents");
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (ev & bits[i].bit)
			hx_json_str(&r->j, NULL, bits[i].name);
	hx_json_arr_end(&r->j);
}

/* ---- calls ---- */

static void fill_addr(const struct runner *r, const struct cf_step *st, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)st->port);
	sin->sin_addr = st->host == CF_HOST_SUT ? r->sut : st->host == CF_HOST_PEER
		? r->peer : (struct in_addr){ .s_addr = htonl(INADDR_ANY) };
}

static long do_name(struct runner *r, const struct cf_step *st, int s)
{
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);
	long ret;

	if (st->op == CF_GETSOCKNAME)
		ret = tl_getsockname(r->st, s, (struct sockaddr *)&sin, &len);
	else
		ret = tl_getpeername(r->st, s, (struct sockaddr *)&sin, &len);
	ret_field(r, ret, false);
	if (ret == 0)
		addr_field(r, "addr", &sin);
	return ret;
}

static long do_accept(struct runner *r, const struct cf_step *st, int s)
{
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);
	long ret = tl_accept(r->st, s, (struct sockaddr *)&sin, &len);

	ret_field(r, ret, true);
	if (ret >= 0) {
		r->handles[st->dst] = (int)ret;
		r->tx_off[st->dst] = r->rx_off[st->dst] = 0;
		addr_field(r, "peer", &sin);
	}
	return ret;
}

static long do_send(struct runner *r, const struct cf_step *st, int s)
{
	const uint8_t *from = r->out + r->tx_off[st->sock] % HX_PATTERN_PERIOD;
	struct iovec iov[CF_MAX_IOV];
	unsigned int i;
	size_t at = 0;
	long ret;

	if (st->op == CF_SEND) {
		ret = tl_send(r->st, s, from, (size_t)st->n, st->flags);
	} else {
		for (i = 0; i < st->n_iov; i++) {
			iov[i] = (struct iovec){ .iov_base = (void *)(from + at),
						 .iov_len = st->iov[i] };
			at += st->iov[i];
		}
		ret = tl_sendv(r->st, s, iov, (int)st->n_iov);
	}
	/* How much a partial send takes depends on buffer sizes, which stacks choose freely:
	 * what must match is that it was partial. */
	if (ret > 0 && ret < st->n)
		hx_json_str(&r->j, "ret", "partial");
	else
		ret_field(r, ret, false);
	if (ret > 0)
		r->tx_off[st->sock] += (uint64_t)ret;
	return ret;
}

static long do_recv(struct runner *r, const struct cf_step *st, int s)
{
	struct iovec iov[CF_MAX_IOV];
	unsigned int i;
	size_t at = 0;
	long ret;

	if (st->op == CF_RECV) {
		ret = tl_recv(r->st, s, r->in, (size_t)st->n, st->flags);
	} else {
		for (i = 0; i < st->n_iov; i++) {
			iov[i] = (struct iovec){ .iov_base = r->in + at, .iov_len = st->iov[i] };
			at += st->iov[i];
		}
		ret = tl_recvv(r->st, s, iov, (int)st->n_iov);
	}
	ret_field(r, ret, false);
	if (ret > 0) {
		hx_json_bool(&r->j, "data_ok", hx_pattern_check(&r->pattern, r->in, (size_t)ret,
								r->rx_off[st->sock]));
		if (!(st->flags & MSG_PEEK))
			r->rx_off[st->sock] += (uint64_t)ret;
	}
	return ret;
}

static long do_setsockopt(struct runner *r, const struct cf_step *st, int s)
{
	const struct cf_option *o = cf_option_find(st->level, st->name);
	struct linger lg = { .l_onoff = st->n >= 0, .l_linger = st->n >= 0 ? (int)st->n : 0 };
	struct timeval tv = { .tv_sec = st->n / 1000, .tv_usec = (st->n % 1000) * 1000 };
	int v = (int)st->n;
	long ret;

	if (o != NULL && o->kind == CF_OPT_LINGER)
		ret = tl_setsockopt(r->st, s, st->level, st->name, &lg, sizeof(lg));
	else if (o != NULL && o->kind == CF_OPT_TIMEVAL)
		ret = tl_setsockopt(r->st, s, st->level, st->name, &tv, sizeof(tv));
	else
		ret = tl_setsockopt(r->st, s, st->level, st->name, &v, sizeof(v));
	ret_field(r, ret, false);
	return ret;
}

static long do_getsockopt(struct runner *r, const struct cf_step *st, int s)
{
	const struct cf_option *o = cf_option_find(st->level, st->name);
	union { int i; struct linger lg; struct timeval tv; } v;
	socklen_t len = sizeof(v);
	char text[32];
	long ret;

	memset(&v, 0, sizeof(v));
	ret = tl_getsockopt(r->st, s, st->level, st->name, &v, &len);
	ret_field(r, ret, false);
	if (ret < 0)
		return ret;
	if (o != NULL && o->kind == CF_OPT_LINGER) {
		snprintf(text, sizeof(text), v.lg.l_onoff ? "on:%d" : "off", v.lg.l_linger);
		hx_json_str(&r->j, "value", text);
	} else if (o != NULL && o->kind == CF_OPT_TIMEVAL) {
		hx_json_int(&r->j, "value", (int64_t)v.tv.tv_sec * 1000 + v.tv.tv_usec / 1000);
	} else if (st->name == SO_ERROR && st->level == SOL_SOCKET && v.i != 0) {
		hx_json_str(&r->j, "value", strerrorname_np(v.i) ? strerrorname_np(v.i) : "?");
	} else {
		hx_json_int(&r->j, "value", v.i);
	}
	return ret;
}

static long do_poll(struct runner *r, const struct cf_step *st, int s)
{
	struct pollfd pf = { .fd = s, .events = (short)st->flags };
	long ret = tl_poll(r->st, &pf, 1, (int)st->n);

	ret_field(r, ret, false);
	if (ret >= 0)
		revents_field(r, pf.revents);
	return ret;
}

/* Wait for @p name on stdin, polling the stack meanwhile, for @p ms (0: WAIT_MS). */
static long do_wait(struct runner *r, const char *name, int64_t ms)
{
	int64_t deadline = hx_now_ns() + (ms > 0 ? ms : WAIT_MS) * 1000000;
	struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
	char *nl;
	ssize_t n;

	while (hx_now_ns() < deadline && !hx_stop) {
		while ((nl = memchr(r->ctl, '\n', r->ctl_len)) != NULL) {
			bool match;

			*nl = '\0';
			match = strcmp(r->ctl, name) == 0;
			r->ctl_len -= (size_t)(nl + 1 - r->ctl);
			memmove(r->ctl, nl + 1, r->ctl_len);
			if (match)
				return 0;
		}
		if (poll(&in, 1, 0) == 1) {
			n = read(STDIN_FILENO, r->ctl + r->ctl_len, sizeof(r->ctl) - 1 - r->ctl_len);
			if (n <= 0)
				return -EPIPE;
			r->ctl_len += (size_t)n;
			continue;
		}
		tl_poll(r->st, NULL, 0, 1);
	}
	return -ETIMEDOUT;
}

static long do_simple(struct runner *r, const struct cf_step *st, int s)
{
	long ret;

	switch (st->op) {
	case CF_LISTEN: ret = tl_listen(r->st, s, (int)st->n); break;
	case CF_SHUTDOWN: ret = tl_shutdown(r->st, s, st->flags); break;
	case CF_CLOSE: ret = tl_close(r->st, s); break;
	case CF_NONBLOCK: ret = tl_set_nonblock(r->st, s, st->n != 0); break;
	case CF_AVAILABLE: ret = tl_bytes_available(r->st, s); break;
	case CF_GETFL:	/* fcntl(F_GETFL) of a socket: O_RDWR, and O_NONBLOCK when set */
		ret = tl_get_nonblock(r->st, s);
		ret = ret < 0 ? ret : O_RDWR | (ret ? O_NONBLOCK : 0);
		break;
	default: ret = -EINVAL; break;
	}
	ret_field(r, ret, false);
	return ret;
}

static long do_addr(struct runner *r, const struct cf_step *st, int s)
{
	struct sockaddr_in sin;
	long ret;

	fill_addr(r, st, &sin);
	if (st->op == CF_BIND)
		ret = tl_bind(r->st, s, (struct sockaddr *)&sin, sizeof(sin));
	else
		ret = tl_connect(r->st, s, (struct sockaddr *)&sin, sizeof(sin));
	ret_field(r, ret, false);
	return ret;
}

/*
 * `V = socket nonblock` is socket(SOCK_NONBLOCK): the plug-in ABI's socket call takes no
 * flags (stack.h, version 1), so the new socket is made non-blocking before any other call
 * on it, the fcntl that socket(2) says the flag saves. Traced as one call.
 */
static long do_socket(struct runner *r, const struct cf_step *st)
{
	long ret = tl_socket(r->st), e = 0;

	if (ret >= 0 && (st->flags & SOCK_NONBLOCK))
		e = tl_set_nonblock(r->st, (int)ret, true);
	if (e < 0) {
		tl_close(r->st, (int)ret);
		ret = e;
	}
	ret_field(r, ret, true);
	if (ret >= 0) {
		r->handles[st->dst] = (int)ret;
		r->tx_off[st->dst] = r->rx_off[st->dst] = 0;
	}
	return ret;
}

/*
 * Linux's struct tcp_info up to tcpi_notsent_bytes; glibc's <netinet/tcp.h> stops at
 * tcpi_total_retrans (104 bytes, so the u64 fields that follow need no padding).
 */
struct tcp_info_notsent {
	struct tcp_info base;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes;
};

/*
 * `acked V`: wait until the other side has acknowledged every byte sent on V (nothing
 * unsent, nothing unacknowledged, from Linux's TCP_INFO), or the connection is closed; at most
 * WAIT_MS, the stack kept polled. It orders the sides by what reached the other stack, where
 * signal/wait orders them by what the scripts did: after it, the data is in the other side's
 * receive queue. Linux's TCP_INFO only: a call for the peer side.
 */
static long do_acked(struct runner *r, int s)
{
	int64_t deadline = hx_now_ns() + (int64_t)WAIT_MS * 1000000;
	struct tcp_info_notsent ti;
	socklen_t len;
	long ret;

	for (;;) {
		memset(&ti, 0, sizeof(ti));
		len = sizeof(ti);
		ret = tl_getsockopt(r->st, s, IPPROTO_TCP, TCP_INFO, &ti, &len);
		if (ret < 0)
			break;
		if (ti.base.tcpi_state == TCP_CLOSE || (ti.base.tcpi_unacked == 0 &&
		    (len < sizeof(ti) || ti.notsent_bytes == 0)))
			break;
		if (hx_now_ns() >= deadline || hx_stop) {
			ret = -ETIMEDOUT;
			break;
		}
		tl_poll(r->st, NULL, 0, 1);
	}
	ret_field(r, ret, false);
	return ret;
}

/*
 * `fill V`: non-blocking sends of FILL_CHUNK until one takes nothing (EAGAIN): "full". What
 * a full buffer holds is the stack's choice; that it fills, and that everything taken arrives
 * (`drain` on the other side), is what must match.
 */
static long do_fill(struct runner *r, const struct cf_step *st, int s)
{
	uint64_t total = 0;
	long ret;

	do {
		ret = tl_send(r->st, s, r->out + r->tx_off[st->sock] % HX_PATTERN_PERIOD,
			      FILL_CHUNK, MSG_DONTWAIT);
		if (ret > 0) {
			r->tx_off[st->sock] += (uint64_t)ret;
			total += (uint64_t)ret;
		}
	} while (ret > 0 && total < FILL_MAX);
	if (ret == -EAGAIN)
		hx_json_str(&r->j, "ret", "full");
	else if (ret > 0)
		hx_json_str(&r->j, "ret", "never full");
	else
		ret_field(r, ret, false);
	return ret == -EAGAIN ? 0 : ret;
}

/*
 * `drain V`: blocking receives until the end of the stream: "eof" with data_ok (every byte
 * the pattern the other side sent), or the error that ended it.
 */
static long do_drain(struct runner *r, const struct cf_step *st, int s)
{
	uint64_t total = 0;
	bool ok = true;
	long ret;

	do {
		ret = tl_recv(r->st, s, r->in, FILL_CHUNK, 0);
		if (ret > 0) {
			ok = ok && hx_pattern_check(&r->pattern, r->in, (size_t)ret,
						    r->rx_off[st->sock]);
			r->rx_off[st->sock] += (uint64_t)ret;
			total += (uint64_t)ret;
		}
	} while (ret > 0 && total < FILL_MAX);
	if (ret == 0)
		hx_json_str(&r->j, "ret", "eof");
	else if (ret > 0)
		hx_json_str(&r->j, "ret", "no end");
	else
		ret_field(r, ret, false);
	hx_json_bool(&r->j, "data_ok", ok);
	return ret;
}

/* `V = handle N`: V names handle N as it is, one no call returned, for the EBADF cases. */
static long do_handle(struct runner *r, const struct cf_step *st)
{
	r->handles[st->dst] = (int)st->n;
	r->tx_off[st->dst] = r->rx_off[st->dst] = 0;
	hx_json_int(&r->j, "ret", st->n);
	return 0;
}

static long exec_call(struct runner *r, const struct cf_step *st)
{
	int s = st->sock >= 0 ? r->handles[st->sock] : -1;

	switch (st->op) {
	case CF_SOCKET: return do_socket(r, st);
	case CF_ACCEPT: return do_accept(r, st, s);
	case CF_BIND:
	case CF_CONNECT: return do_addr(r, st, s);
	case CF_SEND:
	case CF_SENDV: return do_send(r, st, s);
	case CF_RECV:
	case CF_RECVV: return do_recv(r, st, s);
	case CF_SETSOCKOPT: return do_setsockopt(r, st, s);
	case CF_GETSOCKOPT: return do_getsockopt(r, st, s);
	case CF_GETSOCKNAME:
	case CF_GETPEERNAME: return do_name(r, st, s);
	case CF_POLL: return do_poll(r, st, s);
	case CF_ACKED: return do_acked(r, s);
	case CF_FILL: return do_fill(r, st, s);
	case CF_DRAIN: return do_drain(r, st, s);
	case CF_HANDLE: return do_handle(r, st);
	default: return do_simple(r, st, s);
	}
}

static const char *const op_names[] = {
	"socket", "bind", "listen", "accept", "connect", "send", "recv", "sendv", "recvv",
	"shutdown", "close", "setsockopt", "getsockopt", "getsockname", "getpeername",
	"nonblock", "poll", "available", "signal", "wait", "acked", "fill", "drain", "handle",
	"getfl",
};

/*
 * A call, timed when the case says `took MIN MAX`: "took": "ok" within the bounds, else the
 * milliseconds it took (compared with the kernel's "ok", a difference).
 */
static void exec_timed(struct runner *r, const struct cf_step *st)
{
	int64_t t0 = hx_now_ns(), ms;
	char text[48];

	exec_call(r, st);
	if (!st->timed)
		return;
	ms = (hx_now_ns() - t0) / 1000000;
	if (ms >= st->took_min_ms && ms <= st->took_max_ms)
		snprintf(text, sizeof(text), "ok");
	else
		snprintf(text, sizeof(text), "%lld ms, not %lld-%lld", (long long)ms,
			 (long long)st->took_min_ms, (long long)st->took_max_ms);
	hx_json_str(&r->j, "took", text);
}

/* One step: a call traced as one line, or a signal/wait for the orchestrator. */
static int run_step(struct runner *r, const struct cf_step *st)
{
	hx_json_init(&r->j, stdout, false);
	hx_json_obj_begin(&r->j, NULL);
	if (st->op == CF_SIGNAL) {
		hx_json_str(&r->j, "signal", st->text);
	} else if (st->op == CF_WAIT) {
		long ret = do_wait(r, st->text, st->n);

		hx_json_str(&r->j, "waited", st->text);
		if (ret < 0) {
			hx_json_str(&r->j, "err", ret == -ETIMEDOUT ? "timeout" : "no orchestrator");
			hx_json_obj_end(&r->j);
			printf("\n");
			fflush(stdout);
			return -1;
		}
	} else {
		hx_json_uint(&r->j, "line", st->line);
		hx_json_str(&r->j, "op", op_names[st->op]);
		if (st->op == CF_SETSOCKOPT || st->op == CF_GETSOCKOPT)
			hx_json_str(&r->j, "option", st->text);
		exec_timed(r, st);
	}
	hx_json_obj_end(&r->j);
	printf("\n");
	fflush(stdout);
	return 0;
}

/* ---- the command ---- */

struct case_opts {
	const char *path;
	const char *side;
	const char *backend;
	const char *run_id;
	const char *sut_addr;
	const char *peer_addr;
	const char *opts[HX_CLI_MAX_OPTS];
	unsigned int n_opts;
	bool check;
};

static int run_side(const struct case_opts *o, const struct cf_side *cs)
{
	struct tl_stack_params p = {
		.role = strcmp(o->side, "sut") == 0 ? TL_ROLE_SERVER : TL_ROLE_CLIENT,
		.run_id = o->run_id, .opts = o->opts, .n_opts = o->n_opts,
		.cpu = tl_auto_cpu(strcmp(o->side, "sut") == 0 ? TL_ROLE_SERVER : TL_ROLE_CLIENT),
	};
	struct runner *r = calloc(1, sizeof(*r));
	char err[512];
	unsigned int i;
	int code = HX_EXIT_USAGE;

	if (r == NULL)
		return HX_EXIT_USAGE;
	r->cs = cs;
	inet_pton(AF_INET, o->sut_addr, &r->sut);
	inet_pton(AF_INET, o->peer_addr, &r->peer);
	hx_pattern_init(&r->pattern);
	r->out = malloc(BUF_MAX + HX_PATTERN_PERIOD);
	r->in = malloc(BUF_MAX);
	if (r->out == NULL || r->in == NULL)
		goto out_free;
	for (i = 0; i < BUF_MAX + HX_PATTERN_PERIOD; i++)
		r->out[i] = (uint8_t)(i % HX_PATTERN_PERIOD);
	for (i = 0; i < CF_MAX_VARS; i++)
		r->handles[i] = -1;
	r->st = tl_stack_create(o->backend, &p, err, sizeof(err));
	if (r->st == NULL) {
		fprintf(stderr, "tcplab case: backend %s: %s\n", o->backend, err);
		goto out_free;
	}
	/* A tap backend addresses the peer's end of its link while it starts: the orchestrator
	 * starts the peer only after this line. */
	printf("{\"event\":\"ready\"}\n");
	fflush(stdout);
	code = HX_EXIT_PASS;
	for (i = 0; i < cs->n_steps && code == HX_EXIT_PASS && !hx_stop; i++)
		if (run_step(r, &cs->steps[i]) < 0)
			code = HX_EXIT_FAIL;
	tl_stack_free(r->st);
out_free:
	free(r->out);
	free(r->in);
	free(r);
	return code;
}

static const struct option long_opts[] = {
	{ "side", required_argument, NULL, 's' },
	{ "backend", required_argument, NULL, 'b' },
	{ "run-id", required_argument, NULL, 'r' },
	{ "sut-addr", required_argument, NULL, 'S' },
	{ "peer-addr", required_argument, NULL, 'P' },
	{ "stack-opt", required_argument, NULL, 'o' },
	{ "check", no_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int check_addr(const char *flag, const char *a)
{
	struct in_addr in;

	if (inet_pton(AF_INET, a, &in) == 1)
		return 0;
	fprintf(stderr, "tcplab case: %s '%s': expected an IPv4 address\n", flag, a);
	return -EINVAL;
}

/*
 * Addresses not given: those of the topology conformance runs this backend in (a Linux peer
 * on the engine side, the backend as the SUT, in namespaces: topology.h).
 */
static int default_addrs(struct case_opts *o)
{
	const struct hx_topology *t;

	if (o->sut_addr != NULL && o->peer_addr != NULL)
		return 0;
	t = hx_topology_linux_peer(tl_backend_find(o->backend)->attach);
	if (t == NULL || t->plan == NULL) {
		fprintf(stderr, "tcplab case: no topology has a Linux peer facing backend %s: give "
			"--sut-addr and --peer-addr\n", o->backend);
		return -EINVAL;
	}
	if (o->sut_addr == NULL)
		o->sut_addr = t->plan->addr[HX_SIDE_SUT];
	if (o->peer_addr == NULL)
		o->peer_addr = t->plan->addr[HX_SIDE_ENGINE];
	return 0;
}

static int parse_case_args(struct case_opts *o, int argc, char **argv)
{
	int c;

	while ((c = hx_cli_getopt(argc, argv, long_opts, "", "case")) != -1) {
		switch (c) {
		case 's': o->side = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'r': o->run_id = optarg; break;
		case 'S': o->sut_addr = optarg; break;
		case 'P': o->peer_addr = optarg; break;
		case 'c': o->check = true; break;
		case 'o':
			if (hx_cli_add_opt(o->opts, &o->n_opts, optarg, "--stack-opt") < 0)
				return -EINVAL;
			break;
		case 'h':
			printf("usage: tcplab case FILE --side sut|peer [--backend NAME] "
			       "[--sut-addr A] [--peer-addr A] [--run-id ID] [--stack-opt K=V]... "
			       "[--check]\n");
			exit(HX_EXIT_PASS);
		default: return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tcplab case: expected one case FILE\n");
		return -EINVAL;
	}
	o->path = argv[optind];
	if (o->side == NULL || (strcmp(o->side, "sut") && strcmp(o->side, "peer"))) {
		fprintf(stderr, "tcplab case: --side must be sut or peer\n");
		return -EINVAL;
	}
	if (hx_cli_check_backend(o->backend, "tcplab case") < 0 || default_addrs(o) < 0)
		return -EINVAL;
	if (check_addr("--sut-addr", o->sut_addr) < 0 || check_addr("--peer-addr", o->peer_addr))
		return -EINVAL;
	return 0;
}

int hx_cmd_case(int argc, char **argv)
{
	struct case_opts o = { .run_id = "case" };
	struct cf_side *cs;
	char err[512];
	int code;

	o.backend = hx_cli_default_backend(TL_ATTACH_SOCKETS);	/* the Linux reference */
	if (parse_case_args(&o, argc, argv) < 0)
		return HX_EXIT_USAGE;
	cs = malloc(sizeof(*cs));
	if (cs == NULL)
		return HX_EXIT_USAGE;
	if (cf_side_load(cs, o.path, o.side, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		free(cs);
		return HX_EXIT_USAGE;
	}
	hx_signals_init();
	code = o.check ? HX_EXIT_PASS : run_side(&o, cs);
	free(cs);
	return code;
}
