/* SPDX-License-Identifier: MIT */
/*
 * scenario.h - the scenario language: parse a scenario file (scenarios/README.md is the
 * reference) into a plan the engine runs. Parsing is all-or-nothing: any error leaves a
 * one-line "file:line: message" in the caller's buffer and nothing runs.
 *
 * The client script compiles to a flat program of hx_op entries, one per step (the step
 * table, lang.h, says which step compiles to which op): loops become a head and a tail that
 * jump to each other, so each connection's state is a program counter, the bytes
 * done in the current step and one counter per loop.
 */
#ifndef HX_SCENARIO_H
#define HX_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpdk/impair.h"

#define HX_MAX_OPS 256
#define HX_MAX_LOOPS 16
#define HX_MAX_CHECKS 32
#define HX_MAX_PARAMS 32
#define HX_NAME_MAX 64
#define HX_TEXT_MAX 256
#define HX_ERR_MAX 512
#define HX_MAX_MSG (16u << 20)	/* largest send or recv step: 16 MiB */

enum hx_opcode {
	HX_OP_CONNECT,
	HX_OP_SEND,		/* arg: bytes */
	HX_OP_RECV,		/* arg: bytes */
	HX_OP_SHUTDOWN,		/* arg: SHUT_RD, SHUT_WR or SHUT_RDWR */
	HX_OP_CLOSE,
	HX_OP_LOOP,		/* arg: count (0: until the run ends); jump: index after the tail */
	HX_OP_NEXT,		/* jump: the loop head */
	HX_OP_MEASURE_BEGIN,
	HX_OP_MEASURE_END,
	HX_OP_SLEEP,		/* arg: ns */
	HX_OP_DONE,
	/* object steps (parsed by scenario_bio.c, run by engine_bio.c) */
	HX_OP_OBJ_GET,
	HX_OP_OBJ_PUT,
	HX_OP_OBJ_RAW_GET,
	HX_OP_OBJ_SEEK,
	HX_OP_OBJ_CACHE,
	HX_OP_OBJ_VERIFY,
};

struct hx_op {
	enum hx_opcode code;
	uint64_t arg;
	uint64_t arg2;		/* object steps: see scenario_bio.c */
	uint64_t arg3;
	unsigned int jump;
	unsigned int loop;	/* loop id, for HX_OP_LOOP and HX_OP_NEXT */
	unsigned int line;	/* source line, for runtime messages */
};

enum hx_pacing {
	HX_PACING_CLOSED,	/* each connection starts its next transaction when one ends */
	HX_PACING_OPEN,		/* transactions start on a fixed schedule (rate per second) */
};

enum hx_cmp {
	HX_CMP_LT,
	HX_CMP_LE,
	HX_CMP_GT,
	HX_CMP_GE,
	HX_CMP_EQ,
};

struct hx_check {
	char metric[HX_NAME_MAX];	/* a metric's name (lang.h) */
	enum hx_cmp cmp;
	double limit;
	char text[HX_TEXT_MAX];		/* as written ($param resolved), for messages */
	unsigned int line;
};

struct hx_param {
	char name[HX_NAME_MAX];
	char value[HX_NAME_MAX];
	unsigned int line;
};

struct hx_scenario {
	char name[HX_NAME_MAX];
	char path[HX_TEXT_MAX];
	char description[HX_TEXT_MAX];
	char program[HX_NAME_MAX];	/* SUT program: echo, sink, source */
	unsigned int conns;
	int64_t duration_ns;
	int64_t warmup_ns;
	enum hx_pacing pacing;
	double rate;			/* transactions/s over all connections (open pacing) */
	bool nodelay;
	char impair[DPK_IMPAIR_SPEC_MAX];	/* impair SPEC (stack/dpdk/impair.h); "" none */
	struct hx_param params[HX_MAX_PARAMS];
	unsigned int n_params;
	struct hx_op ops[HX_MAX_OPS];
	unsigned int n_ops;
	unsigned int n_loops;
	bool has_measure;
	struct hx_check checks[HX_MAX_CHECKS];
	unsigned int n_checks;
};

/** One "key=value" override from the command line (--set, --duration, --rate, --conns). */
struct hx_override {
	const char *key;
	const char *value;
};

/**
 * Parse the scenario at @p path, named @p name, applying @p n overrides. Returns 0, or -EINVAL
 * (bad content or override) / -errno (unreadable file) with a one-line message in @p err.
 */
int hx_scenario_load(struct hx_scenario *sc, const char *name, const char *path,
		     const struct hx_override *ov, unsigned int n, char *err, size_t errlen);

/** Parse from memory (tests); @p path is only used in messages. */
int hx_scenario_parse(struct hx_scenario *sc, const char *name, const char *path,
		      const char *text, const struct hx_override *ov, unsigned int n,
		      char *err, size_t errlen);

/** Whether @p value satisfies @p c. */
bool hx_check_passes(const struct hx_check *c, double value);

/** "<", "<=", ... */
const char *hx_cmp_str(enum hx_cmp cmp);

/** Print the compiled program, for debugging (`tcplab run --dump-plan`). */
void hx_scenario_dump(const struct hx_scenario *sc, FILE *f);

#endif /* HX_SCENARIO_H */
