/* SPDX-License-Identifier: MIT */
/*
 * sys_arch.c - tcplab's lwIP port: the operating-system layer lwIP's sys.h asks for, written
 * for run to completion. Compiled into lwIP when meson builds it from Debian's source
 * (stack/lwip/opts/meson.build) in place of Debian's pthread port (port/sys_arch.c).
 *
 * Why: with Debian's port every lock lwIP's socket layer takes (the core lock around each
 * API call, SYS_ARCH_PROTECT around each socket lookup and event) is a pthread mutex, and a
 * tcpip thread wakes on its own timers and takes the core lock from the polling thread. In
 * this backend one thread runs everything (stk.h), so the port can make those free: the
 * threading rule is in arch/sys_arch.h. A second thread calling into lwIP is a bug in the
 * glue; the core lock checks for it and aborts with a message rather than corrupt lwIP.
 *
 * Waits: lwIP waits on a semaphore or a mailbox where an operation cannot finish at once
 * (a close that must wait for its FIN's buffer, a blocking call on a blocking netconn). Here
 * a wait runs the glue's poll hook (sys_tcplab_set_poll: one pass of the poll loop) until the
 * object is ready or the time is up, which is what the tcpip thread would have done
 * meanwhile. A wait with the core lock held cannot run lwIP again (it is not re-entrant):
 * it times out at once, or aborts when it has no timeout.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "lwip/opt.h"
#include "lwip/sys.h"

struct sys_sem {
	unsigned int count;
};

struct sys_mutex {
	unsigned int depth;
};

struct sys_mbox {
	unsigned int size;
	unsigned int head;	/* next to fetch */
	unsigned int n;		/* messages held */
	void *msg[];
};

struct sys_thread {
	lwip_thread_fn fn;
	void *arg;
};

/* The port's state: lwIP itself is one instance per process, so is its port. */
static struct {
	pthread_t owner;	/* the thread lwIP runs in (sys_init's caller) */
	bool started;		/* tcpip_init is done: lwIP's core is entered under the lock */
	unsigned int core_depth;
	unsigned int protect_depth;
	void (*poll)(void *arg);
	void *poll_arg;
	struct sys_thread tcpip;	/* recorded, never started */
} port;

/* Debian's port holds a mailbox to 128 messages whatever size lwIP asks for (0 by default) */
#define MBOX_DEFAULT_SIZE 128

static void die(const char *what)
{
	fprintf(stderr, "lwip port: %s\n", what);
	abort();
}

/* The DPDK layer's clock (stack/dpdk/clock.h), as the poll loop's timers read it: lwIP runs
 * only after the EAL has started, which is when that clock is valid. */
static u32_t now_ms(void)
{
	return (u32_t)dpk_clock_ms();
}

void sys_tcplab_set_poll(void (*fn)(void *arg), void *arg)
{
	port.poll = fn;
	port.poll_arg = arg;
}

/*
 * Run the poll hook until @p ready says so or @p timeout ms (0: none) pass. Returns the ms
 * waited, or SYS_ARCH_TIMEOUT.
 */
static u32_t wait_for(int (*ready)(const void *obj), const void *obj, u32_t timeout,
		      const char *what)
{
	u32_t start = now_ms(), waited = 0;

	while (!ready(obj)) {
		if (port.poll == NULL || port.core_depth > 0) {
			if (timeout != 0)
				return SYS_ARCH_TIMEOUT;
			die(port.poll == NULL ? what : "a wait with the core lock held");
		}
		waited = now_ms() - start;
		if (timeout != 0 && waited >= timeout)
			return SYS_ARCH_TIMEOUT;
		port.poll(port.poll_arg);
	}
	return waited;
}

/* ---- init, time, threads ---- */

void sys_init(void)
{
	port.owner = pthread_self();
}

u32_t sys_now(void)
{
	return now_ms();
}

u32_t sys_jiffies(void)
{
	return now_ms();
}

