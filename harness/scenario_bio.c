/* SPDX-License-Identifier: MIT */
/*
 * scenario_bio.c - parsing of the object steps (scenarios/README.md, "Object steps"), called
 * by scenario.c's step parser with the words of one line, params already resolved.
 *
 *   get SIZE [buffer SIZE] [chunk SIZE]          -> HX_OP_OBJ_GET      arg size, arg2 buffer,
 *                                                   arg3 chunk (0: one read of SIZE)
 *   put SIZE [buffer SIZE]                       -> HX_OP_OBJ_PUT      arg size, arg2 buffer
 *   raw_get SIZE                                 -> HX_OP_OBJ_RAW_GET  arg size
 *   seek_read OBJSIZE READSIZE random|inbuffer [buffer SIZE]
 *                                                -> HX_OP_OBJ_SEEK     arg obj, arg2 read,
 *                                                   arg3 buffer | mode << 62
 *   cache_read OBJSIZE PAGES [zipf ALPHA]        -> HX_OP_OBJ_CACHE    arg obj, arg2 pages,
 *                                                   arg3 alpha * 1000
 *   verify                                       -> HX_OP_OBJ_VERIFY
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_bio_pvt.h"

#define OBJ_MAX (UINT64_C(1) << 30)		/* largest object a step names: 1 GiB */
#define DEST_MAX (UINT64_C(256) << 20)		/* largest get/raw_get destination */
#define PAGES_MAX 1000000u

const char hx_bio_step_names[] = "get, put, raw_get, seek_read, cache_read, verify";

static const char *const names[] = { "get", "put", "raw_get", "seek_read", "cache_read",
				     "verify", NULL };

bool hx_bio_step_is(const char *word)
{
	unsigned int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], word) == 0)
			return true;
	return false;
}

/* "4k", "16m", "1g", "100" (binary multiples) -> bytes; 0 on a bad size. */
static uint64_t size_of(const char *s)
{
	char *end;
	double v, mul = 1;

	if (!isdigit((unsigned char)*s))
		return 0;
	v = strtod(s, &end);
	if (strcasecmp(end, "k") == 0)
		mul = 1024;
	else if (strcasecmp(end, "m") == 0)
		mul = 1024 * 1024;
	else if (strcasecmp(end, "g") == 0)
		mul = 1024.0 * 1024 * 1024;
	else if (*end != '\0')
		return 0;
	v *= mul;
	if (v != floor(v) || v < 1 || v > (double)OBJ_MAX)
		return 0;
	return (uint64_t)v;
}

static int bad(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s", what);
	return -EINVAL;
}

/* [buffer SIZE] at tok[i..n): the reader's or writer's buffer (0: the bio default). */
static int opt_buffer(char **tok, unsigned int i, unsigned int n, uint64_t *buf)
{
	*buf = 0;
	if (i == n)
		return 0;
	if (n - i != 2 || strcmp(tok[i], "buffer") != 0)
		return -EINVAL;
	*buf = size_of(tok[i + 1]);
	return *buf == 0 || *buf > DEST_MAX ? -EINVAL : 0;
}

static int parse_get_put(char **tok, unsigned int n, struct hx_op *op, char *err, size_t len)
{
	bool get = tok[0][0] == 'g';

	op->arg = n >= 2 ? size_of(tok[1]) : 0;
	if (get && n >= 4 && strcmp(tok[n - 2], "chunk") == 0) {
		op->arg3 = size_of(tok[n - 1]);
		n -= 2;
		if (op->arg3 == 0)
			op->arg = 0;	/* a bad chunk: the message below */
	}
	if (op->arg == 0 || op->arg > DEST_MAX || opt_buffer(tok, 2, n, &op->arg2) < 0)
		return bad(err, len, get
			   ? "get: expected 'get SIZE [buffer SIZE] [chunk SIZE]', sizes 1 byte to 256m"
			   : "put: expected 'put SIZE [buffer SIZE]', sizes 1 byte to 256m");
	op->code = tok[0][0] == 'g' ? HX_OP_OBJ_GET : HX_OP_OBJ_PUT;
	return 0;
}

static int parse_seek(char **tok, unsigned int n, struct hx_op *op, char *err, size_t len)
{
	uint64_t buf = 0, mode;

	if (n < 4 || (strcmp(tok[3], "random") != 0 && strcmp(tok[3], "inbuffer") != 0) ||
	    (op->arg = size_of(tok[1])) == 0 || (op->arg2 = size_of(tok[2])) == 0 ||
	    op->arg2 > op->arg || op->arg2 > DEST_MAX || opt_buffer(tok, 4, n, &buf) < 0)
		return bad(err, len, "seek_read: expected 'seek_read OBJSIZE READSIZE "
			   "random|inbuffer [buffer SIZE]', READSIZE <= OBJSIZE <= 1g");
	mode = strcmp(tok[3], "inbuffer") == 0;
	op->arg3 = buf | mode << 62;
	op->code = HX_OP_OBJ_SEEK;
	return 0;
}

static int parse_cache(char **tok, unsigned int n, struct hx_op *op, char *err, size_t len)
{
	double alpha = 0.99;
	char *end = NULL;
	unsigned long pages = 0;

	if (n >= 3) {
		errno = 0;
		pages = strtoul(tok[2], &end, 10);
	}
	if (n == 5 && strcmp(tok[3], "zipf") == 0) {
		alpha = strtod(tok[4], &end);
		if (*end != '\0' || !(alpha > 0 && alpha <= 5))
			alpha = -1;
	}
	if ((n != 3 && n != 5) || alpha < 0 || (op->arg = size_of(tok[1])) < 4096 ||
	    pages == 0 || pages > PAGES_MAX || errno != 0)
		return bad(err, len, "cache_read: expected 'cache_read OBJSIZE PAGES [zipf ALPHA]'"
			   " (OBJSIZE >= 4k, PAGES 1 to 1000000, ALPHA in (0, 5])");
	op->arg2 = pages;
	op->arg3 = (uint64_t)llround(alpha * 1000);
	op->code = HX_OP_OBJ_CACHE;
	return 0;
}

int hx_bio_step_parse(char **tok, unsigned int n, struct hx_op *op, char *err, size_t errlen)
{
	const char *s = tok[0];

	if (strcmp(s, "get") == 0 || strcmp(s, "put") == 0)
		return parse_get_put(tok, n, op, err, errlen);
	if (strcmp(s, "raw_get") == 0) {
		if (n != 2 || (op->arg = size_of(tok[1])) == 0 || op->arg > DEST_MAX)
			return bad(err, errlen, "raw_get: expected 'raw_get SIZE', 1 byte to 256m");
		op->code = HX_OP_OBJ_RAW_GET;
		return 0;
	}
	if (strcmp(s, "seek_read") == 0)
		return parse_seek(tok, n, op, err, errlen);
	if (strcmp(s, "cache_read") == 0)
		return parse_cache(tok, n, op, err, errlen);
	if (strcmp(s, "verify") == 0) {
		if (n != 1)
			return bad(err, errlen, "verify takes no arguments");
		op->code = HX_OP_OBJ_VERIFY;
		return 0;
	}
	return bad(err, errlen, "not an object step");
}
