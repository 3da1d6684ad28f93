/* SPDX-License-Identifier: MIT */
/* transport_pvt.h - what backends and the backend list share inside stack/. */
#ifndef TL_TRANSPORT_PVT_H
#define TL_TRANSPORT_PVT_H

#include "transport.h"

extern const struct tl_ops tl_kernel_ops;

/** The backends linked into the binary, NULL-terminated (backends_kernel.c). */
const struct tl_ops *const *tl_builtin_backends(void);

#endif /* TL_TRANSPORT_PVT_H */
