/* SPDX-License-Identifier: MIT */
/*
 * engine_bio_pvt.h - the object steps of the scenario language (get, put, raw_get, seek_read,
 * cache_read, verify): their entries in the step table are in scenario_bio.c; engine_bio.c
 * runs them for engine.c.
 *
 * An object step runs to completion inside one engine step: the bio reader, writer and HTTP
 * client wait with blocking calls and tl_poll inside (scenarios/README.md says so). That
 * suits the single-connection object scenarios; a script mixing object steps with many
 * connections would serialize them.
 *
 * Threading rule: the engine's thread, which owns the stack instance.
 */
#ifndef HX_ENGINE_BIO_PVT_H
#define HX_ENGINE_BIO_PVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "pattern.h"
#include "scenario.h"

/** What an object step needs from the engine, built by engine.c for each call. */
struct hx_bio_ctx {
	struct tl_stack *st;
	const struct sockaddr_storage *addr;	/* the SUT */
	socklen_t addrlen;
	bool nodelay;
	const struct hx_pattern *pattern;
	struct hx_metrics *m;
};

/** A connection's object state (HTTP client, reader, cache, destination); NULL until used. */
struct hx_bio_conn;

/**
 * Run the object step @p op to completion on the connection whose state is *@p bc (created
 * on first use). Returns 0, or -1 with *@p why set (the state is then to be freed).
 */
int hx_bio_step(const struct hx_bio_ctx *x, struct hx_bio_conn **bc, const struct hx_op *op,
		enum hx_error *why);
/**
 * Add the counts of the object step @p op that just ended on @p bc to @p m: the bytes moved
 * always, the rest only when @p in_window. The engine decides @p in_window with the clock
 * reading its measure_end right after the step uses too, so a step at the window's edge is
 * counted on both sides or on neither.
 */
void hx_bio_account(struct hx_metrics *m, const struct hx_bio_conn *bc, const struct hx_op *op,
		    bool in_window);
/** Close the connection's HTTP connections and free its state. Accepts NULL. */
void hx_bio_conn_free(struct hx_bio_conn *bc);

#endif /* HX_ENGINE_BIO_PVT_H */
