/* SPDX-License-Identifier: MIT */
/*
 * bio_test_util.h - what the bio unit tests share: a reproducible byte pattern, a seeded
 * generator, and a comparison that says where two byte ranges first differ.
 */
#ifndef BIO_TEST_UTIL_H
#define BIO_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* xorshift64*: seeded, reproducible. */
static inline uint64_t tu_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static inline uint8_t *tu_pattern(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len ? len : 1);
	uint64_t s = seed | 1;
	size_t i;

	for (i = 0; p != NULL && i < len; i++)
		p[i] = (uint8_t)(tu_rand(&s) >> 56);
	return p;
}

/* -1 when equal, else the first differing index (printed with both bytes). */
static inline long tu_diff(const uint8_t *got, const uint8_t *want, size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i]) {
			fprintf(stderr, "%s: byte %zu: expected 0x%02x, got 0x%02x\n", what, i,
				want[i], got[i]);
			return (long)i;
		}
	return -1;
}

#define EXPECT_BYTES(got, want, len) EXPECT_EQ_INT(tu_diff((got), (want), (len), #got), -1)

#endif /* BIO_TEST_UTIL_H */
