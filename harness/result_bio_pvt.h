/* SPDX-License-Identifier: MIT */
/*
 * result_bio_pvt.h - metrics.bio for result.c (result_bio.c).
 */
#ifndef HX_RESULT_BIO_PVT_H
#define HX_RESULT_BIO_PVT_H

#include <stdio.h>

#include "bio_metrics.h"
#include "json.h"

/** metrics.bio: the object steps' counters (written only when one ran). */
void hx_bio_metrics_write(struct hx_json *j, const struct hx_bio_metrics *b);
/** A metrics.bio value by the name a check uses; false when @p name is not one. */
bool hx_bio_metric_value(const struct hx_bio_metrics *b, const char *name, double *v);
/** One summary line of them. */
void hx_bio_metrics_summary(const struct hx_bio_metrics *b, FILE *f);

#endif /* HX_RESULT_BIO_PVT_H */
