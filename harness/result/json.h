/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small streaming JSON writer for results and ready/stats lines. It tracks commas
 * and nesting so callers only name keys and values; strings are escaped per RFC 8259.
 * Non-finite doubles are written as null.
 */
#ifndef HX_JSON_H
#define HX_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HX_JSON_DEPTH 16

struct hx_json {
	FILE *f;
	bool pretty;
	unsigned int depth;
	bool first[HX_JSON_DEPTH];
};

void hx_json_init(struct hx_json *j, FILE *f, bool pretty);
/* key is NULL inside arrays and at the top level */
void hx_json_obj_begin(struct hx_json *j, const char *key);
void hx_json_obj_end(struct hx_json *j);
void hx_json_arr_begin(struct hx_json *j, const char *key);
void hx_json_arr_end(struct hx_json *j);
void hx_json_str(struct hx_json *j, const char *key, const char *v);
void hx_json_int(struct hx_json *j, const char *key, int64_t v);
void hx_json_uint(struct hx_json *j, const char *key, uint64_t v);
void hx_json_double(struct hx_json *j, const char *key, double v);
void hx_json_bool(struct hx_json *j, const char *key, bool v);
void hx_json_null(struct hx_json *j, const char *key);
/** Write @p text, already valid JSON, as the value of @p key. */
void hx_json_raw(struct hx_json *j, const char *key, const char *text);

/*
 * Read a top-level member of a one-line JSON object that tcplab itself wrote (the SUT's ready
 * and stats lines): not a general parser. Return 0, or -ENOENT when the key is absent.
 */
int hx_json_find_uint(const char *line, const char *key, uint64_t *v);
int hx_json_find_str(const char *line, const char *key, char *buf, size_t len);

#endif /* HX_JSON_H */
