/* SPDX-License-Identifier: MIT */
/*
 * result.h - the result of one run: metric values by name, check evaluation, and the JSON
 * file in schema tcplab.result/1 (results/README.md documents every field).
 */
#ifndef HX_RESULT_H
#define HX_RESULT_H

#include <stdbool.h>
#include <stdio.h>

#include "engine.h"
#include "scenario.h"

#define HX_SCHEMA "tcplab.result/1"
#define HX_MAX_RESULT_CHECKS (HX_MAX_CHECKS + 4)

struct hx_check_result {
	char name[HX_TEXT_MAX];
	bool ok;
	double value;
	double limit;
	bool ns;		/* a latency: the summary shows it with a unit */
};

struct hx_result {
	const struct hx_scenario *sc;
	const struct hx_metrics *m;
	const char *backend;
	const char *sut_backend;	/* the SUT's: differs from the engine's on a tap */
	const char *topology;
	bool reference;			/* both sides on the Linux baseline backend */
	const char *stack_version;
	const struct tl_counter *counters;
	unsigned int n_counters;
	const char *sut_stats;		/* the SUT's stats line, NULL when there is none */
	bool sut_local;			/* the run started its SUT: a stats line is due */
	const char *captures;		/* "captures" (a JSON object), NULL: none */
	const char *netem;		/* "netem": a kernel side's impairment, NULL: none */
	const struct hx_override *ov;	/* what the command line changed */
	const char *const *stack_opts;	/* the user's --stack-opt, for both sides */
	unsigned int n_stack_opts;
	/* where each side ran: [0] the engine's thread, [1] the SUT's ("" unknown: --peer) */
	char cpus[2][64];
	bool cpu_given[2];		/* by --engine-cpu, --sut-cpu */
	unsigned int n_ov;
	char started_at[32];		/* UTC, ISO 8601 */
	struct hx_check_result checks[HX_MAX_RESULT_CHECKS];
	unsigned int n_checks;
	bool passed;
};

/**
 * A metric (lang.h) by name, as a check reads it: NaN for an unknown name, and for a latency
 * when no transaction was recorded (a latency check must fail then, not pass on a 0).
 */
double hx_metric_value(const struct hx_metrics *m, const char *name);

/**
 * Evaluate the scenario's checks and the built-in ones (data integrity, and for a sink SUT
 * that it received every byte sent); set r->checks and r->passed.
 */
void hx_result_evaluate(struct hx_result *r);

/** Write @p r as JSON to @p f. */
void hx_result_write(const struct hx_result *r, FILE *f);

/** Print the short human summary. */
void hx_result_summary(const struct hx_result *r, const char *json_path, FILE *f);

/** Format @p ns with a unit ("75.2us"). */
void hx_format_ns(double ns, char *buf, size_t len);

#endif /* HX_RESULT_H */
