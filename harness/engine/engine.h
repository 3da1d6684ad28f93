/* SPDX-License-Identifier: MIT */
/*
 * engine.h - the traffic engine: runs a scenario's client script on N connections over one
 * stack instance with non-blocking calls, and measures it.
 *
 * Time line of a run: [start, start+warmup) warm-up, nothing recorded; [warm, end) the
 * measured window: transactions, bytes, connections and latencies counted; after end every
 * loop exits at its next iteration and connections finish their remaining steps (bounded by
 * a drain timeout). Errors are counted over the whole run, each under a named reason.
 *
 * Latency of a transaction (a measure { } section) runs from its start, or under open pacing
 * from its intended start on the schedule, so a stall delays every later transaction's
 * clock too and cannot hide (coordinated omission).
 *
 * Threading rule: one engine, one thread, one stack instance.
 */
#ifndef HX_ENGINE_H
#define HX_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bio_metrics.h"
#include "hist.h"
#include "scenario.h"
#include "transport.h"

/** Why a connection's script failed; names in hx_error_name(). */
enum hx_error {
	HX_ERR_SOCKET,		/* socket() or its options failed */
	HX_ERR_CONNECT_REFUSED,
	HX_ERR_CONNECT_FAILED,
	HX_ERR_RESET,		/* ECONNRESET or EPIPE */
	HX_ERR_EOF,		/* the peer closed while a recv step wanted bytes */
	HX_ERR_DATA_MISMATCH,	/* received bytes differ from the pattern sent */
	HX_ERR_SEND_FAILED,
	HX_ERR_RECV_FAILED,
	HX_ERR_SHUTDOWN_FAILED,
	HX_ERR_NOT_CONNECTED,	/* a data step with no connection (script error) */
	HX_ERR_DRAIN_TIMEOUT,	/* still busy long after the run ended */
	HX_ERR_OBJECT,		/* an object step failed: HTTP status, protocol, transport */
	HX_ERR_TIMEOUT,		/* an object step's server was silent past its limit */
	HX_ERR__COUNT,
};

/** The points of a run hx_engine_config.mark is called at. */
enum hx_engine_mark {
	HX_MARK_START,		/* before the first connect */
	HX_MARK_ALL_OPEN,	/* every connection open at once (see mark below) */
};

struct hx_engine_config {
	const struct hx_scenario *sc;
	struct tl_stack *st;
	struct sockaddr_storage addr;	/* the SUT */
	socklen_t addrlen;
	bool progress;			/* a live line on stderr once a second */
	const char *label;		/* "echo_rr kernel", for the progress line */
	/*
	 * Once a second, and once for the last part: the latencies of the transactions that
	 * ended in it (warm-up and drain too), from @p offset_s after the start for @p len_s.
	 * NULL: none. Called on the engine's thread; @p h is reset after it returns.
	 */
	void (*interval)(void *ctx, const struct hist *h, double offset_s, double len_s);
	void *interval_ctx;
	/*
	 * At HX_MARK_START, then once at HX_MARK_ALL_OPEN: the first time all @p open
	 * connections of the scenario are connected at once and each has finished a
	 * transaction on its connection (just connected, for a script with no measure), so
	 * both sides hold what an open connection costs them. NULL: none. Called on the
	 * engine's thread.
	 */
	void (*mark)(void *ctx, enum hx_engine_mark what, unsigned int open);
	void *mark_ctx;
};

/*
 * What the connections cost in memory: the resident set (VmRSS) of the engine's process and
 * of the SUT's, at HX_MARK_START and at HX_MARK_ALL_OPEN (the caller samples them: run.c).
 * Set only where every connection of the scenario was open at once.
 */
struct hx_memory {
	bool measured;
	unsigned int open;		/* connections open at the second sample */
	double engine_before;		/* bytes */
	double engine_open;
	double sut_before;		/* NaN: not known (a SUT at --peer) */
	double sut_open;
};

/* How the engine waits for its connections (metrics.loop.wait). */
enum hx_loop_wait {
	HX_WAIT_POLL,		/* tl_poll, handed every waiting socket each pass */
	HX_WAIT_SET,		/* the stack's wait set */
	HX_WAIT_BLOCKING,	/* one connection: inside its calls (TL_F_BLOCKING_WAIT) */
};

/*
 * What the engine's loop did in the window: how it waited, and per pass how many sockets it
 * handed the stack and how many came back ready. A loop that costs what is open, not what
 * is ready, shows here.
 */
struct hx_loop_metrics {
	enum hx_loop_wait wait;
	uint64_t passes;
	uint64_t handed;	/* tl_poll's sockets, or tl_ws_ctl calls */
	uint64_t ready;		/* sockets the wait returned with events */
};

struct hx_metrics {
	uint64_t transactions;		/* in the window */
	uint64_t bytes_sent;		/* in the window */
	uint64_t bytes_received;
	uint64_t connections;		/* connects completed in the window */
	uint64_t total_bytes_sent;	/* the whole run, for checks against the SUT */
	uint64_t total_bytes_received;
	uint64_t errors;
	uint64_t errors_by[HX_ERR__COUNT];
	double window_s;		/* length of the measured window */
	bool interrupted;		/* stopped by a signal */
	struct hist *latency;		/* owned by the caller */
	struct hx_bio_metrics bio;	/* object steps (engine_bio.c) */
	struct hx_memory memory;	/* filled by the caller at the marks */
	struct hx_loop_metrics loop;
};

/** Name of an error reason, as it appears in the result JSON. */
const char *hx_error_name(enum hx_error e);

/**
 * Run @p cfg's scenario to the end and fill @p m (m->latency must be an empty histogram).
 * Returns 0, or a negative errno when the engine itself could not run (no memory, poll
 * failed); connection errors are not failures of the engine, they are counted.
 */
int hx_engine_run(const struct hx_engine_config *cfg, struct hx_metrics *m);

#endif /* HX_ENGINE_H */
