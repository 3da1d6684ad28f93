/* SPDX-License-Identifier: MIT */
/*
 * test.h - the unit-test kit: named tests in a table, assertions that print both values and
 * where, exit 0 pass / 1 fail / 77 skip (meson's convention). Test code only: the macros
 * return from the test function on failure.
 */
#ifndef HX_TEST_H
#define HX_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct hx_test {
	const char *name;
	int (*fn)(void);
};

#define EXPECT_TRUE(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);	\
		return 1;							\
	}									\
} while (0)

#define EXPECT_EQ_INT(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);			\
	if (a_ != b_) {								\
		fprintf(stderr, "%s:%d: %s == %s: expected %lld, got %lld\n",	\
			__FILE__, __LINE__, #a, #b, b_, a_);			\
		return 1;							\
	}									\
} while (0)

#define EXPECT_STR_CONTAINS(s, sub) do {					\
	if (strstr((s), (sub)) == NULL) {					\
		fprintf(stderr, "%s:%d: expected \"%s\" to contain \"%s\"\n",	\
			__FILE__, __LINE__, (s), (sub));			\
		return 1;							\
	}									\
} while (0)

/* Run the tests named on the command line, or all; print one line per test. */
static inline int hx_test_main(const struct hx_test *t, unsigned int n, int argc, char **argv)
{
	unsigned int i, failed = 0, ran = 0;
	int a;

	for (i = 0; i < n; i++) {
		int match = argc < 2;

		for (a = 1; a < argc; a++)
			match |= strcmp(argv[a], t[i].name) == 0;
		if (!match)
			continue;
		ran++;
		if (t[i].fn() != 0) {
			printf("FAIL %s\n", t[i].name);
			failed++;
		} else {
			printf("ok   %s\n", t[i].name);
		}
	}
	if (ran == 0) {
		fprintf(stderr, "no test matched\n");
		return 1;
	}
	return failed ? 1 : 0;
}

#endif /* HX_TEST_H */
