/* SPDX-License-Identifier: MIT */
/*
 * guard.c - a guard around memif's RX and TX bursts against its asynchronous teardown.
 * Used by port.c on memif ports only.
 *
 * DPDK 22.11's memif PMD tears a connection down in the EAL interrupt thread when the peer's
 * control socket closes (the peer process died): memif_disconnect clears the connected flag
 * and then unmaps the shared rings (memif_free_regions). A burst that checked the flag just
 * before reads unmapped memory and the process dies of SIGSEGV (seen about one kill in ten:
 * pytest/test_lwip.py::test_kill_mid_run_leaves_nothing). The PMD offers no lock to take
 * against it, and the kernel closes the dead peer's socket before anyone can be told. So the
 * burst is guarded: a fault inside it jumps back to the burst's caller, which declares the
 * port gone (the link is down by then) and never touches it again; the run then ends with
 * the usual "link went down" error instead of a crash. A fault anywhere else goes to the
 * handler that was there before (the default action, or AddressSanitizer's).
 *
 * The handler can reach only process state: the guard is one thread-local pointer, set only
 * for the length of a burst by the polling thread (the exception to STYLE.md's no-globals
 * rule that a signal handler forces).
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "dpdk_pvt.h"

/* initial-exec: the layer is linked into dlopen'd plug-ins, where the default model reads a
 * thread-local through __tls_get_addr, twice a burst; 8 bytes fit glibc's static TLS surplus */
static _Thread_local sigjmp_buf *volatile armed __attribute__((tls_model("initial-exec")));
static struct sigaction before_segv, before_bus;
static bool installed;

static void on_fault(int sig)
{
	sigjmp_buf *jb = (sigjmp_buf *)armed;

	if (jb != NULL) {
		armed = NULL;
		siglongjmp(*jb, 1);
	}
	/* not ours: the previous handler takes the fault when the instruction runs again */
	sigaction(sig, sig == SIGBUS ? &before_bus : &before_segv, NULL);
}

int dpk_guard_install(void)
{
	struct sigaction sa;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	/* the jump leaves the handler without returning: keep the signal unblocked */
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &before_segv) < 0 || sigaction(SIGBUS, &sa, &before_bus) < 0)
		return -1;
	installed = true;
	return 0;
}

void dpk_guard_remove(void)
{
	if (!installed)
		return;
	sigaction(SIGSEGV, &before_segv, NULL);
	sigaction(SIGBUS, &before_bus, NULL);
	installed = false;
}

/*
 * The signal fences keep the compiler from moving the guarded accesses out of the armed
 * window (with link-time optimization they are inlined into the caller, and a plain store
 * may move past a load of the rings).
 */
void dpk_guard_arm(sigjmp_buf *jb)
{
	armed = jb;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void dpk_guard_disarm(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	armed = NULL;
}
