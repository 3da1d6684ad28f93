/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the traffic engine of engine.h.
 *
 * Each connection runs the compiled client script (scenario.h) as a small interpreter: a
 * program counter, the bytes done in the current step, one counter per loop. step() runs a
 * connection until a call would block, then the connection waits for poll events or a timer.
 * The main loop is: wait for the waiting sockets -> step the ready ones -> wake due timers ->
 * report progress, until every connection has finished its script.
 *
 * A pass costs what is ready and due, not what is open: after its steps a connection is
 * parked (park()) where the loop finds it again, the run queue (to step next pass), the
 * connect queue (for a place among the connects in flight), the timers (engine_queue.c) or
 * the stack's wait set (tl_ops.ws_*), where it is registered once and changed only when
 * the events it waits for change. A stack without a wait set gets every waiting socket
 * handed to tl_poll each pass, as before.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <netinet/tcp.h>

#include "clock.h"
#include "engine.h"
#include "engine_bio_pvt.h"
#include "engine_queue_pvt.h"
#include "harness.h"
#include "pattern.h"

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define DRAIN_NS (5 * NS_PER_S)
#define DRAIN_MAX_NS (60 * NS_PER_S)
#define STOP_DRAIN_NS (1 * NS_PER_S)
#define BACKOFF_NS NS_PER_MS
#define REPORT_NS NS_PER_S
#define IO_CHUNK HX_PATTERN_CHUNK
#define BLOCKING_SLICE_US 50000	/* longest wait inside one blocking call */
#define STEP_BUDGET 256		/* steps a connection runs before the loop looks up */
#define WS_EVENTS 256		/* events one wait-set call takes; the rest come next pass */
/*
 * Connects in flight at once. A script's connects all start in the first pass: 10,000 SYNs
 * in one burst overflow what is between the sides (a DPDK port's TX ring and mbufs, the
 * peer's RX ring, the listener's backlog), and every SYN dropped there waits out the
 * stack's first retransmission timeout (1 s on Linux and gVisor, 3 s on lwIP). The rest
 * wait their turn (W_CONNECT), so the handshakes arrive at the rate the peer takes them.
 */
#define CONNECT_WINDOW 128

enum wait {
	W_RUN,		/* ready to step */
	W_IO,		/* waiting for poll events on c->s */
	W_TIMER,	/* waiting until c->wake_at */
	W_CONNECT,	/* waiting for a place among the connects in flight (CONNECT_WINDOW) */
	W_DONE,
};

enum step {
	S_NEXT,		/* the step finished; c->pc moved on */
	S_BLOCK,	/* waiting: c->wait says on what */
	S_FAIL,		/* c->fail says why */
};

struct conn {
	int s;
	unsigned int pc;
	enum wait wait;
	short events;		/* for W_IO */
	bool connecting;
	bool open;		/* connected, and counted in n_open (see conn_open) */
	bool sleeping;		/* inside a sleep step */
	bool just_sent;		/* the step before this one was a send */
	bool watched;		/* in the wait set, for ws_events (conn_watch) */
	short ws_events;
	enum hx_error fail;
	uint64_t done;		/* bytes done in the current send/recv step */
	uint64_t tx_off;	/* stream offsets, for the pattern */
	uint64_t rx_off;
	int64_t t_start;	/* measure section start (intended start under open pacing) */
	int64_t t_mark;		/* the clock at the last measure end or object step, while only
				 * steps that take no time followed it */
	int64_t wake_at;
	int64_t next_at;	/* open pacing: intended start of the next transaction */
	uint32_t loop_left[HX_MAX_LOOPS];
	struct hx_bio_conn *bio;	/* object steps' state (engine_bio.c); NULL until used */
};

