/* SPDX-License-Identifier: MIT */
/*
 * scenario_bio.c - the object steps' entries in the step table (scenarios/README.md, "Object
 * steps"): how each parses into one op, which engine_bio.c runs.
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
 *
 * A buffer of 0 means the bio layer's default.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "scenario_pvt.h"

#define OBJ_MAX (UINT64_C(1) << 30)		/* largest object a step names: 1 GiB */
#define DEST_MAX (UINT64_C(256) << 20)		/* largest get/raw_get destination */
#define PAGE 4096u
#define PAGES_MAX 1000000u
#define ALPHA_MAX 5.0

/* [buffer SIZE] at w[i..n): the reader's or writer's buffer (0: the bio default). */
static int opt_buffer(const struct hx_step *s, const struct hx_step_args *a, unsigned int i,
		      unsigned int n, uint64_t *buf)
{
	*buf = 0;
	if (i == n)
		return 0;
	if (n - i != 2 || strcmp(a->w[i], "buffer") != 0)
		return hx_step_usage_error(s, a);
	return hx_step_size(s, a, a->w[i + 1], 1, DEST_MAX, buf);
}

static int parse_get(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	unsigned int n = a->n;

	if (n < 2)
		return hx_step_usage_error(s, a);
	if (n >= 4 && strcmp(a->w[n - 2], "chunk") == 0) {
		if (hx_step_size(s, a, a->w[n - 1], 1, OBJ_MAX, &op->arg3) < 0)
			return -EINVAL;
		n -= 2;
	}
	if (hx_step_size(s, a, a->w[1], 1, DEST_MAX, &op->arg) < 0)
		return -EINVAL;
	return opt_buffer(s, a, 2, n, &op->arg2);
}

static int parse_put(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	if (a->n < 2)
		return hx_step_usage_error(s, a);
	if (hx_step_size(s, a, a->w[1], 1, DEST_MAX, &op->arg) < 0)
		return -EINVAL;
	return opt_buffer(s, a, 2, a->n, &op->arg2);
}

static int parse_raw_get(const struct hx_step *s, const struct hx_step_args *a,
			 struct hx_op *op)
{
	if (a->n != 2)
		return hx_step_usage_error(s, a);
	return hx_step_size(s, a, a->w[1], 1, DEST_MAX, &op->arg);
}

static int parse_seek(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	uint64_t buf = 0, mode;

	if (a->n < 4 || (strcmp(a->w[3], "random") != 0 && strcmp(a->w[3], "inbuffer") != 0))
		return hx_step_usage_error(s, a);
	if (hx_step_size(s, a, a->w[1], 1, OBJ_MAX, &op->arg) < 0 ||
	    hx_step_size(s, a, a->w[2], 1, DEST_MAX, &op->arg2) < 0 ||
	    opt_buffer(s, a, 4, a->n, &buf) < 0)
		return -EINVAL;
	if (op->arg2 > op->arg)
		return hx_step_usage_error(s, a);
	mode = strcmp(a->w[3], "inbuffer") == 0;
	op->arg3 = buf | mode << 62;
	return 0;
}

static int parse_cache(const struct hx_step *s, const struct hx_step_args *a, struct hx_op *op)
{
	double alpha = 0.99;

	if (a->n != 3 && !(a->n == 5 && strcmp(a->w[3], "zipf") == 0))
		return hx_step_usage_error(s, a);
	if (hx_step_size(s, a, a->w[1], PAGE, OBJ_MAX, &op->arg) < 0)
		return -EINVAL;
	if (hx_lang_parse_count(a->w[2], 1, PAGES_MAX, &op->arg2) < 0)
		return hx_step_error(s, a, "'%s' is not a count of pages from 1 to %u", a->w[2],
				     PAGES_MAX);
	if (a->n == 5 && (hx_lang_parse_decimal(a->w[4], &alpha) < 0 ||
			  !(alpha > 0 && alpha <= ALPHA_MAX)))
		return hx_step_error(s, a, "'%s' is not a Zipf exponent in (0, 5]", a->w[4]);
	op->arg3 = (uint64_t)llround(alpha * 1000);
	return 0;
}

static int parse_verify(const struct hx_step *s, const struct hx_step_args *a,
			struct hx_op *op)
{
	(void)op;
	return a->n == 1 ? 0 : hx_step_error(s, a, "takes no arguments");
}

const struct hx_step hx_step_get = {
	.name = "get", .usage = "SIZE [buffer SIZE] [chunk SIZE]",
	.limits = "sizes 1 byte to 256m", .code = HX_OP_OBJ_GET, .parse = parse_get,
	.description = "read /obj/SIZE whole through a bio reader, in one read or in chunks",
};
const struct hx_step hx_step_put = {
	.name = "put", .usage = "SIZE [buffer SIZE]", .limits = "sizes 1 byte to 256m",
	.code = HX_OP_OBJ_PUT, .parse = parse_put,
	.description = "write SIZE pattern bytes as one PUT through a bio writer, acknowledged",
};
const struct hx_step hx_step_raw_get = {
	.name = "raw_get", .usage = "SIZE", .limits = "1 byte to 256m",
	.code = HX_OP_OBJ_RAW_GET, .parse = parse_raw_get,
	.description = "one GET read with a plain recv loop, no buffered layer: the reference",
};
const struct hx_step hx_step_seek_read = {
	.name = "seek_read", .usage = "OBJSIZE READSIZE random|inbuffer [buffer SIZE]",
	.limits = "READSIZE <= OBJSIZE <= 1g", .code = HX_OP_OBJ_SEEK, .parse = parse_seek,
	.description = "a read at a random place: a miss (random) or 16 inside the buffer",
};
const struct hx_step hx_step_cache_read = {
	.name = "cache_read", .usage = "OBJSIZE PAGES [zipf ALPHA]",
	.limits = "OBJSIZE 4k to 1g, PAGES 1 to 1000000, ALPHA in (0, 5]",
	.code = HX_OP_OBJ_CACHE, .parse = parse_cache,
	.description = "one 4 KiB page read through a page cache of PAGES frames, Zipf pages",
};
const struct hx_step hx_step_verify = {
	.name = "verify", .usage = "", .code = HX_OP_OBJ_VERIFY, .parse = parse_verify,
	.description = "check the object the step before read against the pattern",
};
