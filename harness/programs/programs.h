/* SPDX-License-Identifier: MIT */
/*
 * programs.h - the SUT programs behind `tcplab serve PROGRAM`: one ops table each, found by
 * name, listed in one place (programs.c). serve.c owns the accept/poll loop and calls a
 * program when one of its connections is ready.
 *
 * Threading rule: everything here runs on the one thread that owns the serve context and its
 * stack instance.
 */
#ifndef HX_PROGRAMS_H
#define HX_PROGRAMS_H

#include <stddef.h>
#include <stdint.h>

#include "pattern.h"
#include "transport.h"

#define HX_SERVE_BUF (64u * 1024u)

/** What the SUT reports with `stats`: totals over every connection it served. */
struct hx_serve_stats {
	uint64_t accepted;
	uint64_t open;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t mismatches;	/* chunks that did not match the pattern (sink) */
	uint64_t resets;	/* connections that ended in an error, not an orderly EOF */
	uint64_t ready_waits;	/* the loop's waits (tl_poll, or tl_ws_wait) that found
				 * something ready (idle ones are not counted) */
	uint64_t wait_entries;	/* sockets those went through: every one handed to tl_poll,
				 * or every event tl_ws_wait returned */
};

/** One accepted connection. */
struct hx_sconn {
	int s;			/* -1: slot free */
	uint64_t rx_off;	/* stream offsets, for pattern checks and sends */
	uint64_t tx_off;
	uint8_t *buf;		/* echo: bytes received and not yet sent back */
	size_t pend_off;
	size_t pend_len;
	bool watched;		/* serve.c: in the wait set, waiting for ws_events */
	short ws_events;
};

/** The serve context a program works in. */
struct hx_serve {
	struct tl_stack *st;
	const struct hx_program *prog;
	struct hx_sconn *conns;
	unsigned int n_conns;	/* slots in use or free, up to cap */
	unsigned int cap;
	int ws;			/* the loop's wait set; -1: none, it polls (serve.c) */
	struct hx_serve_stats stats;
	struct hx_pattern pattern;
	uint8_t scratch[HX_SERVE_BUF];
};

struct hx_program {
	const char *name;
	const char *description;
	/** Poll events the connection waits for now. */
	short (*events)(const struct hx_sconn *c);
	/** Move what can move without blocking. Returns 0 to keep, 1 on orderly EOF, <0 error. */
	int (*ready)(struct hx_serve *sv, struct hx_sconn *c, short revents);
};

/** The objects program (programs_objects.c): HTTP/1.1 GET/PUT of pattern objects. */
extern const struct hx_program hx_program_objects;

/** Find a program by name; NULL if none. */
const struct hx_program *hx_program_find(const char *name);
/** The programs, NULL-terminated, in the order `tcplab list` prints them. */
const struct hx_program *const *hx_programs(void);
/** "echo, sink, source" into @p buf, for messages. */
void hx_program_names(char *buf, size_t len);

#endif /* HX_PROGRAMS_H */
