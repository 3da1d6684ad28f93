/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - the byte stream every tcplab sender writes and every receiver verifies: byte at
 * stream offset o is (o mod 251). The prime period makes a lost, duplicated or reordered
 * chunk show up at any chunk size. Senders point straight into the table (no copy); receivers
 * compare with memcmp.
 */
#ifndef HX_PATTERN_H
#define HX_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HX_PATTERN_PERIOD 251u
#define HX_PATTERN_CHUNK (64u * 1024u)	/* longest run hx_pattern_at hands out */

struct hx_pattern {
	uint8_t bytes[HX_PATTERN_CHUNK + HX_PATTERN_PERIOD];
};

static inline void hx_pattern_init(struct hx_pattern *p)
{
	size_t i;

	for (i = 0; i < sizeof(p->bytes); i++)
		p->bytes[i] = (uint8_t)(i % HX_PATTERN_PERIOD);
}

/** The pattern from stream offset @p off; valid for HX_PATTERN_CHUNK bytes. */
static inline const uint8_t *hx_pattern_at(const struct hx_pattern *p, uint64_t off)
{
	return p->bytes + off % HX_PATTERN_PERIOD;
}

/** Whether @p buf holds the @p len pattern bytes that start at stream offset @p off. */
static inline bool hx_pattern_check(const struct hx_pattern *p, const void *buf, size_t len,
				    uint64_t off)
{
	const uint8_t *b = buf;

	while (len > 0) {
		size_t n = len < HX_PATTERN_CHUNK ? len : HX_PATTERN_CHUNK;

		if (memcmp(b, hx_pattern_at(p, off), n) != 0)
			return false;
		b += n;
		off += n;
		len -= n;
	}
	return true;
}

#endif /* HX_PATTERN_H */
