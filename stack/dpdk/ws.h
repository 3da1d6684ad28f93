/* SPDX-License-Identifier: MIT */
/*
 * ws.h - the bookkeeping of a user-space stack's wait sets (tl_ops.ws_*, <tcplab/stack.h>):
 * which sockets each set holds, with their events and cookies, and which to look at in its
 * next wait. Shared by the stacks over this layer; it knows nothing of any of them.
 *
 * A stack tells the table when lwIP or netstack signals a socket (dpk_ws_touch: data, room
 * to send, an error, a connection to accept). A wait takes the candidates (dpk_ws_take:
 * those touched, added or changed since, and those ready at the last wait), asks the stack
 * what each has now (pollfd.revents, as its poll would set them), and hands them back
 * (dpk_ws_report): the ready ones are reported, up to a maximum, in turns, and stay
 * candidates (level-triggered, as poll); the others leave the list until touched again. A
 * wait costs what was touched or ready, not what is open.
 *
 * Threading: the polling thread only, or under the lock the stack's event callbacks hold.
 */
#ifndef DPK_WS_H
#define DPK_WS_H

#include <poll.h>
#include <stdint.h>

#include <tcplab/stack.h>

#define DPK_WS_MAX 4	/* wait sets an instance holds at once */

struct dpk_ws;

struct dpk_ws_table {
	unsigned int n_sockets;		/* socket numbers 0 .. n_sockets - 1 */
	struct dpk_ws *ws[DPK_WS_MAX];	/* NULL: that handle is free */
};

/** A new set in @p t: its handle, or -EMFILE, -ENOMEM. */
int dpk_ws_create(struct dpk_ws_table *t);
/** Close set @p ws: 0, or -EBADF. */
int dpk_ws_close(struct dpk_ws_table *t, int ws);
/** Close every set (the instance's free). */
void dpk_ws_close_all(struct dpk_ws_table *t);
/** The set of handle @p ws, or NULL. */
struct dpk_ws *dpk_ws_of(const struct dpk_ws_table *t, int ws);

/** tl_ops.ws_ctl on an open socket @p s: 0, -EEXIST, -ENOENT, -EINVAL (another op). An
 * added or changed socket is a candidate. */
int dpk_ws_ctl(struct dpk_ws *w, int op, int s, uint32_t events, uint64_t cookie);
/** Socket @p s was signalled: a candidate of every set it is in. */
void dpk_ws_touch(struct dpk_ws_table *t, int s);
/** Socket @p s closed: out of every set. */
void dpk_ws_forget(struct dpk_ws_table *t, int s);

/** Move the candidates off the list into @p pf (fd, events; room for n_sockets): how many. */
unsigned int dpk_ws_take(struct dpk_ws *w, struct pollfd *pf);
/** Those of @p pf (from dpk_ws_take, revents filled) that are ready: up to @p max into
 * @p ev, starting where the last report stopped; all of them candidates again. How many
 * went into @p ev. */
unsigned int dpk_ws_report(struct dpk_ws *w, const struct pollfd *pf, unsigned int n,
			   struct tl_event *ev, unsigned int max);

#endif /* DPK_WS_H */
