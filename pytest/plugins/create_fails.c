/* SPDX-License-Identifier: MIT */
/*
 * create_fails.c - a plug-in whose check passes and whose create fails, as a stack does when
 * its device is missing: tcplab must pass its one-line reason on and leave nothing running.
 * Linked with the example, whose entry is renamed example_entry.
 */
#include <errno.h>
#include <stdio.h>

#include <tcplab/stack.h>

const struct tl_ops *example_entry(void);

static struct tl_stack *fail_create(const struct tl_stack_params *p, char *err, size_t len)
{
	(void)p;
	snprintf(err, len, "example-fail: cannot start: no device tlx0 (this plug-in never does)");
	errno = ENODEV;
	return NULL;
}

const struct tl_ops *tcplab_stack_entry(void)
{
	static struct tl_ops ops;

	ops = *example_entry();
	ops.name = "example-fail";
	ops.create = fail_create;
	return &ops;
}
