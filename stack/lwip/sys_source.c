/* SPDX-License-Identifier: MIT */
/*
 * sys_source.c - the glue's side of tcplab's lwIP port (stack/lwip/opts/sys_arch.c), linked
 * when lwIP is built from source (meson picks this file or sys_debian.c). There is no tcpip
 * thread: the poll loop handles what lwIP posts to the tcpip mailbox, and a wait inside lwIP
 * runs loop passes (the port's poll hook) until it is over. The threading rule: stk.h.
 */
#include <stdbool.h>

#include "lwip/tcpip.h"

#include "stk.h"

static void poll_pass(void *nf)
{
	bool changed;

	stk_loop_once(nf, &changed);
}

void stk_sys_attach(struct stk_netif *nf)
{
	sys_tcplab_set_poll(nf ? poll_pass : NULL, nf);
}

void stk_sys_poll(void)
{
	while (tcpip_thread_poll_one() > 0) {
	}
}
