/* SPDX-License-Identifier: MIT */
/*
 * lang.h - the scenario language's tables (scenarios/README.md is the reference): its steps,
 * its metrics, and the value grammar every statement shares (sizes, times, numbers).
 *
 * Each step and each metric exists once, as an entry here; the parser's messages ("unknown
 * step 'x' (valid: ...)"), `tcplab run --dump-plan`, checks (which metric names are valid and
 * how a result is read) and `tcplab list --json` all come from the entries (STYLE.md 16).
 *
 * Flow: scenario.c reads a line, finds its step (hx_lang_step_find) and lets the step's
 * parse function fill one hx_op; the engine runs ops by their code (engine.c; object steps
 * in engine_bio.c). A check names a metric (hx_lang_metric_find); result.c reads it with the
 * metric's getter and writes every metric of the result JSON from the same entries.
 */
#ifndef HX_LANG_H
#define HX_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

struct hx_json;
struct hx_metrics;

/* ---- values ---- */

/**
 * A size: NUMBER [ b | k | kib | m | mib | g | gib ] in any case, binary multiples (4k and
 * 4kib are 4096), a whole number of bytes (1.5k is 1536); NUMBER is DIGITS [ "." DIGITS ].
 * Returns 0, or -EINVAL for anything else (no range check: the caller has its own).
 */
int hx_lang_parse_size(const char *s, uint64_t *bytes);

/** A count: DIGITS, from @p min to @p max. 0 or -EINVAL. */
int hx_lang_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** A time: NUMBER [ ns | us | ms | s | m ], no unit meaning seconds. 0 or -EINVAL. */
int hx_lang_parse_time(const char *s, int64_t *ns);

/** Whether @p s ends in a time unit (a latency check's limit must say its unit). */
bool hx_lang_time_has_unit(const char *s);

/** A plain value: NUMBER [ k | m | g ], decimal multiples (10k is 10000). 0 or -EINVAL. */
int hx_lang_parse_decimal(const char *s, double *v);

/** @p bytes the way a scenario writes it ("1 byte", "100 bytes", "4k", "16m", "1g"). */
void hx_lang_format_size(uint64_t bytes, char *buf, size_t len);

/* ---- steps ---- */

/** The words of one step line (params resolved) and where a parse error's message goes. */
struct hx_step_args {
	const char *const *w;	/* w[0] is the step's name */
	unsigned int n;
	char *err;		/* the message, without file:line (the parser adds it) */
	size_t errlen;
};

struct hx_step {
	const char *name;
	const char *usage;		/* its arguments as the grammar writes them ("SIZE") */
	const char *limits;		/* what the usage cannot say, for messages; or NULL */
	const char *description;
	enum hx_opcode code;		/* the op it compiles to, which the engine runs */
	bool block;			/* its line opens a block: it ends with '{' */
	/**
	 * Fill @p op's arguments (arg, arg2, arg3; code and line are set by the caller) from
	 * @p a. Returns 0, or -EINVAL with a message in a->err.
	 */
	int (*parse)(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op);
};

/** Every step, NULL-terminated, in the order messages and `tcplab list` give them. */
const struct hx_step *const *hx_lang_steps(void);
/** The step named @p name; NULL if none. */
const struct hx_step *hx_lang_step_find(const char *name);
/** The step that compiles to @p code; NULL for the ops a block's end compiles to. */
const struct hx_step *hx_lang_step_of(enum hx_opcode code);
/** "connect, send, ..." into @p buf, for messages. */
void hx_lang_step_names(char *buf, size_t len);

/* ---- metrics ---- */

enum hx_unit {
	HX_UNIT_COUNT,		/* a plain count */
	HX_UNIT_NS,		/* a latency: a check's limit is a time with its unit */
	HX_UNIT_S,
	HX_UNIT_PER_S,
	HX_UNIT_BIT_PER_S,
	HX_UNIT_BYTES,
	HX_UNIT_RATIO,
};

/** Where a metric sits in the result JSON: metrics.NAME, metrics.latency_ns.NAME, ... */
enum hx_metric_group {
	HX_METRIC_RUN,		/* metrics */
	HX_METRIC_LATENCY,	/* metrics.latency_ns */
	HX_METRIC_BIO,		/* metrics.bio, present when an object step ran */
	HX_METRIC_MEMORY,	/* metrics.memory, present when all connections were open */
	HX_METRIC_LOOP,		/* metrics.loop: the engine's loop */
};

struct hx_metric {
	const char *name;		/* in checks and in the result JSON */
	enum hx_unit unit;
	enum hx_metric_group group;
	bool integer;			/* written as an integer */
	/** Its value in @p m, as the result JSON has it; NaN for none (an empty window's rate). */
	double (*get)(const struct hx_metrics *m);
	const char *description;
};

/** Every metric, in the order the result JSON writes them; the last entry's name is NULL. */
const struct hx_metric *hx_lang_metrics(void);
/** The metric named @p name; NULL if none. */
const struct hx_metric *hx_lang_metric_find(const char *name);
/** "errors, transactions, ..." into @p buf, for messages. */
void hx_lang_metric_names(char *buf, size_t len);
/** "ns", "1/s", ...; "" for a count. */
const char *hx_lang_unit_name(enum hx_unit u);
/** "metrics.latency_ns" and so on. */
const char *hx_lang_group_path(enum hx_metric_group g);

/* ---- listing ---- */

/**
 * Write the members "steps" (name, usage, description) and "metrics" (name, unit, field,
 * description) into the JSON object open on @p j: what `tcplab list --json` shows.
 */
void hx_lang_list_json(struct hx_json *j);

#endif /* HX_LANG_H */