/* Only tcpip_init creates a thread; its work is done by tcpip_thread_poll_one from the loop. */
sys_thread_t sys_thread_new(const char *name, lwip_thread_fn function, void *arg, int stacksize,
			    int prio)
{
	(void)name;
	(void)stacksize;
	(void)prio;
	port.tcpip.fn = function;
	port.tcpip.arg = arg;
	port.started = true;	/* tcpip_init's last step: lwip_init ran without the lock */
	return &port.tcpip;
}

/* ---- the core lock and SYS_ARCH_PROTECT: depth counts in the one thread ---- */

void sys_lock_tcpip_core(void)
{
	if (!pthread_equal(pthread_self(), port.owner))
		die("lwIP entered from a second thread (the backend is single-threaded: stk.h)");
	port.core_depth++;
}

void sys_unlock_tcpip_core(void)
{
	if (port.core_depth == 0)
		die("core lock released while not held");
	port.core_depth--;
}

void sys_mark_tcpip_thread(void)
{
}

void sys_check_core_locking(void)
{
	if (port.started && port.core_depth == 0)
		die("lwIP core function called without the core lock");
}

sys_prot_t sys_arch_protect(void)
{
	return port.protect_depth++;
}

void sys_arch_unprotect(sys_prot_t pval)
{
	port.protect_depth = pval;
}

/* ---- mutexes ---- */

err_t sys_mutex_new(sys_mutex_t *mutex)
{
	*mutex = calloc(1, sizeof(**mutex));
	return *mutex ? ERR_OK : ERR_MEM;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
	(*mutex)->depth++;
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
	(*mutex)->depth--;
}

void sys_mutex_free(sys_mutex_t *mutex)
{
	free(*mutex);
	*mutex = NULL;
}

/* ---- semaphores ---- */

err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
	*sem = calloc(1, sizeof(**sem));
	if (*sem == NULL)
		return ERR_MEM;
	(*sem)->count = count;
	return ERR_OK;
}

void sys_sem_signal(sys_sem_t *sem)
{
	(*sem)->count++;
}

static int sem_ready(const void *obj)
{
	return ((const struct sys_sem *)obj)->count > 0;
}

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout)
{
	u32_t r = wait_for(sem_ready, *sem, timeout, "a semaphore wait that nothing can end");

	if (r != SYS_ARCH_TIMEOUT)
		(*sem)->count--;
	return r;
}

void sys_sem_free(sys_sem_t *sem)
{
	free(*sem);
	*sem = NULL;
}

/* ---- mailboxes: a ring of pointers ---- */

err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
	unsigned int n = size > 0 ? (unsigned int)size : MBOX_DEFAULT_SIZE;

	*mbox = calloc(1, sizeof(**mbox) + n * sizeof(void *));
	if (*mbox == NULL)
		return ERR_MEM;
	(*mbox)->size = n;
	return ERR_OK;
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
	struct sys_mbox *mb = *mbox;

	if (mb->n == mb->size)
		return ERR_MEM;
	mb->msg[(mb->head + mb->n) % mb->size] = msg;
	mb->n++;
	return ERR_OK;
}

err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
	return sys_mbox_trypost(mbox, msg);
}

static int mbox_has_room(const void *obj)
{
	const struct sys_mbox *mb = obj;

	return mb->n < mb->size;
}

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
	wait_for(mbox_has_room, *mbox, 0, "a post to a full mailbox that nothing can empty");
	sys_mbox_trypost(mbox, msg);
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
	struct sys_mbox *mb = *mbox;
	void *m;

	if (mb->n == 0)
		return SYS_MBOX_EMPTY;
	m = mb->msg[mb->head];
	mb->head = (mb->head + 1) % mb->size;
	mb->n--;
	if (msg != NULL)
		*msg = m;
	return 0;
}

static int mbox_has_msg(const void *obj)
{
	return ((const struct sys_mbox *)obj)->n > 0;
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout)
{
	u32_t r = wait_for(mbox_has_msg, *mbox, timeout, "a fetch that nothing can answer");

	if (r != SYS_ARCH_TIMEOUT)
		sys_arch_mbox_tryfetch(mbox, msg);
	return r;
}

void sys_mbox_free(sys_mbox_t *mbox)
{
	free(*mbox);
	*mbox = NULL;
}
