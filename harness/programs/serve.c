/* SPDX-License-Identifier: MIT */
/*
 * serve.c - `tcplab serve PROGRAM`: the SUT side of a run. It listens on the transport,
 * signals readiness with one JSON line on stdout, and runs a program (programs.c) on every
 * connection it accepts. stdin is its control channel, one command per line:
 *
 *   stats   reply with a JSON stats line once every connection has closed (or after 3 s)
 *   quit    print final stats and exit (end of stdin does the same, so a SUT whose
 *           harness died never outlives it)
 *   sockopt NAME VALUE   set a socket option on every connection accepted or opened from
 *           now on (NAME: TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 *           TCP_KEEPCNT); `sockopt reset` restores the default (TCP_NODELAY 1 alone).
 *           Answered with {"event":"sockopt",...}: what the packet checks use to see
 *           Nagle and keep-alives on the wire
 *   connect ADDR:PORT   open a connection actively and run the program on it as on an
 *           accepted one; answered with {"event":"connect","ret":0 or -errno} once the
 *           call returns (a refused or unanswered connection then just closes)
 *
 * Flow: parse flags -> create stack -> listen -> {"event":"ready",...} -> loop { wait for
 * the listener and connections; accept; program->ready; control } -> final stats -> exit.
 *
 * The wait: where the stack offers a wait set (tl_ops.ws_*), the listener and each connection
 * are registered once, their events changed only when the program's change, and a pass costs
 * what is ready; otherwise every pass hands tl_poll the listener and every connection. Both
 * wait 10 ms at most, for the control channel. The stats say which ("wait") and what it cost
 * ("ready_waits", "wait_entries").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "json.h"
#include "programs.h"
#include "topology.h"

#define CONTROL_EVERY_NS (10 * 1000 * 1000)
#define CONTROL_BUSY_PASSES 64
#define STATS_WAIT_NS (INT64_C(3) * 1000 * 1000 * 1000)
#define SERVE_MAX_COUNTERS 128	/* a DPDK stack's port, impairment and own counters */
#define WAIT_MS 10
#define WS_EVENTS 256		/* events one wait-set call takes; the rest come next pass */
#define LISTENER_COOKIE UINT64_MAX	/* a connection's is its socket << 32 | its slot */

struct serve_opts {
	const char *program;
	const char *backend;
	const char *topology;
	const char *listen;
	const char *run_id;
	const char *opts[HX_CLI_MAX_OPTS];	/* the user's --stack-opt */
	unsigned int n_opts;
	int cpu;
	int conns;		/* --conns: tl_stack_params.conns */
	int forever;
	int errors_json;	/* --errors-json: a start failure is a JSON line on stdout */
	const struct hx_topology *topo;
	enum tl_attach kind;
	char listen_buf[64];
};

/* The socket options `sockopt` sets for the connections to come (-1: not set). */
enum { CO_NODELAY, CO_KA, CO_KA_IDLE, CO_KA_INTVL, CO_KA_CNT, N_CONN_OPTS };

