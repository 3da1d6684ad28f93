/* SPDX-License-Identifier: MIT */
/*
 * test_conform_ports.c - how a conformance trace prints a port (cf_port_text): a fixed port
 * as its number, a stack's ephemeral pick as "eph", and a fixed port the stack byte-swapped
 * as "swapped:N", so that no stack's byte-order slip hides behind the ephemeral rule.
 */
#include <stdlib.h>

#include "conform.h"
#include "test.h"

static struct cf_side *side_naming(enum cf_op op, unsigned int port)
{
	struct cf_side *cs = calloc(1, sizeof(*cs));

	if (cs != NULL) {
		cs->steps[0].op = op;
		cs->steps[0].port = port;
		cs->n_steps = 1;
	}
	return cs;
}

static int expect_port(const struct cf_side *cs, unsigned int port, const char *want)
{
	char out[24];

	cf_port_text(cs, port, out, sizeof(out));
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "port %u: expected \"%s\", got \"%s\"\n", port, want, out);
		return 1;
	}
	return 0;
}

/* 5000 is 0x1388; swapped, 0x8813 = 34835, which is in the ephemeral range. */
static int test_swapped_named_port_is_caught(void)
{
	struct cf_side *cs = side_naming(CF_BIND, 5000);
	int bad;

	EXPECT_TRUE(cs != NULL);
	bad = expect_port(cs, 5000, "5000") || expect_port(cs, 34835, "swapped:5000") ||
	      expect_port(cs, 34836, "eph") || expect_port(cs, 60999, "eph") ||
	      expect_port(cs, 0, "0") || expect_port(cs, 5001, "5001");
	free(cs);
	return bad;
}

/* A connect's port counts as named too; a port named by no call is not "swapped". */
static int test_connect_port_is_named(void)
{
	struct cf_side *cs = side_naming(CF_CONNECT, 5999);	/* 0x176f -> 0x6f17 = 28439 */
	int bad;

	EXPECT_TRUE(cs != NULL);
	bad = expect_port(cs, 28439, "28439") || expect_port(cs, 0x8813, "eph");
	cs->steps[0].port = 4097;				/* 0x1001 -> 0x0110 = 272 */
	bad = bad || expect_port(cs, 0x0110, "272");
	cs->steps[0].port = 6000;				/* 0x1770 -> 0x7017 = 28695 */
	bad = bad || expect_port(cs, 0x7017, "28695");
	cs->steps[0].port = 4200;				/* 0x1068 -> 0x6810 = 26640 */
	bad = bad || expect_port(cs, 0x6810, "26640");
	cs->steps[0].port = 5001;				/* 0x1389 -> 0x8913 = 35091 */
	bad = bad || expect_port(cs, 0x8913, "swapped:5001");
	free(cs);
	return bad;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "swapped_named_port_is_caught", test_swapped_named_port_is_caught },
		{ "connect_port_is_named", test_connect_port_is_named },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
