/* SPDX-License-Identifier: MIT */
/* bind.h - bind.c's calls (the Go half's C side); see bind.c. */
#ifndef GV_BIND_H
#define GV_BIND_H

/** Bind the calling thread to Go's runtime: 0, or -EBUSY, -ENOMEM. */
int gv_bind_thread(void);
/** Undo gv_bind_thread, from the same thread; nothing when not bound. */
void gv_unbind_thread(void);
/** Called by Go (gvBind) on the bound stack; returns when gv_unbind_thread runs. */
void gv_park(void);

#endif /* GV_BIND_H */
