/* SPDX-License-Identifier: MIT */
/*
 * scenario_steps.c - the step table of the scenario language (lang.h): the list of every
 * step, the connection steps' entries and parse functions, and the helpers all step parse
 * functions share (scenario_pvt.h). The object steps' entries are in scenario_bio.c.
 *
 * A step's parse function sees the words of its line with params resolved and fills one op's
 * arguments; scenario.c does the rest (blocks, the op's code and line, file:line messages).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "scenario_pvt.h"

#define REPEAT_MAX 1000000000u

int hx_step_error(const struct hx_step *s, const struct hx_step_args *a, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(a->err, a->errlen, "%s: ", s->name);
	va_list ap;

	if (n < a->errlen) {
		va_start(ap, fmt);
		vsnprintf(a->err + n, a->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int hx_step_usage_error(const struct hx_step *s, const struct hx_step_args *a)
{
	return hx_step_error(s, a, "expected '%s%s%s'%s%s", s->name, *s->usage ? " " : "",
			     s->usage, s->limits != NULL ? ", " : "",
			     s->limits != NULL ? s->limits : "");
}

int hx_step_size(const struct hx_step *s, const struct hx_step_args *a, const char *word,
		 uint64_t min, uint64_t max, uint64_t *bytes)
{
	char lo[32], hi[32];

	if (hx_lang_parse_size(word, bytes) == 0 && *bytes >= min && *bytes <= max)
		return 0;
	hx_lang_format_size(min, lo, sizeof(lo));
	hx_lang_format_size(max, hi, sizeof(hi));
	return hx_step_error(s, a, "'%s' is not a size from %s to %s (e.g. 64, 4k, 1m)", word,
			     lo, hi);
}

/* ---- the connection steps ---- */

static int parse_none(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	(void)op;
	return a->n == 1 ? 0 : hx_step_error(s, a, "takes no arguments");
}

static int parse_sized(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	if (a->n != 2)
		return hx_step_usage_error(s, a);
	return hx_step_size(s, a, a->w[1], 1, HX_MAX_MSG, &op->arg);
}

static int parse_shutdown(const struct hx_step *s, const struct hx_step_args *a,
			  struct hx_op *op)
{
	static const struct { const char *word; int how; } hows[] = {
		{ "rd", SHUT_RD }, { "wr", SHUT_WR }, { "rdwr", SHUT_RDWR },
	};
	unsigned int i;

	for (i = 0; a->n == 2 && i < sizeof(hows) / sizeof(hows[0]); i++) {
		if (strcmp(a->w[1], hows[i].word) == 0) {
			op->arg = (uint64_t)hows[i].how;
			return 0;
		}
	}
	return hx_step_usage_error(s, a);
}

static int parse_sleep(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	int64_t ns;

	if (a->n != 2)
		return hx_step_usage_error(s, a);
	if (hx_lang_parse_time(a->w[1], &ns) < 0)
		return hx_step_error(s, a, "'%s' is not a time (e.g. 1ms, 100us)", a->w[1]);
	op->arg = (uint64_t)ns;
	return 0;
}

static int parse_repeat(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	if (a->n < 2 || a->n > 3 || strcmp(a->w[a->n - 1], "{") != 0)
		return hx_step_usage_error(s, a);
	if (a->n == 3 && hx_lang_parse_count(a->w[1], 1, REPEAT_MAX, &op->arg) < 0)
		return hx_step_error(s, a, "'%s' is not a count from 1 to %u", a->w[1], REPEAT_MAX);
	return 0;
}

static int parse_measure(const struct hx_step *s, const struct hx_step_args *a,
			 struct hx_op *op)
{
	(void)op;
	return a->n == 2 && strcmp(a->w[1], "{") == 0 ? 0 : hx_step_usage_error(s, a);
}

static const struct hx_step step_connect = {
	.name = "connect", .usage = "", .code = HX_OP_CONNECT, .parse = parse_none,
	.description = "open a socket and connect to the SUT",
};
static const struct hx_step step_send = {
	.name = "send", .usage = "SIZE", .code = HX_OP_SEND, .parse = parse_sized,
	.description = "send SIZE bytes of the pattern stream",
};
static const struct hx_step step_recv = {
	.name = "recv", .usage = "SIZE", .code = HX_OP_RECV, .parse = parse_sized,
	.description = "receive exactly SIZE bytes and verify them against the pattern",
};
static const struct hx_step step_shutdown = {
	.name = "shutdown", .usage = "rd|wr|rdwr", .code = HX_OP_SHUTDOWN,
	.parse = parse_shutdown,
	.description = "shut the connection down in that direction",
};
static const struct hx_step step_close = {
	.name = "close", .usage = "", .code = HX_OP_CLOSE, .parse = parse_none,
	.description = "close the connection (and an object step's connections)",
};
static const struct hx_step step_sleep = {
	.name = "sleep", .usage = "TIME", .code = HX_OP_SLEEP, .parse = parse_sleep,
	.description = "pause this connection; the others keep running",
};
static const struct hx_step step_repeat = {
	.name = "repeat", .usage = "[COUNT] {", .code = HX_OP_LOOP, .block = true,
	.parse = parse_repeat,
	.description = "run the block COUNT times, or until the run ends",
};
static const struct hx_step step_measure = {
	.name = "measure", .usage = "{", .code = HX_OP_MEASURE_BEGIN, .block = true,
	.parse = parse_measure,
	.description = "one transaction: its latency goes into the histogram",
};

static const struct hx_step *const steps[] = {
	&step_connect, &step_send, &step_recv, &step_shutdown, &step_close, &step_sleep,
	&step_repeat, &step_measure,
	&hx_step_get, &hx_step_put, &hx_step_raw_get, &hx_step_seek_read, &hx_step_cache_read,
	&hx_step_verify,
	NULL,
};

const struct hx_step *const *hx_lang_steps(void)
{
	return steps;
}
