/* SPDX-License-Identifier: MIT */
/* backends_kernel.c - the built-in backends: the kernel only; every other is a plug-in. */
#include "transport_pvt.h"

const struct tl_ops *const *tl_builtin_backends(void)
{
	static const struct tl_ops *const list[] = { &tl_kernel_ops, NULL };

	return list;
}
