/* SPDX-License-Identifier: MIT */
/* conform_pvt.h - what conform.c (parser) and conform_run.c (runner) share. */
#ifndef HX_CONFORM_PVT_H
#define HX_CONFORM_PVT_H

#include <stdbool.h>

enum cf_opt_kind {
	CF_OPT_INT,
	CF_OPT_LINGER,		/* struct linger: value -1 = off, else on with that many s */
	CF_OPT_TIMEVAL,		/* struct timeval, value in ms */
};

struct cf_option {
	const char *text;
	int level;
	int name;
	enum cf_opt_kind kind;
};

/** The option with this level and name, NULL if the case language has none. */
const struct cf_option *cf_option_find(int level, int name);

#endif /* HX_CONFORM_PVT_H */