struct engine {
	const struct hx_engine_config *cfg;
	const struct hx_scenario *sc;
	struct tl_stack *st;
	struct hx_metrics *m;
	struct conn *conns;
	unsigned int n_done;
	unsigned int n_connecting;	/* connects in flight */
	unsigned int n_open;		/* connections open (conn_open) */
	bool all_opened;		/* HX_MARK_ALL_OPEN was called */
	bool measures;			/* the script has a measure section */
	bool stopping;
	bool blocking;			/* one connection: wait inside its calls (see below) */
	int64_t t_start, t_warm, t_end, t_stop;
	int64_t interval_ns;		/* open pacing: per connection */
	int64_t next_report;
	int64_t clock;			/* the latest clock reading (clock_of) */
	struct hx_clock clk;		/* the TSC where it is safe (clock.h) */
	uint64_t recent_tx;		/* transactions since the last report, warm-up too */
	struct hist *recent;		/* their latencies */
	struct pollfd *pf;		/* without a wait set: what tl_poll is handed */
	unsigned int *map;
	int ws;				/* the stack's wait set; -1: none, tl_poll */
	uint64_t handed, ready;		/* the loop's, for metrics.loop (loop_once) */
	struct tl_event *ev;		/* [WS_EVENTS] */
	int err;			/* the first wait-set call that failed, which ends the run */
	struct hx_fifo runq;		/* W_RUN: to step next pass */
	struct hx_fifo connq;		/* W_CONNECT: for a place among the connects */
	struct hx_timers timers;	/* W_TIMER: wake_at */
	struct hx_pattern pattern;
	uint8_t rbuf[IO_CHUNK];
};

static const char *const error_names[HX_ERR__COUNT] = {
	[HX_ERR_SOCKET] = "socket",
	[HX_ERR_CONNECT_REFUSED] = "connect_refused",
	[HX_ERR_CONNECT_FAILED] = "connect_failed",
	[HX_ERR_RESET] = "reset",
	[HX_ERR_EOF] = "eof",
	[HX_ERR_DATA_MISMATCH] = "data_mismatch",
	[HX_ERR_SEND_FAILED] = "send_failed",
	[HX_ERR_RECV_FAILED] = "recv_failed",
	[HX_ERR_SHUTDOWN_FAILED] = "shutdown_failed",
	[HX_ERR_NOT_CONNECTED] = "not_connected",
	[HX_ERR_DRAIN_TIMEOUT] = "drain_timeout",
	[HX_ERR_OBJECT] = "object_failed",
	[HX_ERR_TIMEOUT] = "timeout",
};

const char *hx_error_name(enum hx_error e)
{
	return e < HX_ERR__COUNT ? error_names[e] : "unknown";
}

/* The clock, remembered: count_bytes goes by the latest reading. */
static int64_t clock_of(struct engine *e)
{
	e->clock = hx_clock_now(&e->clk);
	return e->clock;
}

static bool in_window(const struct engine *e, int64_t t)
{
	return t >= e->t_warm && t < e->t_end;
}

static enum step fail(struct conn *c, enum hx_error why)
{
	c->fail = why;
	return S_FAIL;
}

static enum step wait_io(struct conn *c, short events)
{
	c->wait = W_IO;
	c->events = events;
	return S_BLOCK;
}

static enum step wait_until(struct conn *c, int64_t t)
{
	c->wait = W_TIMER;
	c->wake_at = t;
	return S_BLOCK;
}

/* ---- steps ---- */

static void set_connecting(struct engine *e, struct conn *c, bool on)
{
	if (c->connecting != on)
		e->n_connecting += on ? 1 : -1;
	c->connecting = on;
}

/*
 * A connection counts as open once it is connected and has finished a transaction on it
 * (just connected, where the script measures none): the SUT has accepted it and both sides
 * hold its buffers. The first time all are, the caller samples what they cost.
 */
static void conn_open(struct engine *e, struct conn *c)
{
	if (c->open || c->s < 0)
		return;
	c->open = true;
	if (++e->n_open < e->sc->conns || e->all_opened)
		return;
	e->all_opened = true;
	if (e->cfg->mark != NULL)
		e->cfg->mark(e->cfg->mark_ctx, HX_MARK_ALL_OPEN, e->n_open);
}

static enum step connect_done(struct engine *e, struct conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0, r;

	r = tl_getsockopt(e->st, c->s, SOL_SOCKET, SO_ERROR, &err, &len);
	if (r < 0)
		err = -r;
	set_connecting(e, c, false);
	if (err != 0)
		return fail(c, err == ECONNREFUSED ? HX_ERR_CONNECT_REFUSED : HX_ERR_CONNECT_FAILED);
	if (in_window(e, clock_of(e)))
		e->m->connections++;
	if (!e->measures)
		conn_open(e, c);
	c->pc++;
	return S_NEXT;
}

/*
 * With a single connection on a backend where a blocking call is the cheapest wait
 * (TL_F_BLOCKING_WAIT), the socket blocks with a short timeout instead: a recv that waits
 * sleeps in the call and returns with the data, as a plain client would, where poll then
 * recv costs a second call per round trip. A timeout returns -EAGAIN, which the steps treat
 * like any would-block, so timers, progress and the end of the run still come round.
 */
