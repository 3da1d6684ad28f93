/* SPDX-License-Identifier: MIT */
/*
 * abi_mismatch.c - a plug-in built for another ABI version (BAD_ABI, given by test_plugin.py
 * with -D): the loader must refuse it and say both versions. Linked with the example, whose
 * entry is renamed example_entry.
 */
#include <tcplab/stack.h>

const struct tl_ops *example_entry(void);

const struct tl_ops *tcplab_stack_entry(void)
{
	static struct tl_ops ops;

	ops = *example_entry();
	ops.name = "abi-mismatch";
	ops.abi_version = BAD_ABI;
	return &ops;
}
