/* SPDX-License-Identifier: MIT */
/*
 * sys_debian.c - the glue's side of the lwIP port when Debian's packaged liblwip is linked
 * (meson picks this file or sys_source.c): Debian's pthread port runs a tcpip thread that
 * handles its own mailbox and timers under the core lock, so there is nothing to hook.
 */
#include "stk.h"

void stk_sys_attach(struct stk_netif *nf)
{
	(void)nf;
}

void stk_sys_poll(void)
{
}
