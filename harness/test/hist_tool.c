/* SPDX-License-Identifier: MIT */
/*
 * hist_tool.c - test helper for pytest: reads one value (ns) per line on stdin, records them
 * in a histogram and prints {"count", "min", "max", "mean", "percentiles": {"50": v, ...}}
 * for the percentiles named on the command line.
 */
#include <stdlib.h>

#include "hist.h"
#include "json.h"

int main(int argc, char **argv)
{
	struct hist *h = hist_create();
	struct hx_json j;
	long long v;
	int i;

	if (h == NULL)
		return 2;
	while (scanf("%lld", &v) == 1)
		hist_record(h, v);
	hx_json_init(&j, stdout, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_uint(&j, "count", h->total);
	hx_json_int(&j, "min", h->total ? h->min : 0);
	hx_json_int(&j, "max", h->max);
	hx_json_double(&j, "mean", hist_mean(h));
	hx_json_obj_begin(&j, "percentiles");
	for (i = 1; i < argc; i++)
		hx_json_int(&j, argv[i], hist_percentile(h, atof(argv[i])));
	hx_json_obj_end(&j);
	hx_json_obj_end(&j);
	putchar('\n');
	hist_free(h);
	return 0;
}
