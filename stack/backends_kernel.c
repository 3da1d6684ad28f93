/* SPDX-License-Identifier: MIT */
/* backends_kernel.c - the backend list when lwIP on DPDK is not built: the kernel only. */
#include "transport_pvt.h"

const struct tl_ops *const *tl_builtin_backends(void)
{
	static const struct tl_ops *const list[] = { &tl_kernel_ops, NULL };

	return list;
}
