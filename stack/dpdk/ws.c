/* SPDX-License-Identifier: MIT */
/* ws.c - the wait sets' bookkeeping of ws.h. */
#include <errno.h>
#include <stdlib.h>

#include "ws.h"

struct ws_member {
	uint64_t cookie;
	uint32_t events;
	uint8_t in;			/* a member */
	uint8_t listed;			/* among the candidates */
};

struct dpk_ws {
	unsigned int n_sockets;
	unsigned int n_cand;
	unsigned int turn;		/* where the next report starts among the ready */
	int *cand;
	struct ws_member m[];
};

int dpk_ws_create(struct dpk_ws_table *t)
{
	struct dpk_ws *w;
	int i;

	for (i = 0; i < DPK_WS_MAX && t->ws[i] != NULL; i++)
		;
	if (i == DPK_WS_MAX)
		return -EMFILE;
	w = calloc(1, sizeof(*w) + t->n_sockets * sizeof(w->m[0]));
	if (w == NULL)
		return -ENOMEM;
	w->cand = calloc(t->n_sockets, sizeof(w->cand[0]));
	if (w->cand == NULL) {
		free(w);
		return -ENOMEM;
	}
	w->n_sockets = t->n_sockets;
	t->ws[i] = w;
	return i;
}

struct dpk_ws *dpk_ws_of(const struct dpk_ws_table *t, int ws)
{
	return ws >= 0 && ws < DPK_WS_MAX ? t->ws[ws] : NULL;
}

int dpk_ws_close(struct dpk_ws_table *t, int ws)
{
	struct dpk_ws *w = dpk_ws_of(t, ws);

	if (w == NULL)
		return -EBADF;
	free(w->cand);
	free(w);
	t->ws[ws] = NULL;
	return 0;
}

void dpk_ws_close_all(struct dpk_ws_table *t)
{
	int i;

	for (i = 0; i < DPK_WS_MAX; i++)
		dpk_ws_close(t, i);
}

static void list(struct dpk_ws *w, int s)
{
	if (!w->m[s].listed) {
		w->m[s].listed = 1;
		w->cand[w->n_cand++] = s;
	}
}

int dpk_ws_ctl(struct dpk_ws *w, int op, int s, uint32_t events, uint64_t cookie)
{
	struct ws_member *m;

	if (s < 0 || (unsigned int)s >= w->n_sockets)
		return -EBADF;
	m = &w->m[s];
	switch (op) {
	case TL_WS_ADD:
		if (m->in)
			return -EEXIST;
		break;
	case TL_WS_MOD:
	case TL_WS_DEL:
		if (!m->in)
			return -ENOENT;
		break;
	default:
		return -EINVAL;
	}
	m->in = op != TL_WS_DEL;
	m->events = events & (POLLIN | POLLOUT | POLLPRI | POLLRDHUP);
	m->cookie = cookie;
	if (m->in)
		list(w, s);
	return 0;
}

void dpk_ws_touch(struct dpk_ws_table *t, int s)
{
	unsigned int i;

	if (s < 0 || (unsigned int)s >= t->n_sockets)
		return;
	for (i = 0; i < DPK_WS_MAX; i++)
		if (t->ws[i] != NULL && t->ws[i]->m[s].in)
			list(t->ws[i], s);
}

void dpk_ws_forget(struct dpk_ws_table *t, int s)
{
	unsigned int i;

	if (s < 0 || (unsigned int)s >= t->n_sockets)
		return;
	for (i = 0; i < DPK_WS_MAX; i++)
		if (t->ws[i] != NULL)
			t->ws[i]->m[s].in = 0;
}

unsigned int dpk_ws_take(struct dpk_ws *w, struct pollfd *pf)
{
	unsigned int i, n = 0;

	for (i = 0; i < w->n_cand; i++) {
		int s = w->cand[i];

		w->m[s].listed = 0;
		if (w->m[s].in)
			pf[n++] = (struct pollfd){ .fd = s, .events = (short)w->m[s].events };
	}
	w->n_cand = 0;
	return n;
}

unsigned int dpk_ws_report(struct dpk_ws *w, const struct pollfd *pf, unsigned int n,
			   struct tl_event *ev, unsigned int max)
{
	unsigned int k, i, out = 0, next = w->turn;

	for (k = 0; k < n && out < max; k++) {
		i = (w->turn + k) % n;
		if (pf[i].revents == 0 || !w->m[pf[i].fd].in)
			continue;
		ev[out++] = (struct tl_event){ .cookie = w->m[pf[i].fd].cookie,
					       .revents = (uint16_t)pf[i].revents };
		next = i + 1;
	}
	/* the ready stay, in the order taken, so that the next report goes on from @next */
	for (i = 0; i < n; i++)
		if (pf[i].revents != 0 && w->m[pf[i].fd].in)
			list(w, pf[i].fd);
	w->turn = n > 0 ? next % n : 0;
	return out;
}
