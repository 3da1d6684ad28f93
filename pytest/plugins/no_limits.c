/* SPDX-License-Identifier: MIT */
/*
 * no_limits.c - a working plug-in that states no limits (tl_ops.limits NULL): it loads, and
 * `tcplab list --json` shows its limits as null. Linked with the example (entry renamed
 * example_entry).
 */
#include <tcplab/stack.h>

const struct tl_ops *example_entry(void);

const struct tl_ops *tcplab_stack_entry(void)
{
	static struct tl_ops ops;

	ops = *example_entry();
	ops.name = "no-limits";
	ops.limits = NULL;
	return &ops;
}
