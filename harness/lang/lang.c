/* SPDX-License-Identifier: MIT */
/*
 * lang.c - the scenario language's value grammar (sizes, times, plain values), lookups in its
 * step and metric tables (the tables: scenario_steps.c, result_metrics.c) and their listing.
 * Every statement that takes a size, a time or a number goes through here, so the language
 * has one grammar for each (scenarios/README.md, "Grammar").
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "lang.h"

#define EXACT_MAX 9007199254740992.0	/* 2^53: every whole number below is a double */

/* ---- values ---- */

/* NUMBER = DIGITS [ "." DIGITS ]: no sign, exponent or hex, which no scenario means. */
static int scan_number(const char *s, double *v, const char **unit)
{
	const char *p = s;
	char *end;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	errno = 0;
	*v = strtod(s, &end);
	if (end != p || errno != 0 || !isfinite(*v))
		return -EINVAL;
	*unit = p;
	return 0;
}

int hx_lang_parse_size(const char *s, uint64_t *bytes)
{
	static const struct { const char *unit; double mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1024.0 * 1024 }, { "mib", 1024.0 * 1024 },
		{ "g", 1024.0 * 1024 * 1024 }, { "gib", 1024.0 * 1024 * 1024 },
	};
	const char *unit;
	unsigned int i;
	double v;

	if (scan_number(s, &v, &unit) < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(unit, units[i].unit) != 0)
			continue;
		v *= units[i].mul;
		if (v != floor(v) || v >= EXACT_MAX)
			return -EINVAL;
		*bytes = (uint64_t)v;
		return 0;
	}
	return -EINVAL;
}

int hx_lang_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int hx_lang_parse_time(const char *s, int64_t *ns)
{
	static const struct { const char *unit; double mul; } units[] = {
		{ "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 }, { "m", 60e9 },
	};
	const char *unit;
	unsigned int i;
	double v;

	if (scan_number(s, &v, &unit) < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(unit, units[i].unit) == 0 && v * units[i].mul < 9e18) {
			*ns = (int64_t)llround(v * units[i].mul);
			return 0;
		}
	}
	return -EINVAL;
}

bool hx_lang_time_has_unit(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && isalpha((unsigned char)s[n - 1]);
}

int hx_lang_parse_decimal(const char *s, double *v)
{
	const char *unit;

	if (scan_number(s, v, &unit) < 0)
		return -EINVAL;
	if (*unit == '\0')
		return 0;
	if (unit[1] != '\0')
		return -EINVAL;
	switch (tolower((unsigned char)*unit)) {
	case 'k': *v *= 1e3; return 0;
	case 'm': *v *= 1e6; return 0;
	case 'g': *v *= 1e9; return 0;
	default: return -EINVAL;
	}
}

void hx_lang_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "g", UINT64_C(1) << 30 }, { "m", UINT64_C(1) << 20 }, { "k", UINT64_C(1) << 10 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (bytes >= units[i].mul && bytes % units[i].mul == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(bytes / units[i].mul),
				 units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%llu byte%s", (unsigned long long)bytes, bytes == 1 ? "" : "s");
}

/* ---- lookups ---- */

const struct hx_step *hx_lang_step_find(const char *name)
{
	const struct hx_step *const *s;

	for (s = hx_lang_steps(); *s != NULL; s++)
		if (strcmp((*s)->name, name) == 0)
			return *s;
	return NULL;
}

const struct hx_step *hx_lang_step_of(enum hx_opcode code)
{
	const struct hx_step *const *s;

	for (s = hx_lang_steps(); *s != NULL; s++)
		if ((*s)->code == code)
			return *s;
	return NULL;
}

/* Append @p name to the list in @p buf (of @p len bytes, @p used of them taken). */
static size_t join(char *buf, size_t len, size_t used, const char *name)
{
	if (used >= len)
		return used;
	return used + (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

void hx_lang_step_names(char *buf, size_t len)
{
	const struct hx_step *const *s;
	size_t used = 0;

	buf[0] = '\0';
	for (s = hx_lang_steps(); *s != NULL; s++)
		used = join(buf, len, used, (*s)->name);
}

const struct hx_metric *hx_lang_metric_find(const char *name)
{
	const struct hx_metric *m;

	for (m = hx_lang_metrics(); m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

void hx_lang_metric_names(char *buf, size_t len)
{
	const struct hx_metric *m;
	size_t used = 0;

	buf[0] = '\0';
	for (m = hx_lang_metrics(); m->name != NULL; m++)
		used = join(buf, len, used, m->name);
}

const char *hx_lang_unit_name(enum hx_unit u)
{
	static const char *const names[] = {
		[HX_UNIT_COUNT] = "", [HX_UNIT_NS] = "ns", [HX_UNIT_S] = "s",
		[HX_UNIT_PER_S] = "1/s", [HX_UNIT_BIT_PER_S] = "bit/s", [HX_UNIT_BYTES] = "B",
		[HX_UNIT_RATIO] = "ratio",
	};

	return names[u];
}

const char *hx_lang_group_path(enum hx_metric_group g)
{
	static const char *const paths[] = {
		[HX_METRIC_RUN] = "metrics", [HX_METRIC_LATENCY] = "metrics.latency_ns",
		[HX_METRIC_BIO] = "metrics.bio", [HX_METRIC_MEMORY] = "metrics.memory",
		[HX_METRIC_LOOP] = "metrics.loop",
	};

	return paths[g];
}

/* ---- listing ---- */

void hx_lang_list_json(struct hx_json *j)
{
	const struct hx_step *const *s;
	const struct hx_metric *m;
	char field[128];

	hx_json_arr_begin(j, "steps");
	for (s = hx_lang_steps(); *s != NULL; s++) {
		hx_json_obj_begin(j, NULL);
		hx_json_str(j, "name", (*s)->name);
		hx_json_str(j, "usage", (*s)->usage);
		hx_json_str(j, "description", (*s)->description);
		hx_json_obj_end(j);
	}
	hx_json_arr_end(j);
	hx_json_arr_begin(j, "metrics");
	for (m = hx_lang_metrics(); m->name != NULL; m++) {
		snprintf(field, sizeof(field), "%s.%s", hx_lang_group_path(m->group), m->name);
		hx_json_obj_begin(j, NULL);
		hx_json_str(j, "name", m->name);
		hx_json_str(j, "unit", hx_lang_unit_name(m->unit));
		hx_json_str(j, "field", field);
		hx_json_str(j, "description", m->description);
		hx_json_obj_end(j);
	}
	hx_json_arr_end(j);
}