static int socket_mode(struct engine *e, int s)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = BLOCKING_SLICE_US };

	if (!e->blocking)
		return tl_set_nonblock(e->st, s, true);
	if (tl_setsockopt(e->st, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    tl_setsockopt(e->st, s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -EINVAL;
	return 0;
}

static enum step op_connect(struct engine *e, struct conn *c)
{
	const struct hx_engine_config *cfg = e->cfg;
	int r;

	if (c->connecting)
		return connect_done(e, c);
	if (c->s >= 0)
		return fail(c, HX_ERR_CONNECT_FAILED);	/* connect on a connected socket */
	if (e->n_connecting >= CONNECT_WINDOW && !e->blocking) {
		c->wait = W_CONNECT;
		return S_BLOCK;
	}
	c->s = tl_socket(e->st);
	if (c->s < 0)
		return fail(c, HX_ERR_SOCKET);
	if (socket_mode(e, c->s) < 0 ||
	    tl_setsockopt_int(e->st, c->s, IPPROTO_TCP, TCP_NODELAY, e->sc->nodelay) < 0)
		return fail(c, HX_ERR_SOCKET);
	r = tl_connect(e->st, c->s, (const struct sockaddr *)&cfg->addr, cfg->addrlen);
	set_connecting(e, c, true);
	if (r == -EINPROGRESS || r == -EAGAIN)
		return wait_io(c, POLLOUT);
	if (r < 0) {
		set_connecting(e, c, false);
		return fail(c, r == -ECONNREFUSED ? HX_ERR_CONNECT_REFUSED : HX_ERR_CONNECT_FAILED);
	}
	return connect_done(e, c);
}

/*
 * Bytes go in the window by the latest clock reading rather than a new one: two reads less
 * per transaction. That reading is at most one loop pass or one call old, so a transaction
 * that straddles an edge of the window still counts its bytes or its latency, not both.
 */
static void count_bytes(struct engine *e, uint64_t *window, uint64_t *total, uint64_t n)
{
	*total += n;
	if (in_window(e, e->clock))
		*window += n;
}

static enum step op_send(struct engine *e, struct conn *c, uint64_t want)
{
	ssize_t n;

	if (c->s < 0)
		return fail(c, HX_ERR_NOT_CONNECTED);
	while (c->done < want) {
		uint64_t left = want - c->done;

		n = tl_send(e->st, c->s, hx_pattern_at(&e->pattern, c->tx_off),
			    left < IO_CHUNK ? left : IO_CHUNK, 0);
		if (n == -EAGAIN)
			return wait_io(c, POLLOUT);
		if (n < 0)
			return fail(c, n == -EPIPE || n == -ECONNRESET ? HX_ERR_RESET
								       : HX_ERR_SEND_FAILED);
		c->done += (uint64_t)n;
		c->tx_off += (uint64_t)n;
		count_bytes(e, &e->m->bytes_sent, &e->m->total_bytes_sent, (uint64_t)n);
	}
	c->done = 0;
	c->pc++;
	c->just_sent = true;
	return S_NEXT;
}

static enum step op_recv(struct engine *e, struct conn *c, uint64_t want)
{
	ssize_t n;

	if (c->s < 0)
		return fail(c, HX_ERR_NOT_CONNECTED);
	/* The answer to what was just sent cannot be there yet: wait for it rather than
	 * spend a call on -EAGAIN (a syscall on the kernel backend, a third of the cost of
	 * a round trip's client side). */
	if (c->just_sent) {
		c->just_sent = false;
		if (!e->blocking)
			return wait_io(c, POLLIN);
	}
	while (c->done < want) {
		uint64_t left = want - c->done;

		n = tl_recv(e->st, c->s, e->rbuf, left < IO_CHUNK ? left : IO_CHUNK, 0);
		if (n == -EAGAIN)
			return wait_io(c, POLLIN);
		if (n == 0)
			return fail(c, HX_ERR_EOF);
		if (n < 0)
			return fail(c, n == -ECONNRESET ? HX_ERR_RESET : HX_ERR_RECV_FAILED);
		if (!hx_pattern_check(&e->pattern, e->rbuf, (size_t)n, c->rx_off))
			return fail(c, HX_ERR_DATA_MISMATCH);
		c->done += (uint64_t)n;
		c->rx_off += (uint64_t)n;
		count_bytes(e, &e->m->bytes_received, &e->m->total_bytes_received, (uint64_t)n);
	}
	c->done = 0;
	c->pc++;
	return S_NEXT;
}

/* Closing the socket takes it out of the wait set (tl_ops.ws_ctl). */
static void conn_reset(struct engine *e, struct conn *c)
{
	if (c->s >= 0)
		tl_close(e->st, c->s);
	c->s = -1;
	c->watched = false;
	hx_bio_conn_free(c->bio);
	c->bio = NULL;
	set_connecting(e, c, false);
	if (c->open)
		e->n_open--;
	c->open = false;
	c->just_sent = false;
	c->sleeping = false;
	c->done = 0;
	c->tx_off = 0;
	c->rx_off = 0;
}

static enum step op_loop(struct engine *e, struct conn *c, const struct hx_op *op)
{
	c->loop_left[op->loop] = (uint32_t)op->arg;
	c->pc = e->stopping ? op->jump : c->pc + 1;
	return S_NEXT;
}

static enum step op_next(struct engine *e, struct conn *c, const struct hx_op *op)
{
	const struct hx_op *head = &e->sc->ops[op->jump];
	bool again;

	if (head->arg == 0)
		again = !e->stopping;
	else
		again = --c->loop_left[op->loop] > 0 && !e->stopping;
	c->pc = again ? op->jump + 1 : c->pc + 1;
	return S_NEXT;
}

/* A section that starts where the last one ended, with only loop steps between, starts at
 * that end's clock reading: one clock read per transaction, not two. */
static enum step op_measure_begin(struct engine *e, struct conn *c)
{
	int64_t now = c->t_mark != 0 ? c->t_mark : clock_of(e);

	if (e->sc->pacing == HX_PACING_OPEN) {
		if (now < c->next_at && !e->stopping)
			return wait_until(c, c->next_at);
		c->t_start = c->next_at;
		c->next_at += e->interval_ns;
	} else {
		c->t_start = now;
	}
	c->pc++;
	return S_NEXT;
}

static enum step op_measure_end(struct engine *e, struct conn *c)
{
	int64_t now = c->t_mark != 0 ? c->t_mark : clock_of(e);

	if (in_window(e, now)) {
		hist_record(e->m->latency, now - c->t_start);
		e->m->transactions++;
	}
	hist_record(e->recent, now - c->t_start);
	e->recent_tx++;
	conn_open(e, c);
	c->t_mark = now;
	c->pc++;
	return S_NEXT;
}

static enum step op_sleep(struct engine *e, struct conn *c, const struct hx_op *op)
{
	if (!c->sleeping && !e->stopping) {
		c->sleeping = true;
		return wait_until(c, clock_of(e) + (int64_t)op->arg);
	}
	c->sleeping = false;
	c->pc++;
	return S_NEXT;
}

static enum step op_simple(struct engine *e, struct conn *c, const struct hx_op *op)
{
	int r;

	if (c->s < 0 && !(op->code == HX_OP_CLOSE && c->bio != NULL))
		return fail(c, HX_ERR_NOT_CONNECTED);
	if (op->code == HX_OP_SHUTDOWN) {
		r = tl_shutdown(e->st, c->s, (int)op->arg);
		if (r < 0)
			return fail(c, HX_ERR_SHUTDOWN_FAILED);
	} else {
		conn_reset(e, c);
	}
	c->pc++;
	return S_NEXT;
}

/*
 * An object step (engine_bio.c): runs to completion, waiting inside the bio layer. One clock
 * reading at its end decides whether its counts are in the window and is the mark a
 * measure_end right after it takes, so the two never disagree at the window's edge.
 */
static enum step op_object(struct engine *e, struct conn *c, const struct hx_op *op)
{
	const struct hx_bio_ctx x = {
		.st = e->st, .addr = &e->cfg->addr, .addrlen = e->cfg->addrlen,
		.nodelay = e->sc->nodelay, .pattern = &e->pattern, .m = e->m,
	};
	enum hx_error why;

	if (hx_bio_step(&x, &c->bio, op, &why) < 0)
		return fail(c, why);
	if (op->code != HX_OP_OBJ_VERIFY) {
		c->t_mark = clock_of(e);
		hx_bio_account(e->m, c->bio, op, in_window(e, c->t_mark));
	}
	c->pc++;
	return S_NEXT;
}

static enum step exec(struct engine *e, struct conn *c)
{
	const struct hx_op *op = &e->sc->ops[c->pc];

	if (op->code != HX_OP_LOOP && op->code != HX_OP_NEXT && op->code != HX_OP_MEASURE_BEGIN &&
	    op->code != HX_OP_MEASURE_END)
		c->t_mark = 0;	/* a step that may take time: the mark is stale after it */
	switch (op->code) {
	case HX_OP_CONNECT: return op_connect(e, c);
	case HX_OP_SEND: return op_send(e, c, op->arg);
	case HX_OP_RECV: return op_recv(e, c, op->arg);
	case HX_OP_SHUTDOWN:
	case HX_OP_CLOSE: return op_simple(e, c, op);
	case HX_OP_LOOP: return op_loop(e, c, op);
	case HX_OP_NEXT: return op_next(e, c, op);
	case HX_OP_MEASURE_BEGIN: return op_measure_begin(e, c);
	case HX_OP_MEASURE_END: return op_measure_end(e, c);
	case HX_OP_SLEEP: return op_sleep(e, c, op);
	case HX_OP_OBJ_GET:
	case HX_OP_OBJ_PUT:
	case HX_OP_OBJ_RAW_GET:
	case HX_OP_OBJ_SEEK:
	case HX_OP_OBJ_CACHE:
	case HX_OP_OBJ_VERIFY: return op_object(e, c, op);
	case HX_OP_DONE: break;
	}
	conn_reset(e, c);
	c->wait = W_DONE;
	e->n_done++;
	return S_BLOCK;
}

static void conn_fail(struct engine *e, struct conn *c)
{
	e->m->errors++;
	e->m->errors_by[c->fail]++;
	conn_reset(e, c);
	c->pc = 0;
	if (e->stopping) {
		c->wait = W_DONE;
		e->n_done++;
		return;
	}
	/* start the script over after a short pause, so a refusing peer is not hammered */
	wait_until(c, clock_of(e) + BACKOFF_NS);
}

/*
 * Run a connection until it waits. A script whose calls never block (blocking mode, or a
 * fast peer) would keep it here for ever: after STEP_BUDGET steps it stays W_RUN and goes
 * back to the main loop, which checks the clock and steps it again.
 */
static void step(struct engine *e, struct conn *c)
{
	unsigned int n = 0;
	enum step r;

	c->wait = W_RUN;
	do
		r = exec(e, c);
	while (r == S_NEXT && ++n < STEP_BUDGET);
	/* it waits now, or goes back to the loop: the mark is stale then, except to a measure_end
	 * right after an object step, which must end where the step was counted (op_object) */
	if (r != S_NEXT || e->sc->ops[c->pc].code != HX_OP_MEASURE_END)
		c->t_mark = 0;
	if (r == S_FAIL)
		conn_fail(e, c);
}

/* ---- where a connection waits ---- */

static unsigned int conn_id(const struct engine *e, const struct conn *c)
{
	return (unsigned int)(c - e->conns);
}

static void wait_set_failed(struct engine *e, const char *what, const struct conn *c, int r)
{
	if (e->err != 0)
		return;
	fprintf(stderr, "[%s] wait set: %s socket %d: %s\n", e->cfg->label, what, c->s,
		strerror(-r));
	e->err = r;
}

/*
 * Have the wait set report @p c for the events it waits for: registered once, changed only
 * when they change, so a request/response (POLLIN after each send) makes no call per
 * transaction.
 */
static void conn_watch(struct engine *e, struct conn *c)
{
	int r;

	if (c->watched && c->ws_events == c->events)
		return;
	e->handed++;
	r = tl_ws_ctl(e->st, e->ws, c->watched ? TL_WS_MOD : TL_WS_ADD, c->s, (uint16_t)c->events,
		      conn_id(e, c));
	if (r < 0) {
		wait_set_failed(e, c->watched ? "modify" : "add", c, r);
		return;
	}
	c->watched = true;
	c->ws_events = c->events;
}

/* A connection the wait set reports while it waits for something else: out, or a
 * level-triggered set would report it on every pass until it waits for events again. */
static void conn_unwatch(struct engine *e, struct conn *c)
{
	int r = tl_ws_ctl(e->st, e->ws, TL_WS_DEL, c->s, 0, 0);

	e->handed++;
	if (r < 0)
		wait_set_failed(e, "remove", c, r);
	c->watched = false;
}

static void queue(struct engine *e, struct hx_fifo *q, const struct conn *c)
{
	int r = hx_fifo_push(q, conn_id(e, c));

	if (r < 0 && e->err == 0)	/* a connection is in a queue once: cannot be */
		e->err = r;
}

/* After its steps, a connection waits where the loop will find it again. */
static void park(struct engine *e, struct conn *c)
{
	switch (c->wait) {
	case W_RUN: queue(e, &e->runq, c); break;
	case W_CONNECT: queue(e, &e->connq, c); break;
	case W_TIMER: hx_timers_set(&e->timers, conn_id(e, c), c->wake_at); break;
	case W_IO:
		if (e->ws >= 0)
			conn_watch(e, c);
		break;
	case W_DONE: break;
	}
}

static void advance(struct engine *e, struct conn *c)
{
	step(e, c);
	park(e, c);
}

/* ---- the loop ---- */

static void progress(struct engine *e, int64_t now)
{
	double el = (double)(now - e->t_start) / 1e9;
	double total = (double)(e->t_end - e->t_start) / 1e9;
	double tps = (double)e->recent_tx * 1e9 / (double)REPORT_NS;
	const char *phase = now <= e->t_warm + REPORT_NS / 2 ? "warmup"
			    : now <= e->t_end + REPORT_NS / 2 ? "run" : "drain";
	bool tty = isatty(STDERR_FILENO);

	fprintf(stderr, "%s[%s] %5.1f/%.1fs %-6s %10.0f tps  p99 %8.1fus  errors %llu%s",
		tty ? "\r" : "", e->cfg->label, el, total, phase, tps,
		(double)hist_percentile(e->recent, 99.0) / 1e3,
		(unsigned long long)e->m->errors, tty ? "   " : "\n");
	fflush(stderr);
}

/* The second that ended at @p end: the progress line, the interval's histogram, a new one. */
static void report(struct engine *e, int64_t now, int64_t end)
{
	int64_t begin = e->next_report - REPORT_NS;

	if (e->cfg->progress)
		progress(e, now);
	if (e->cfg->interval != NULL && end > begin)
		e->cfg->interval(e->cfg->interval_ctx, e->recent, (double)(begin - e->t_start) / 1e9,
				 (double)(end - begin) / 1e9);
	e->recent_tx = 0;
	hist_reset(e->recent);
}

/*
 * How long the transactions begun before the end of the duration get to finish: 5 s, or
 * twice the slowest one measured when that is more, at most 60 s. A round over 10,000
 * connections on lwIP takes seconds (its pcb demux), so a fixed 5 s ended thousands of
 * them as drain_timeout on a slow host.
 */
static int64_t drain_ns(const struct engine *e)
{
	int64_t slow = 2 * e->m->latency->max;

	if (slow < DRAIN_NS)
		return DRAIN_NS;
	return slow < DRAIN_MAX_NS ? slow : DRAIN_MAX_NS;
}

static void begin_stop(struct engine *e, int64_t now, int64_t drain)
{
	unsigned int i;

	e->stopping = true;
	e->t_stop = now + drain;
	for (i = 0; i < e->sc->conns; i++) {
		struct conn *c = &e->conns[i];

		if (c->wait == W_CONNECT) {	/* not begun: nothing to finish */
			c->wait = W_DONE;
			e->n_done++;
			continue;
		}
		if (c->wait != W_TIMER)
			continue;
		if (c->pc == 0 && c->s < 0) {	/* backing off after an error: just end */
			hx_timers_cancel(&e->timers, i);
			c->wait = W_DONE;
			e->n_done++;
		} else {
			c->wake_at = now;
			hx_timers_set(&e->timers, i, now);
		}
	}
}

static void abort_rest(struct engine *e)
{
	unsigned int i;

	for (i = 0; i < e->sc->conns; i++) {
		struct conn *c = &e->conns[i];

		if (c->wait == W_DONE)
			continue;
		hx_timers_cancel(&e->timers, i);
		e->m->errors++;
		e->m->errors_by[HX_ERR_DRAIN_TIMEOUT]++;
		conn_reset(e, c);
		c->wait = W_DONE;
		e->n_done++;
	}
}

/*
 * Wait timeout: until the next timer, spinning when it is less than a millisecond away; none
 * when a connection is to be stepped now. O(1): the queues and the timer heap know.
 */
static int poll_timeout(const struct engine *e, int64_t now)
{
	int64_t next = e->stopping ? e->t_stop : e->t_end;

	if (e->runq.n > 0 || (e->connq.n > 0 && e->n_connecting < CONNECT_WINDOW))
		return 0;
	if (e->next_report < next)
		next = e->next_report;
	if (hx_timers_next(&e->timers) < next)
		next = hx_timers_next(&e->timers);
	if (next - now < NS_PER_MS)
		return 0;
	return (int)((next - now) / NS_PER_MS);
}

/* Without a wait set: every connection waiting for events is handed to tl_poll. */
static int poll_ready(struct engine *e, int timeout, int64_t *now)
{
	unsigned int i, n = 0;
	int r;

	for (i = 0; i < e->sc->conns; i++) {
		if (e->conns[i].wait != W_IO)
			continue;
		e->pf[n] = (struct pollfd){ .fd = e->conns[i].s, .events = e->conns[i].events };
		e->map[n++] = i;
	}
	r = tl_poll(e->st, e->pf, n, timeout);
	if (r < 0 && r != -EINTR)
		return r;
	*now = clock_of(e);
	e->handed += n;
	e->ready += r > 0 ? (unsigned int)r : 0;
	for (i = 0; r > 0 && i < n; i++)
		if (e->pf[i].revents != 0)
			advance(e, &e->conns[e->map[i]]);
	return 0;
}

/*
 * With a wait set: only the connections with events come back. One that waits for
 * something else now is taken out (conn_unwatch); one to be stepped anyway (W_RUN) is
 * stepped from the run queue.
 */
static int wait_set_ready(struct engine *e, int timeout, int64_t *now)
{
	int r, i;

	r = tl_ws_wait(e->st, e->ws, e->ev, WS_EVENTS, timeout);
	if (r < 0 && r != -EINTR)
		return r;
	*now = clock_of(e);
	e->ready += r > 0 ? (unsigned int)r : 0;
	for (i = 0; i < r; i++) {
		struct conn *c = &e->conns[e->ev[i].cookie];

		if (c->wait == W_IO)
			advance(e, c);
		else if (c->wait != W_RUN && c->watched)
			conn_unwatch(e, c);
	}
	return 0;
}

/*
 * What is to be stepped without events: the timers due (with the run queue, so a timer that
 * comes due again at once waits for the next pass), the connections the last pass left
 * runnable, then connects as places among those in flight free up.
 */
static void run_due(struct engine *e, int64_t now)
{
	unsigned int n;

	while (hx_timers_next(&e->timers) <= now) {
		struct conn *c = &e->conns[hx_timers_pop(&e->timers)];

		c->wait = W_RUN;
		queue(e, &e->runq, c);
	}
	for (n = e->runq.n; n > 0; n--) {
		struct conn *c = &e->conns[hx_fifo_pop(&e->runq)];

		if (c->wait == W_RUN)	/* not ended since (abort_rest) */
			advance(e, c);
	}
	while (e->n_connecting < CONNECT_WINDOW && e->connq.n > 0) {
		struct conn *c = &e->conns[hx_fifo_pop(&e->connq)];

		if (c->wait == W_CONNECT)	/* not ended since (begin_stop) */
			advance(e, c);
	}
}

/*
 * One pass: wait, step what is ready, then what is due. @p now is the clock read when the
 * last pass's wait returned, and on return this pass's: one read per pass, taken before
 * the steps, since on a request/response everything between the response and the next
 * request's wait (which sends it) is on the path.
 */
static int loop_once(struct engine *e, int64_t *now)
{
	struct hx_loop_metrics *lm = &e->m->loop;
	uint64_t handed = e->handed, ready = e->ready;
	bool counted = in_window(e, *now);
	int timeout = poll_timeout(e, *now);
	int r = e->ws >= 0 ? wait_set_ready(e, timeout, now) : poll_ready(e, timeout, now);

	if (r < 0)
		return r;
	run_due(e, *now);
	if (counted) {
		lm->passes++;
		lm->handed += e->handed - handed;
		lm->ready += e->ready - ready;
	}
	return e->err;
}

static int run_loop(struct engine *e)
{
	int64_t now = clock_of(e);
	int r;

	while (e->n_done < e->sc->conns) {
		r = loop_once(e, &now);
		if (r < 0)
			return r;
		if (now >= e->next_report) {
			report(e, now, e->next_report);
			e->next_report += REPORT_NS;
		}
		if (!e->stopping && (now >= e->t_end || hx_stop)) {
			e->m->interrupted = hx_stop != 0;
			begin_stop(e, now, hx_stop ? STOP_DRAIN_NS : drain_ns(e));
		}
		if (e->stopping && now >= e->t_stop)
			abort_rest(e);
	}
	return 0;
}

static void conns_init(struct engine *e)
{
	unsigned int i;

	for (i = 0; i < e->sc->conns; i++) {
		struct conn *c = &e->conns[i];

		memset(c, 0, sizeof(*c));
		c->s = -1;
		c->wait = W_RUN;
		/* stagger the open-loop schedules so connections do not fire together */
		c->next_at = e->t_start + e->interval_ns * i / e->sc->conns;
		queue(e, &e->runq, c);
	}
}

static bool has_measure(const struct hx_scenario *sc)
{
	unsigned int i;

	for (i = 0; i < sc->n_ops; i++)
		if (sc->ops[i].code == HX_OP_MEASURE_BEGIN)
			return true;
	return false;
}

static void finish(struct engine *e)
{
	int64_t now = clock_of(e);
	int64_t end = now < e->t_end ? now : e->t_end;

	/* the last part second (next_report is past now: the loop reports when it is due) */
	if (e->cfg->interval != NULL && e->recent->total > 0)
		e->cfg->interval(e->cfg->interval_ctx, e->recent,
				 (double)(e->next_report - REPORT_NS - e->t_start) / 1e9,
				 (double)(now - (e->next_report - REPORT_NS)) / 1e9);
	if (e->cfg->progress && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	e->m->window_s = end > e->t_warm ? (double)(end - e->t_warm) / 1e9 : 0.0;
}

/* The stack's wait set, where it offers one (e->ws -1 otherwise: tl_poll each pass). */
static int open_wait_set(struct engine *e)
{
	e->ws = tl_ws_create(e->st);
	if (e->ws == -EOPNOTSUPP) {
		e->ws = -1;
		return 0;
	}
	if (e->ws < 0) {
		int r = e->ws;

		e->ws = -1;
		fprintf(stderr, "[%s] wait set: %s\n", e->cfg->label, strerror(-r));
		return r;
	}
	e->ev = calloc(WS_EVENTS, sizeof(*e->ev));
	if (e->ev == NULL) {
		tl_ws_close(e->st, e->ws);
		e->ws = -1;
		return -ENOMEM;
	}
	return 0;
}

int hx_engine_run(const struct hx_engine_config *cfg, struct hx_metrics *m)
{
	const struct hx_scenario *sc = cfg->sc;
	struct engine *e;
	int r = -ENOMEM;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->ws = -1;
	e->cfg = cfg;
	e->sc = sc;
	e->st = cfg->st;
	e->m = m;
	hx_pattern_init(&e->pattern);
	e->conns = calloc(sc->conns, sizeof(*e->conns));
	e->pf = calloc(sc->conns, sizeof(*e->pf));
	e->map = calloc(sc->conns, sizeof(*e->map));
	e->recent = hist_create();
	if (e->conns == NULL || e->pf == NULL || e->map == NULL || e->recent == NULL ||
	    hx_fifo_init(&e->runq, sc->conns) < 0 || hx_fifo_init(&e->connq, sc->conns) < 0 ||
	    hx_timers_init(&e->timers, sc->conns) < 0)
		goto err_free;
	r = open_wait_set(e);
	if (r < 0)
		goto err_free;
	if (sc->pacing == HX_PACING_OPEN)
		e->interval_ns = (int64_t)((double)NS_PER_S * sc->conns / sc->rate);
	e->blocking = sc->conns == 1 && (e->st->ops->flags & TL_F_BLOCKING_WAIT);
	m->loop.wait = e->blocking ? HX_WAIT_BLOCKING : e->ws >= 0 ? HX_WAIT_SET : HX_WAIT_POLL;
	hx_clock_init(&e->clk);	/* on this thread: its pinning may make the TSC safe */
	e->t_start = clock_of(e);
	e->t_warm = e->t_start + sc->warmup_ns;
	e->t_end = e->t_warm + sc->duration_ns;
	e->next_report = e->t_start + REPORT_NS;
	conns_init(e);
	e->measures = has_measure(sc);
	if (cfg->mark != NULL)
		cfg->mark(cfg->mark_ctx, HX_MARK_START, 0);
	r = run_loop(e);
	finish(e);
	tl_ws_close(e->st, e->ws);
err_free:
	hx_timers_fini(&e->timers);
	hx_fifo_fini(&e->connq);
	hx_fifo_fini(&e->runq);
	free(e->ev);
	hist_free(e->recent);
	free(e->map);
	free(e->pf);
	free(e->conns);
	free(e);
	return r;
}
