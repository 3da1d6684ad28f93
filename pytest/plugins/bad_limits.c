/* SPDX-License-Identifier: MIT */
/*
 * bad_limits.c - a plug-in whose stated limits are broken by BREAK(l), given by
 * test_plugin.py with -D (a per-connection floor above its ceiling, a figure without its
 * reason): the loader must refuse it, naming the field. Linked with the example (entry
 * renamed example_entry).
 */
#include <tcplab/stack.h>

const struct tl_ops *example_entry(void);

const struct tl_ops *tcplab_stack_entry(void)
{
	static struct tl_ops ops;
	static struct tl_limits limits;

	ops = *example_entry();
	limits = *ops.limits;
	BREAK(limits);
	ops.name = "bad-limits";
	ops.limits = &limits;
	return &ops;
}
