/* SPDX-License-Identifier: MIT */
/*
 * conform.c - parse one side of a conformance case (conform.h); the runner is in
 * conform_run.c. Parsing is all-or-nothing with "file:line: message" errors, like scenarios.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conform.h"
#include "conform_pvt.h"

#define MAX_WORDS 12

struct cparser {
	struct cf_side *cs;
	const char *path;
	unsigned int line;
	char *err;
	size_t errlen;
};

static const struct cf_option options[] = {
	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, CF_OPT_INT },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, CF_OPT_INT },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, CF_OPT_INT },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, CF_OPT_INT },
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER, CF_OPT_LINGER },
	{ "SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, CF_OPT_TIMEVAL },
	{ "SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, CF_OPT_TIMEVAL },
	{ "SO_ERROR", SOL_SOCKET, SO_ERROR, CF_OPT_INT },
	{ "SO_TYPE", SOL_SOCKET, SO_TYPE, CF_OPT_INT },
	{ "IP_TTL", IPPROTO_IP, IP_TTL, CF_OPT_INT },
	{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, CF_OPT_INT },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, CF_OPT_INT },
	{ "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, CF_OPT_INT },
	{ "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, CF_OPT_INT },
	{ "TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, CF_OPT_INT },
	{ "TCP_CORK", IPPROTO_TCP, TCP_CORK, CF_OPT_INT },
	{ "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, CF_OPT_INT },
	{ "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, CF_OPT_INT },
	{ "SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE, CF_OPT_INT },
	{ "IP_TOS", IPPROTO_IP, IP_TOS, CF_OPT_INT },
	{ "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, CF_OPT_INT },
	{ "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, CF_OPT_INT },
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, CF_OPT_INT },
	{ "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, CF_OPT_INT },
	{ "TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT, CF_OPT_INT },
	{ "TCP_LINGER2", IPPROTO_TCP, TCP_LINGER2, CF_OPT_INT },
	{ "TCP_WINDOW_CLAMP", IPPROTO_TCP, TCP_WINDOW_CLAMP, CF_OPT_INT },
	{ "TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, CF_OPT_INT },
	{ "TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, CF_OPT_INT },
	/* an option no stack has, for the ENOPROTOOPT case */
	{ "TCP_UNKNOWN", IPPROTO_TCP, 9999, CF_OPT_INT },
	{ NULL, 0, 0, CF_OPT_INT },
};

static const char *const ops =
	"socket, bind, listen, accept, connect, send, recv, sendv, recvv, shutdown, close, "
	"setsockopt, getsockopt, getsockname, getpeername, nonblock, poll, available, "
	"signal, wait, acked, fill, drain, handle, getfl";

const struct cf_option *cf_option_find(int level, int name)
{
	unsigned int i;

	for (i = 0; options[i].text != NULL; i++)
		if (options[i].level == level && options[i].name == name)
			return &options[i];
	return NULL;
}

static int fail(struct cparser *p, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->path, p->line);
	va_list ap;

	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int var_find(struct cparser *p, const char *name, bool create)
{
	struct cf_side *cs = p->cs;
	unsigned int i;

	for (i = 0; i < cs->n_vars; i++)
		if (strcmp(cs->vars[i], name) == 0)
			return (int)i;
	if (!create)
		return fail(p, "unknown socket '%s' (assign it first: '%s = socket')", name, name);
	if (cs->n_vars == CF_MAX_VARS || strlen(name) >= CF_NAME_MAX)
		return fail(p, "too many sockets or name too long: '%s'", name);
	snprintf(cs->vars[cs->n_vars], CF_NAME_MAX, "%s", name);
	return (int)cs->n_vars++;
}

static int parse_int(struct cparser *p, const char *s, int64_t min, int64_t max, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || *v < min || *v > max)
		return fail(p, "'%s' is not a number from %lld to %lld", s, (long long)min,
			    (long long)max);
	return 0;
}

