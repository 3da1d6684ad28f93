/* SPDX-License-Identifier: MIT */
/*
 * scenario_pvt.h - what the scenario parser's files share: the step entries defined outside
 * scenario_steps.c (which lists every step, lang.h) and the helpers step parse functions
 * use, so that every step words its messages, and reads its sizes, the same way.
 */
#ifndef HX_SCENARIO_PVT_H
#define HX_SCENARIO_PVT_H

#include <stdint.h>

#include "lang.h"

/* The object steps (scenario_bio.c), run by engine_bio.c. */
extern const struct hx_step hx_step_get;
extern const struct hx_step hx_step_put;
extern const struct hx_step hx_step_raw_get;
extern const struct hx_step hx_step_seek_read;
extern const struct hx_step hx_step_cache_read;
extern const struct hx_step hx_step_verify;

/** "NAME: expected 'NAME USAGE'" and the step's limits, in a->err. Returns -EINVAL. */
int hx_step_usage_error(const struct hx_step *s, const struct hx_step_args *a);

/** "NAME: " and the formatted message, in a->err. Returns -EINVAL. */
int hx_step_error(const struct hx_step *s, const struct hx_step_args *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * @p word as a size (hx_lang_parse_size) from @p min to @p max bytes into @p bytes. Returns 0,
 * or -EINVAL with "NAME: 'WORD' is not a size from MIN to MAX (e.g. ...)" in a->err.
 */
int hx_step_size(const struct hx_step *s, const struct hx_step_args *a, const char *word,
		 uint64_t min, uint64_t max, uint64_t *bytes);

#endif /* HX_SCENARIO_PVT_H */
