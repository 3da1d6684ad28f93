/* SPDX-License-Identifier: MIT */
/*
 * arch/sys_arch.h - the types of tcplab's lwIP port (sys_arch.c beside this directory), used
 * by the source build only; it comes before Debian's port on the include path, whose cc.h
 * (compiler and errno facts) is still used.
 *
 * Threading rule of the port: lwIP runs in one thread, the backend's polling thread (see
 * stack/lwip/stk.h). There is no tcpip thread: tcpip_init creates its mailbox, and the poll
 * loop handles what is posted there (tcpip_thread_poll_one). So a lock is a depth count, a
 * mailbox a ring, and a wait (a semaphore or mailbox that is empty) runs the poll hook the
 * glue installed until what it waits for arrives: the stack makes progress while the caller
 * waits, as the tcpip thread made it before.
 */
#ifndef TCPLAB_ARCH_SYS_ARCH_H
#define TCPLAB_ARCH_SYS_ARCH_H

#define SYS_MBOX_NULL NULL
#define SYS_SEM_NULL NULL

struct sys_sem;
typedef struct sys_sem *sys_sem_t;
#define sys_sem_valid(sem)		(((sem) != NULL) && (*(sem) != NULL))
#define sys_sem_valid_val(sem)		((sem) != NULL)
#define sys_sem_set_invalid(sem)	do { if ((sem) != NULL) *(sem) = NULL; } while (0)
#define sys_sem_set_invalid_val(sem)	do { (sem) = NULL; } while (0)

struct sys_mutex;
typedef struct sys_mutex *sys_mutex_t;
#define sys_mutex_valid(mutex)		sys_sem_valid(mutex)
#define sys_mutex_set_invalid(mutex)	sys_sem_set_invalid(mutex)

struct sys_mbox;
typedef struct sys_mbox *sys_mbox_t;
#define sys_mbox_valid(mbox)		sys_sem_valid(mbox)
#define sys_mbox_valid_val(mbox)	sys_sem_valid_val(mbox)
#define sys_mbox_set_invalid(mbox)	sys_sem_set_invalid(mbox)
#define sys_mbox_set_invalid_val(mbox)	sys_sem_set_invalid_val(mbox)

struct sys_thread;
typedef struct sys_thread *sys_thread_t;

/**
 * What a wait runs, once per turn, until its semaphore or mailbox is ready (the glue's poll
 * loop pass). NULL: a wait that would have to block fails (timeout) at once, and one without
 * a timeout aborts the process with a message, since nothing else could ever end it.
 */
void sys_tcplab_set_poll(void (*fn)(void *arg), void *arg);

#endif /* TCPLAB_ARCH_SYS_ARCH_H */
