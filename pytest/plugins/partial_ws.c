/* SPDX-License-Identifier: MIT */
/*
 * partial_ws.c - a plug-in with part of a wait set (ws_create and ws_ctl, no ws_wait nor
 * ws_close): the loader must refuse it, naming the first op missing, since a wait set is all
 * four ops or none (tl_ops.ws_*). Linked with the example (entry renamed example_entry).
 */
#include <errno.h>

#include <tcplab/stack.h>

const struct tl_ops *example_entry(void);

static int no_ws_create(struct tl_stack *st)
{
	(void)st;
	return -EOPNOTSUPP;
}

static int no_ws_ctl(struct tl_stack *st, int ws, int op, int s, uint32_t events,
		     uint64_t cookie)
{
	(void)st;
	(void)ws;
	(void)op;
	(void)s;
	(void)events;
	(void)cookie;
	return -EBADF;
}

const struct tl_ops *tcplab_stack_entry(void)
{
	static struct tl_ops ops;

	ops = *example_entry();
	ops.name = "partial-ws";
	ops.ws_create = no_ws_create;
	ops.ws_ctl = no_ws_ctl;
	return &ops;
}
