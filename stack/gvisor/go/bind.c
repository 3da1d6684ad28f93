/* SPDX-License-Identifier: MIT */
/*
 * bind.c - binding the polling thread to the Go runtime (compiled by cgo into the Go half).
 *
 * Go 1.19 runs a call from a thread it did not create on an M borrowed for that call alone
 * (needm, then dropm: six signal-mask and signal-stack syscalls, about 1.6 us here). A thread
 * that is itself inside a call from Go keeps its M, and a call back into Go costs a callback
 * (about 0.1 us). So gv_bind_thread enters Go once (gvBind) on a stack of its own, and Go
 * calls gv_park, which swaps back to the caller's context: the thread returns to the harness
 * while its M stays bound. gv_unbind_thread swaps back into gv_park: gvBind returns, the
 * borrowed M goes back, and uc_link resumes the caller. One bound thread per process (the
 * instance is one per process); every call must come from that thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <ucontext.h>

#include "_cgo_export.h"
#include "bind.h"

#define BOUND_STACK (1u << 20)

static ucontext_t ctx_caller, ctx_parked, ctx_go;
static void *go_stack;

void gv_park(void)
{
	swapcontext(&ctx_parked, &ctx_caller);
}

static void go_entry(void)
{
	gvBind();
}

int gv_bind_thread(void)
{
	if (go_stack != NULL)
		return -EBUSY;
	go_stack = malloc(BOUND_STACK);
	if (go_stack == NULL)
		return -ENOMEM;
	if (getcontext(&ctx_go) < 0) {
		free(go_stack);
		go_stack = NULL;
		return -errno;
	}
	ctx_go.uc_stack.ss_sp = go_stack;
	ctx_go.uc_stack.ss_size = BOUND_STACK;
	ctx_go.uc_link = &ctx_caller;
	makecontext(&ctx_go, go_entry, 0);
	return swapcontext(&ctx_caller, &ctx_go) < 0 ? -errno : 0;
}

void gv_unbind_thread(void)
{
	if (go_stack == NULL)
		return;
	swapcontext(&ctx_caller, &ctx_parked);
	free(go_stack);
	go_stack = NULL;
}
