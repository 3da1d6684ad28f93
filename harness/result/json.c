/* SPDX-License-Identifier: MIT */
/* json.c - the streaming JSON writer of json.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "json.h"

void hx_json_init(struct hx_json *j, FILE *f, bool pretty)
{
	j->f = f;
	j->pretty = pretty;
	j->depth = 0;
	j->first[0] = true;
}

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void indent(struct hx_json *j)
{
	unsigned int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Comma, newline and key before a value. */
static void member(struct hx_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (j->depth > 0)
		indent(j);
	if (key != NULL) {
		put_string(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_(struct hx_json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < HX_JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct hx_json *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->f);
	if (j->depth == 0 && j->pretty)
		fputc('\n', j->f);
}

void hx_json_obj_begin(struct hx_json *j, const char *key)
{
	open_(j, key, '{');
}

void hx_json_obj_end(struct hx_json *j)
{
	close_(j, '}');
}

void hx_json_arr_begin(struct hx_json *j, const char *key)
{
	open_(j, key, '[');
}

void hx_json_arr_end(struct hx_json *j)
{
	close_(j, ']');
}

void hx_json_str(struct hx_json *j, const char *key, const char *v)
{
	member(j, key);
	put_string(j->f, v);
}

void hx_json_int(struct hx_json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void hx_json_uint(struct hx_json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void hx_json_double(struct hx_json *j, const char *key, double v)
{
	member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.12g", v);
	else
		fputs("null", j->f);
}

void hx_json_bool(struct hx_json *j, const char *key, bool v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void hx_json_null(struct hx_json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void hx_json_raw(struct hx_json *j, const char *key, const char *text)
{
	member(j, key);
	fputs(text, j->f);
}

static const char *find_value(const char *line, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p != NULL ? p + strlen(pat) : NULL;
}

int hx_json_find_uint(const char *line, const char *key, uint64_t *v)
{
	const char *p = find_value(line, key);
	char *end;

	if (p == NULL)
		return -ENOENT;
	*v = strtoull(p, &end, 10);
	return end == p ? -ENOENT : 0;
}

int hx_json_find_str(const char *line, const char *key, char *buf, size_t len)
{
	const char *p = find_value(line, key), *q;

	if (p == NULL || *p != '"' || (q = strchr(p + 1, '"')) == NULL || len == 0)
		return -ENOENT;
	snprintf(buf, len, "%.*s", (int)(q - p - 1), p + 1);
	return 0;
}
