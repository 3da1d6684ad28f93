/* SPDX-License-Identifier: MIT */
/* backends_all.c - the backend list with lwIP on DPDK built in. */
#include "transport_pvt.h"

const struct tl_ops *const *tl_builtin_backends(void)
{
	static const struct tl_ops *const list[] = { &tl_kernel_ops, &tl_lwip_ops, NULL };

	return list;
}
