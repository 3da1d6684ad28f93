/* SPDX-License-Identifier: MIT */
/*
 * missing_op.c - a plug-in whose ops table lacks recvv: the loader must refuse it, naming
 * the op. test_plugin.py links it with stack/example/example.c, built with its entry renamed
 * example_entry, so the rest of the table is a working one.
 */
#include <tcplab/stack.h>

const struct tl_ops *example_entry(void);

const struct tl_ops *tcplab_stack_entry(void)
{
	static struct tl_ops ops;

	ops = *example_entry();
	ops.name = "missing-op";
	ops.recvv = NULL;
	return &ops;
}