/* sut:PORT, peer:PORT, any:PORT */
static int parse_addr(struct cparser *p, const char *s, struct cf_step *st)
{
	static const char *const hosts[] = { "sut", "peer", "any" };
	const char *colon = strchr(s, ':');
	unsigned int i;
	int64_t port;

	if (colon == NULL)
		return fail(p, "'%s' is not an address (sut:PORT, peer:PORT or any:PORT)", s);
	for (i = 0; i < 3; i++)
		if (strncmp(s, hosts[i], (size_t)(colon - s)) == 0 &&
		    strlen(hosts[i]) == (size_t)(colon - s))
			break;
	if (i == 3)
		return fail(p, "unknown host in '%s' (valid: sut, peer, any)", s);
	st->host = (enum cf_host)i;
	if (parse_int(p, colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	st->port = (unsigned int)port;
	return 0;
}

static int parse_option(struct cparser *p, const char *s, struct cf_step *st)
{
	char valid[512];
	size_t at = 0;
	unsigned int i;

	for (i = 0; options[i].text != NULL; i++) {
		if (strcmp(options[i].text, s) == 0) {
			st->level = options[i].level;
			st->name = options[i].name;
			snprintf(st->text, sizeof(st->text), "%s", s);
			return 0;
		}
	}
	valid[0] = '\0';
	for (i = 0; options[i].text != NULL && at < sizeof(valid); i++)
		at += (size_t)snprintf(valid + at, sizeof(valid) - at, "%s%s", i ? ", " : "",
				       options[i].text);
	return fail(p, "unknown option '%s' (valid: %s)", s, valid);
}

/* MSG_* flags of send and recv, by the name a case gives them */
static const struct { const char *name; int flag; } msg_flags[] = {
	{ "peek", MSG_PEEK }, { "dontwait", MSG_DONTWAIT }, { "waitall", MSG_WAITALL },
	{ "oob", MSG_OOB }, { "more", MSG_MORE },
};

static int parse_msg_flags(struct cparser *p, char **w, unsigned int n, int *flags)
{
	unsigned int i, f;

	for (i = 0; i < n; i++) {
		for (f = 0; f < sizeof(msg_flags) / sizeof(msg_flags[0]); f++)
			if (strcmp(w[i], msg_flags[f].name) == 0)
				break;
		if (f == sizeof(msg_flags) / sizeof(msg_flags[0]))
			return fail(p, "unknown flag '%s' (valid: peek, dontwait, waitall, oob, "
				    "more)", w[i]);
		*flags |= msg_flags[f].flag;
	}
	return 0;
}

static int parse_iov(struct cparser *p, char **w, unsigned int n, struct cf_step *st)
{
	unsigned int i;
	int64_t v;

	if (n == 0 || n > CF_MAX_IOV)
		return fail(p, "%s: expected 1 to %d buffer sizes", w[-2], CF_MAX_IOV);
	for (i = 0; i < n; i++) {
		if (parse_int(p, w[i], 0, 1 << 20, &v) < 0)
			return -EINVAL;
		st->iov[i] = (uint32_t)v;
		st->n += v;
	}
	st->n_iov = n;
	return 0;
}

static int parse_shutdown(struct cparser *p, const char *s, struct cf_step *st)
{
	if (strcmp(s, "rd") == 0)
		st->flags = SHUT_RD;
	else if (strcmp(s, "wr") == 0)
		st->flags = SHUT_WR;
	else if (strcmp(s, "rdwr") == 0)
		st->flags = SHUT_RDWR;
	else
		return fail(p, "shutdown: '%s' is not rd, wr or rdwr", s);
	return 0;
}

/* poll's events: in, out, inout, rdhup, pri, joined with '+' (in+rdhup); none asks for nothing
 * (errors and hangups need no asking). */
static int parse_poll(struct cparser *p, char **w, unsigned int n, struct cf_step *st)
{
	static const struct { const char *name; short ev; } evs[] = {
		{ "in", POLLIN }, { "out", POLLOUT }, { "inout", POLLIN | POLLOUT },
		{ "rdhup", POLLRDHUP }, { "pri", POLLPRI }, { "none", 0 },
	};
	char events[CF_NAME_MAX], *tok, *save = NULL;
	unsigned int i;

	if (n != 2 || strlen(w[0]) >= sizeof(events))
		return fail(p, "poll: expected 'poll SOCK EVENTS TIMEOUT_MS' (EVENTS: in, out, "
			    "inout, rdhup, pri joined with '+', or none)");
	snprintf(events, sizeof(events), "%s", w[0]);
	st->flags = 0;
	for (tok = strtok_r(events, "+", &save); tok != NULL; tok = strtok_r(NULL, "+", &save)) {
		for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
			if (strcmp(tok, evs[i].name) == 0)
				break;
		if (i == sizeof(evs) / sizeof(evs[0]))
			return fail(p, "poll: '%s' is not in, out, inout, rdhup, pri or none", tok);
		st->flags |= evs[i].ev;
	}
	return parse_int(p, w[1], 0, 10000, &st->n);
}

static int parse_setsockopt(struct cparser *p, char **w, unsigned int n, struct cf_step *st)
{
	if (n != 2)
		return fail(p, "setsockopt: expected 'setsockopt SOCK OPTION VALUE'");
	if (parse_option(p, w[0], st) < 0)
		return -EINVAL;
	if (strcmp(w[1], "off") == 0) {	/* SO_LINGER off */
		st->n = -1;
		return 0;
	}
	return parse_int(p, w[1], 0, INT32_MAX, &st->n);
}

/* Arguments after the op and its socket: w[0..n). */
static int parse_args(struct cparser *p, struct cf_step *st, char **w, unsigned int n)
{
	int64_t v;

	switch (st->op) {
	case CF_SOCKET:
		if (n == 1 && strcmp(w[0], "nonblock") == 0)
			st->flags = SOCK_NONBLOCK;
		return n == 0 || st->flags ? 0 : fail(p, "socket: expected nothing or nonblock");
	case CF_HANDLE:
		return n == 1 ? parse_int(p, w[0], 0, 65535, &st->n) : fail(p, "expected a number");
	case CF_BIND:
	case CF_CONNECT:
		return n == 1 ? parse_addr(p, w[0], st) : fail(p, "expected one address");
	case CF_LISTEN:
		return n == 1 ? parse_int(p, w[0], 0, 4096, &st->n) : fail(p, "expected a backlog");
	case CF_SEND:
	case CF_RECV:
		if (n < 1 || parse_int(p, w[0], 0, 16 << 20, &st->n) < 0)
			return n < 1 ? fail(p, "expected a byte count") : -EINVAL;
		return parse_msg_flags(p, w + 1, n - 1, &st->flags);
	case CF_SENDV:
	case CF_RECVV:
		return parse_iov(p, w, n, st);
	case CF_SHUTDOWN:
		return n == 1 ? parse_shutdown(p, w[0], st) : fail(p, "expected rd, wr or rdwr");
	case CF_SETSOCKOPT:
		return parse_setsockopt(p, w, n, st);
	case CF_GETSOCKOPT:
		return n == 1 ? parse_option(p, w[0], st) : fail(p, "expected an option name");
	case CF_NONBLOCK:
		if (n != 1 || (strcmp(w[0], "on") && strcmp(w[0], "off")))
			return fail(p, "nonblock: expected on or off");
		st->n = strcmp(w[0], "on") == 0;
		return 0;
	case CF_POLL:
		return parse_poll(p, w, n, st);
	case CF_SIGNAL:
	case CF_WAIT:
		/* `wait NAME [MS]`: at most MS ms (default 10 s); the .pkt runner's scripts
		 * may pause longer between two calls */
		if (n < 1 || n > (st->op == CF_WAIT ? 2u : 1u) || strlen(w[0]) >= CF_NAME_MAX)
			return fail(p, st->op == CF_WAIT ? "expected a name and an optional timeout "
				    "in ms" : "expected one name");
		snprintf(st->text, sizeof(st->text), "%s", w[0]);
		st->n = 0;
		return n == 2 ? parse_int(p, w[1], 1, 600000, &st->n) : 0;
	default:
		(void)v;
		return n == 0 ? 0 : fail(p, "unexpected argument '%s'", w[0]);
	}
}

static const struct {
	const char *name;
	enum cf_op op;
	bool needs_sock;
	bool assigns;
} op_table[] = {
	{ "socket", CF_SOCKET, false, true }, { "bind", CF_BIND, true, false },
	{ "listen", CF_LISTEN, true, false }, { "accept", CF_ACCEPT, true, true },
	{ "connect", CF_CONNECT, true, false }, { "send", CF_SEND, true, false },
	{ "recv", CF_RECV, true, false }, { "sendv", CF_SENDV, true, false },
	{ "recvv", CF_RECVV, true, false }, { "shutdown", CF_SHUTDOWN, true, false },
	{ "close", CF_CLOSE, true, false }, { "setsockopt", CF_SETSOCKOPT, true, false },
	{ "getsockopt", CF_GETSOCKOPT, true, false },
	{ "getsockname", CF_GETSOCKNAME, true, false },
	{ "getpeername", CF_GETPEERNAME, true, false },
	{ "nonblock", CF_NONBLOCK, true, false }, { "poll", CF_POLL, true, false },
	{ "available", CF_AVAILABLE, true, false }, { "signal", CF_SIGNAL, false, false },
	{ "wait", CF_WAIT, false, false }, { "acked", CF_ACKED, true, false },
	{ "fill", CF_FILL, true, false }, { "drain", CF_DRAIN, true, false },
	{ "handle", CF_HANDLE, false, true }, { "getfl", CF_GETFL, true, false },
};

/* A trailing `took MIN MAX`: the call must last MIN to MAX ms. Returns the words left. */
static int parse_took(struct cparser *p, struct cf_step *st, char **w, unsigned int n)
{
	if (n < 4 || strcmp(w[n - 3], "took") != 0)
		return (int)n;
	if (parse_int(p, w[n - 2], 0, 60000, &st->took_min_ms) < 0 ||
	    parse_int(p, w[n - 1], st->took_min_ms, 60000, &st->took_max_ms) < 0)
		return -EINVAL;
	if (st->op == CF_SIGNAL || st->op == CF_WAIT)
		return fail(p, "%s: 'took' times a call, not an ordering step", w[0]);
	st->timed = true;
	return (int)n - 3;
}

static int parse_step(struct cparser *p, char **w, unsigned int n)
{
	struct cf_step *st;
	const char *dst = NULL;
	unsigned int i;
	int v;

	if (n >= 3 && strcmp(w[1], "=") == 0) {
		dst = w[0];
		w += 2;
		n -= 2;
	}
	for (i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (strcmp(op_table[i].name, w[0]) == 0)
			break;
	if (i == sizeof(op_table) / sizeof(op_table[0]))
		return fail(p, "unknown call '%s' (valid: %s)", w[0], ops);
	if (p->cs->n_steps == CF_MAX_STEPS)
		return fail(p, "more than %d calls", CF_MAX_STEPS);
	st = &p->cs->steps[p->cs->n_steps];
	memset(st, 0, sizeof(*st));
	st->op = op_table[i].op;
	st->line = p->line;
	st->dst = st->sock = -1;
	v = parse_took(p, st, w, n);
	if (v < 0)
		return -EINVAL;
	n = (unsigned int)v;
	if (op_table[i].assigns != (dst != NULL))
		return fail(p, dst ? "'%s' returns nothing to assign" : "'%s' needs 'VAR = %s ...'",
			    w[0], w[0]);
	if (op_table[i].needs_sock) {
		if (n < 2)
			return fail(p, "%s: expected a socket variable", w[0]);
		v = var_find(p, w[1], false);
		if (v < 0)
			return -EINVAL;
		st->sock = v;
		w++;
		n--;
	}
	if (parse_args(p, st, w + 1, n - 1) < 0)
		return -EINVAL;
	if (dst != NULL && (v = var_find(p, dst, true)) < 0)
		return -EINVAL;
	if (dst != NULL)
		st->dst = v;
	p->cs->n_steps++;
	return 0;
}

static unsigned int split(char *line, char **w)
{
	unsigned int n = 0;
	char *s = line;

	while (n < MAX_WORDS) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		w[n++] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	return n;
}

static int parse_text(struct cparser *p, char *text, const char *side)
{
	char *line, *next, *w[MAX_WORDS];
	bool in = false, found = false;
	unsigned int n;
	int r = 0;

	for (line = text; line != NULL && r == 0; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else if (*line == '\0')
			break;	/* the text ended with a newline */
		p->line++;
		n = split(line, w);
		if (n == 0)
			continue;
		if (!in) {
			if (n == 2 && strcmp(w[0], side) == 0 && strcmp(w[1], "{") == 0)
				in = found = true;
			continue;	/* other sides and directives: read by the orchestrator */
		}
		if (n == 1 && strcmp(w[0], "}") == 0)
			in = false;
		else if (n == MAX_WORDS)
			r = fail(p, "too many words on one line");
		else
			r = parse_step(p, w, n);
	}
	if (r == 0 && in)
		r = fail(p, "end of file inside the '%s' block (missing '}')", side);
	if (r == 0 && !found) {
		p->line = 1;
		r = fail(p, "no '%s { ... }' block", side);
	}
	return r;
}

int cf_side_parse(struct cf_side *cs, const char *path, const char *text, const char *side,
		  char *err, size_t errlen)
{
	struct cparser p = { .cs = cs, .path = path, .err = err, .errlen = errlen };
	char *buf = strdup(text);
	int r;

	memset(cs, 0, sizeof(*cs));
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r = parse_text(&p, buf, side);
	free(buf);
	return r;
}

int cf_side_load(struct cf_side *cs, const char *path, const char *side, char *err,
		 size_t errlen)
{
	struct cparser p = { .cs = cs, .path = path, .err = err, .errlen = errlen };
	FILE *f = fopen(path, "r");
	char *text;
	long len;
	int r;

	memset(cs, 0, sizeof(*cs));
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || len > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) < 0 || (text = calloc(1, (size_t)len + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: unreadable or larger than 1 MiB", path);
		return -EINVAL;
	}
	if (fread(text, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, errlen, "%s: short read", path);
		r = -EIO;
	} else {
		r = parse_text(&p, text, side);
	}
	free(text);
	fclose(f);
	return r;
}
