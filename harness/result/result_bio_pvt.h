/* SPDX-License-Identifier: MIT */
/*
 * result_bio_pvt.h - the summary line of metrics.bio for result.c (result_bio.c); the metrics
 * themselves are entries of the metric table (result_metrics.c).
 */
#ifndef HX_RESULT_BIO_PVT_H
#define HX_RESULT_BIO_PVT_H

#include <stdio.h>

#include "bio_metrics.h"

/** One summary line of them. */
void hx_bio_metrics_summary(const struct hx_bio_metrics *b, FILE *f);

#endif /* HX_RESULT_BIO_PVT_H */