static const struct {
	const char *name;
	int level;
	int opt;
	int dflt;
} conn_opts[N_CONN_OPTS] = {
	[CO_NODELAY] = { "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1 },
	[CO_KA] = { "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, -1 },
	[CO_KA_IDLE] = { "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, -1 },
	[CO_KA_INTVL] = { "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, -1 },
	[CO_KA_CNT] = { "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, -1 },
};

struct control {
	int opts[N_CONN_OPTS];	/* for each of conn_opts, the value to set, or -1 */
	char line[256];
	size_t len;
	int64_t next_check;
	int64_t stats_due;	/* 0: no stats request pending */
	unsigned int busy;	/* passes with something ready since the clock was read */
	bool eof;
};

/* The stack's own counters (drops, connections, mbufs in use), so leaks show on the SUT side
 * too: a fuzzed SUT is judged by them. */
static void stack_counters(const struct hx_serve *sv, struct hx_json *j)
{
	struct tl_counter c[SERVE_MAX_COUNTERS];
	unsigned int i, n;

	n = sv->st->ops->counters(sv->st, c, SERVE_MAX_COUNTERS);
	hx_json_obj_begin(j, "stack");
	for (i = 0; i < n && i < SERVE_MAX_COUNTERS; i++)
		hx_json_uint(j, c[i].name, c[i].value);
	hx_json_obj_end(j);
}

static void print_event(const struct hx_serve *sv, const char *event)
{
	char cpus[64];
	struct hx_json j;

	hx_json_init(&j, stdout, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_str(&j, "event", event);
	hx_json_str(&j, "program", sv->prog->name);
	hx_json_uint(&j, "accepted", sv->stats.accepted);
	hx_json_uint(&j, "open", sv->stats.open);
	hx_json_uint(&j, "bytes_in", sv->stats.bytes_in);
	hx_json_uint(&j, "bytes_out", sv->stats.bytes_out);
	hx_json_uint(&j, "mismatches", sv->stats.mismatches);
	hx_json_uint(&j, "resets", sv->stats.resets);
	hx_json_str(&j, "wait", sv->ws >= 0 ? "wait_set" : "poll");
	hx_json_uint(&j, "ready_waits", sv->stats.ready_waits);
	hx_json_uint(&j, "wait_entries", sv->stats.wait_entries);
	hx_cpu_list(cpus, sizeof(cpus));
	hx_json_str(&j, "affinity", cpus);	/* where it ran: the result's params.cpus */
	stack_counters(sv, &j);
	hx_json_obj_end(&j);
	fputc('\n', stdout);
	fflush(stdout);
}

static void print_ready(const struct hx_serve *sv, const struct sockaddr_storage *ss)
{
	char host[64];
	unsigned int port;
	struct hx_json j;

	hx_format_addr(ss, host, sizeof(host), &port);
	hx_json_init(&j, stdout, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_str(&j, "event", "ready");
	hx_json_str(&j, "program", sv->prog->name);
	hx_json_str(&j, "backend", sv->st->ops->name);
	hx_json_str(&j, "addr", host);
	hx_json_uint(&j, "port", port);
	hx_json_int(&j, "pid", getpid());
	hx_json_str(&j, "wait", sv->ws >= 0 ? "wait_set" : "poll");
	hx_json_obj_end(&j);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ---- connections ---- */

static struct hx_sconn *conn_slot(struct hx_serve *sv)
{
	struct hx_sconn *c;
	unsigned int i;

	for (i = 0; i < sv->n_conns; i++)
		if (sv->conns[i].s < 0)
			return &sv->conns[i];
	if (sv->n_conns == sv->cap) {
		unsigned int cap = sv->cap ? sv->cap * 2 : 16;

		c = realloc(sv->conns, cap * sizeof(*c));
		if (c == NULL)
			return NULL;
		sv->conns = c;
		sv->cap = cap;
	}
	c = &sv->conns[sv->n_conns++];
	memset(c, 0, sizeof(*c));
	c->s = -1;
	return c;
}

/*
 * Have the wait set report @p c for the events its program waits for now: registered once,
 * changed only when they change (a request/response keeps POLLIN: no call per message).
 */
static int conn_watch(struct hx_serve *sv, struct hx_sconn *c)
{
	short ev = sv->prog->events(c);
	uint64_t cookie = (uint64_t)(uint32_t)c->s << 32 | (uint64_t)(c - sv->conns);
	int r;

	if (sv->ws < 0 || (c->watched && ev == c->ws_events))
		return 0;
	r = tl_ws_ctl(sv->st, sv->ws, c->watched ? TL_WS_MOD : TL_WS_ADD, c->s,
		      (uint16_t)ev, cookie);
	if (r < 0) {
		fprintf(stderr, "tcplab serve: wait set: %s of socket %d: %s\n",
			c->watched ? "modify" : "add", c->s, strerror(-r));
		return r;
	}
	c->watched = true;
	c->ws_events = ev;
	return 0;
}

/* Closing the socket takes it out of the wait set (tl_ops.ws_ctl). */
static void conn_close(struct hx_serve *sv, struct hx_sconn *c, bool error)
{
	tl_close(sv->st, c->s);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->s = -1;
	sv->stats.open--;
	if (error)
		sv->stats.resets++;
}

/* Serve socket @p s from now on, with the options the control channel set; false: no room. */
static bool conn_add(struct hx_serve *sv, const struct control *ctl, int s)
{
	struct hx_sconn *c = conn_slot(sv);
	unsigned int i;

	if (c == NULL || (c->buf = malloc(HX_SERVE_BUF)) == NULL) {
		fprintf(stderr, "tcplab serve: out of memory, dropping a connection\n");
		tl_close(sv->st, s);
		return false;
	}
	c->s = s;
	tl_set_nonblock(sv->st, s, true);
	for (i = 0; i < N_CONN_OPTS; i++)
		if (ctl->opts[i] >= 0)
			tl_setsockopt_int(sv->st, s, conn_opts[i].level, conn_opts[i].opt,
					  ctl->opts[i]);
	sv->stats.open++;
	if (conn_watch(sv, c) < 0) {
		conn_close(sv, c, false);
		return false;
	}
	return true;
}

static void accept_all(struct hx_serve *sv, const struct control *ctl, int listener)
{
	int s;

	for (;;) {
		s = tl_accept(sv->st, listener, NULL, NULL);
		if (s < 0) {
			if (s != -EAGAIN)
				fprintf(stderr, "tcplab serve: accept: %s\n", strerror(-s));
			return;
		}
		if (conn_add(sv, ctl, s))
			sv->stats.accepted++;
	}
}

/* ---- control channel ---- */

static void print_reply(const char *event, const char *key, const char *text, long ret)
{
	struct hx_json j;

	hx_json_init(&j, stdout, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_str(&j, "event", event);
	hx_json_str(&j, key, text);
	hx_json_int(&j, "ret", ret);
	hx_json_obj_end(&j);
	fputc('\n', stdout);
	fflush(stdout);
}

static void control_defaults(struct control *ctl)
{
	unsigned int i;

	for (i = 0; i < N_CONN_OPTS; i++)
		ctl->opts[i] = conn_opts[i].dflt;
}

/* `sockopt NAME VALUE` or `sockopt reset`: 0, or -EINVAL for a name or value not taken. */
static int control_sockopt(struct control *ctl, const char *arg)
{
	char name[32];
	unsigned int i;
	int value;

	if (strcmp(arg, "reset") == 0) {
		control_defaults(ctl);
		return 0;
	}
	if (sscanf(arg, "%31s %d", name, &value) != 2 || value < 0)
		return -EINVAL;
	for (i = 0; i < N_CONN_OPTS; i++)
		if (strcmp(name, conn_opts[i].name) == 0) {
			ctl->opts[i] = value;
			return 0;
		}
	return -EINVAL;
}

/* `connect ADDR:PORT`: a non-blocking active open, served as an accepted connection is. */
static int control_connect(struct hx_serve *sv, const struct control *ctl, const char *arg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int s, r;

	if (hx_parse_addr(arg, &ss, &len) < 0)
		return -EINVAL;
	s = tl_socket(sv->st);
	if (s < 0)
		return s;
	if (!conn_add(sv, ctl, s))
		return -ENOMEM;
	r = tl_connect(sv->st, s, (struct sockaddr *)&ss, len);
	return r == -EINPROGRESS ? 0 : r;
}

static void control_command(struct hx_serve *sv, struct control *ctl, const char *cmd)
{
	if (strcmp(cmd, "stats") == 0)
		ctl->stats_due = hx_now_ns() + STATS_WAIT_NS;
	else if (strcmp(cmd, "quit") == 0)
		ctl->eof = true;
	else if (strncmp(cmd, "sockopt ", 8) == 0)
		print_reply("sockopt", "arg", cmd + 8, control_sockopt(ctl, cmd + 8));
	else if (strncmp(cmd, "connect ", 8) == 0)
		print_reply("connect", "addr", cmd + 8, control_connect(sv, ctl, cmd + 8));
	else if (cmd[0] != '\0')
		fprintf(stderr, "tcplab serve: unknown control command '%s' (valid: stats, quit, "
			"sockopt NAME VALUE, connect ADDR:PORT)\n", cmd);
}

static void control_poll(struct hx_serve *sv, struct control *ctl, int64_t now)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;
	char *nl;

	if (now < ctl->next_check)
		return;
	ctl->next_check = now + CONTROL_EVERY_NS;
	if (ctl->stats_due && (sv->stats.open == 0 || now >= ctl->stats_due)) {
		ctl->stats_due = 0;
		print_event(sv, "stats");
	}
	if (poll(&p, 1, 0) <= 0)
		return;
	n = read(STDIN_FILENO, ctl->line + ctl->len, sizeof(ctl->line) - 1 - ctl->len);
	if (n <= 0) {
		ctl->eof = n == 0 || errno != EAGAIN;
		return;
	}
	ctl->len += (size_t)n;
	ctl->line[ctl->len] = '\0';
	while ((nl = strchr(ctl->line, '\n')) != NULL) {
		*nl = '\0';
		control_command(sv, ctl, ctl->line);
		ctl->len -= (size_t)(nl + 1 - ctl->line);
		memmove(ctl->line, nl + 1, ctl->len + 1);
	}
	if (ctl->len == sizeof(ctl->line) - 1)
		ctl->len = 0;	/* an overlong line: drop it */
}

/* ---- the loop ---- */

/* What the program makes of @p revents on @p c; a connection that stays waits for what the
 * program waits for next. */
static void conn_ready(struct hx_serve *sv, struct hx_sconn *c, short revents)
{
	int r = sv->prog->ready(sv, c, revents);

	if (r == 0)
		r = conn_watch(sv, c);
	if (r != 0)
		conn_close(sv, c, r < 0);
}

/* The loop's wait and what it hands out; pf and map grow with the connections (poll only). */
struct serve_wait {
	struct pollfd *pf;
	unsigned int *map;
	unsigned int cap;
	struct tl_event ev[WS_EVENTS];
};

/* One poll over the listener and every connection: > 0 when something was ready. */
static int poll_pass(struct hx_serve *sv, struct control *ctl, struct serve_wait *w,
		     int listener)
{
	unsigned int n, i;
	int r;

	if (w->cap < sv->n_conns + 1) {
		w->cap = (sv->n_conns + 1) * 2;
		w->pf = realloc(w->pf, w->cap * sizeof(*w->pf));
		w->map = realloc(w->map, w->cap * sizeof(*w->map));
		if (w->pf == NULL || w->map == NULL)
			return -ENOMEM;
	}
	w->pf[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
	for (n = 1, i = 0; i < sv->n_conns; i++) {
		if (sv->conns[i].s < 0)
			continue;
		w->pf[n] = (struct pollfd){ .fd = sv->conns[i].s,
					    .events = sv->prog->events(&sv->conns[i]) };
		w->map[n++] = i;
	}
	r = tl_poll(sv->st, w->pf, n, WAIT_MS);
	if (r <= 0)
		return r;
	sv->stats.ready_waits++;
	sv->stats.wait_entries += n;
	if (w->pf[0].revents)
		accept_all(sv, ctl, listener);
	for (i = 1; i < n; i++) {
		struct hx_sconn *c = &sv->conns[w->map[i]];

		if (w->pf[i].revents != 0 && c->s == w->pf[i].fd)
			conn_ready(sv, c, w->pf[i].revents);
	}
	return r;
}

/*
 * One wait on the wait set: only what is ready comes back. A connection's cookie names its
 * slot and socket, so an event of a slot taken since by another socket is let go.
 */
static int wait_set_pass(struct hx_serve *sv, struct control *ctl, struct serve_wait *w,
			 int listener)
{
	int r, i;

	r = tl_ws_wait(sv->st, sv->ws, w->ev, WS_EVENTS, WAIT_MS);
	if (r <= 0)
		return r;
	sv->stats.ready_waits++;
	sv->stats.wait_entries += (uint64_t)r;
	for (i = 0; i < r; i++) {
		uint64_t cookie = w->ev[i].cookie;
		uint32_t slot = (uint32_t)cookie;

		if (cookie == LISTENER_COOKIE)
			accept_all(sv, ctl, listener);
		else if (slot < sv->n_conns && sv->conns[slot].s == (int)(cookie >> 32))
			conn_ready(sv, &sv->conns[slot], (short)w->ev[i].revents);
	}
	return r;
}

static int serve_loop(struct hx_serve *sv, int listener, bool forever)
{
	struct control ctl = { 0 };
	struct serve_wait *w = calloc(1, sizeof(*w));
	int r = 0;

	if (w == NULL)
		return -ENOMEM;
	control_defaults(&ctl);
	while (!hx_stop && !(ctl.eof && !forever)) {
		r = sv->ws >= 0 ? wait_set_pass(sv, &ctl, w, listener)
				: poll_pass(sv, &ctl, w, listener);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "tcplab serve: %s: %s\n", sv->ws >= 0 ? "wait" : "poll",
				strerror(-r));
			break;
		}
		/* the clock is read on an idle pass, or every CONTROL_BUSY_PASSES busy ones: on a
		 * request/response the pass after a response is on the path to the next one */
		if (!forever && (r <= 0 || ++ctl.busy == CONTROL_BUSY_PASSES)) {
			ctl.busy = 0;
			control_poll(sv, &ctl, hx_now_ns());
		}
	}
	if (ctl.stats_due)	/* "stats" and "quit" came together: answer before leaving */
		print_event(sv, "stats");
	free(w->pf);
	free(w->map);
	free(w);
	return r == -ENOMEM ? r : 0;
}

/*
 * The wait set the loop waits on, the listener in it; sv->ws -1 where the stack offers none
 * (the loop polls). A negative errno when it offers one and it fails.
 */
static int open_wait_set(struct hx_serve *sv, int listener)
{
	int r;

	sv->ws = tl_ws_create(sv->st);
	if (sv->ws == -EOPNOTSUPP) {
		sv->ws = -1;
		return 0;
	}
	if (sv->ws < 0) {
		r = sv->ws;
		sv->ws = -1;
		fprintf(stderr, "tcplab serve: wait set: %s\n", strerror(-r));
		return r;
	}
	r = tl_ws_ctl(sv->st, sv->ws, TL_WS_ADD, listener, POLLIN, LISTENER_COOKIE);
	if (r < 0) {
		fprintf(stderr, "tcplab serve: wait set: add the listener: %s\n", strerror(-r));
		tl_ws_close(sv->st, sv->ws);
		sv->ws = -1;
	}
	return r;
}

static int open_listener(struct hx_serve *sv, const char *listen, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int s, r;

	if (listen != NULL) {
		if (hx_parse_addr(listen, ss, &len) < 0) {
			fprintf(stderr, "tcplab serve: --listen '%s': expected ADDR:PORT "
				"(e.g. 127.0.0.1:5001)\n", listen);
			return -EINVAL;
		}
	} else {
		r = sv->st->ops->default_addr(sv->st, ss, &len);
		if (r < 0)
			return r;
	}
	s = tl_socket(sv->st);
	if (s < 0)
		return s;
	tl_setsockopt_int(sv->st, s, SOL_SOCKET, SO_REUSEADDR, 1);
	r = tl_bind(sv->st, s, (struct sockaddr *)ss, len);
	if (r == 0)
		r = tl_listen(sv->st, s, 1024);
	if (r == 0)
		r = tl_set_nonblock(sv->st, s, true);
	if (r == 0) {
		len = sizeof(*ss);
		r = tl_getsockname(sv->st, s, (struct sockaddr *)ss, &len);
	}
	if (r < 0) {
		fprintf(stderr, "tcplab serve: listen on %s: %s\n", listen ? listen : "default",
			strerror(-r));
		tl_close(sv->st, s);
		return r;
	}
	return s;
}

/*
 * A stack that cannot start: one line on stderr, or, for a run that started this SUT
 * (--errors-json), one JSON line on stdout that the run turns into its own one line.
 */
static void start_failed(const struct serve_opts *o, const char *why)
{
	char msg[768];
	struct hx_json j;

	snprintf(msg, sizeof(msg), "backend %s: %s", o->backend, why);
	if (!o->errors_json) {
		fprintf(stderr, "tcplab serve: %s\n", msg);
		return;
	}
	hx_json_init(&j, stdout, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_str(&j, "event", "error");
	hx_json_str(&j, "message", msg);
	hx_json_obj_end(&j);
	fputc('\n', stdout);
	fflush(stdout);
}

/* The SUT side's settings of the topology first, then the user's (which win). */
static int serve(const struct serve_opts *o, const struct hx_program *prog)
{
	struct tl_stack_params p = { .role = TL_ROLE_SERVER, .run_id = o->run_id,
				     .cpu = o->cpu >= 0 ? o->cpu : tl_auto_cpu(TL_ROLE_SERVER),
				     .conns = (unsigned int)o->conns };
	struct sockaddr_storage ss;
	struct hx_side_opts so;
	struct hx_serve *sv;
	char err[512];
	unsigned int i;
	int listener, r = HX_EXIT_USAGE;

	sv = calloc(1, sizeof(*sv));
	if (sv == NULL)
		return HX_EXIT_USAGE;
	hx_side_opts_build(&so, o->topo, HX_SIDE_SUT, o->kind, o->opts, o->n_opts);
	p.opts = so.opts;
	p.n_opts = so.n;
	sv->prog = prog;
	sv->ws = -1;
	hx_pattern_init(&sv->pattern);
	sv->st = tl_stack_create(o->backend, &p, err, sizeof(err));
	if (sv->st == NULL) {
		start_failed(o, err);
		goto err_free_sv;
	}
	listener = open_listener(sv, o->listen, &ss);
	if (listener < 0)
		goto err_free_stack;
	if (open_wait_set(sv, listener) < 0)
		goto err_close_listener;
	print_ready(sv, &ss);
	if (serve_loop(sv, listener, o->forever) == 0)
		r = HX_EXIT_PASS;
	for (i = 0; i < sv->n_conns; i++)
		if (sv->conns[i].s >= 0)
			conn_close(sv, &sv->conns[i], false);
	print_event(sv, "exit");
	tl_ws_close(sv->st, sv->ws);
err_close_listener:
	tl_close(sv->st, listener);
err_free_stack:
	tl_stack_free(sv->st);
err_free_sv:
	free(sv->conns);
	free(sv);
	return r;
}

static const struct option long_opts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "topology", required_argument, NULL, 't' },
	{ "listen", required_argument, NULL, 'l' },
	{ "run-id", required_argument, NULL, 'r' },
	{ "stack-opt", required_argument, NULL, 'o' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "conns", required_argument, NULL, 'n' },
	{ "forever", no_argument, NULL, 'f' },
	{ "errors-json", no_argument, NULL, 'J' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void serve_usage(FILE *f)
{
	char names[128];

	hx_program_names(names, sizeof(names));
	fprintf(f, "usage: tcplab serve PROGRAM [--backend NAME] [--topology NAME] "
		"[--listen ADDR:PORT] [--run-id ID] [--stack-opt KEY=VALUE]... [--cpu N] "
		"[--conns N] [--forever]\n"
		"  PROGRAM: %s\n"
		"  --topology: the SUT side of that topology (tcplab list; default: the backend's "
		"own): its settings come before --stack-opt's\n"
		"  --conns: the connections to hold at once at most, for the stack to size for "
		"(a run passes its scenario's)\n"
		"  prints {\"event\":\"ready\",...} on stdout when listening; reads 'stats' and "
		"'quit' on stdin (end of stdin: exit) unless --forever\n", names);
}

/*
 * The topology's SUT side: --topology, or the backend's own. A sockets SUT in a namespaced
 * topology listens on its role's address there unless --listen says.
 */
static int serve_topology(struct serve_opts *o)
{
	const struct hx_addr_plan *plan;
	char names[128], kinds[32];

	o->kind = tl_backend_find(o->backend)->attach;
	o->topo = o->topology != NULL ? hx_topology_find(o->topology)
		  : hx_topology_default(o->kind);
	if (o->topo == NULL) {
		hx_topology_names(names, sizeof(names));
		fprintf(stderr, "tcplab serve: unknown topology '%s' (valid: %s)\n", o->topology,
			names);
		return -EINVAL;
	}
	if (!hx_topology_takes(o->topo, HX_SIDE_SUT, o->kind)) {
		hx_topology_kinds_text(o->topo, HX_SIDE_SUT, kinds, sizeof(kinds));
		fprintf(stderr, "tcplab serve: --topology %s takes %s on the SUT side; backend %s "
			"is %s\n", o->topo->name, kinds, o->backend,
			hx_topology_kind_name(o->kind));
		return -EINVAL;
	}
	plan = o->topo->plan;
	if (o->listen == NULL && o->kind == TL_ATTACH_SOCKETS &&
	    o->topo->namespaces != HX_NS_NONE && plan != NULL) {
		snprintf(o->listen_buf, sizeof(o->listen_buf), "%s:0", plan->addr[HX_SIDE_SUT]);
		o->listen = o->listen_buf;
	}
	return 0;
}

int hx_cmd_serve(int argc, char **argv)
{
	struct serve_opts o = { .run_id = "serve", .cpu = -1 };
	const struct hx_program *prog;
	char names[128];
	int c;

	o.backend = hx_cli_default_backend(TL_ATTACH_SOCKETS);	/* the Linux baseline */
	while ((c = hx_cli_getopt(argc, argv, long_opts, "", "serve")) != -1) {
		switch (c) {
		case 'b': o.backend = optarg; break;
		case 't': o.topology = optarg; break;
		case 'l': o.listen = optarg; break;
		case 'r': o.run_id = optarg; break;
		case 'o':
			if (hx_cli_add_opt(o.opts, &o.n_opts, optarg, "--stack-opt") < 0)
				return HX_EXIT_USAGE;
			break;
		case 'c':
			if (hx_cli_int(optarg, "--cpu", 0, 4095, &o.cpu) < 0)
				return HX_EXIT_USAGE;
			break;
		case 'n':
			if (hx_cli_int(optarg, "--conns", 1, 100000, &o.conns) < 0)
				return HX_EXIT_USAGE;
			break;
		case 'f': o.forever = 1; break;
		case 'J': o.errors_json = 1; break;
		case 'h': serve_usage(stdout); return HX_EXIT_PASS;
		default: return HX_EXIT_USAGE;
		}
	}
	hx_program_names(names, sizeof(names));
	if (optind != argc - 1) {
		fprintf(stderr, "tcplab serve: expected one PROGRAM (valid: %s)\n", names);
		return HX_EXIT_USAGE;
	}
	o.program = argv[optind];
	prog = hx_program_find(o.program);
	if (prog == NULL) {
		fprintf(stderr, "tcplab serve: unknown program '%s' (valid: %s)\n", o.program, names);
		return HX_EXIT_USAGE;
	}
	if (hx_cli_check_backend(o.backend, "tcplab serve") < 0 || serve_topology(&o) < 0)
		return HX_EXIT_USAGE;
	if (o.cpu >= 0 && hx_pin_cpu(o.cpu) < 0)
		fprintf(stderr, "tcplab serve: cannot pin to cpu %d, running unpinned\n", o.cpu);
	hx_signals_init();
	return serve(&o, prog);
}
