/* SPDX-License-Identifier: MIT */
/*
 * transport.c - backend lookup and instance lifetime for the tl_* API. The list of backends
 * itself lives in backends_*.c, one file per build configuration, picked by meson.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "transport.h"
#include "transport_pvt.h"

const struct tl_ops *tl_backend_find(const char *name)
{
	const struct tl_ops *const *b;

	for (b = tl_backends(); *b != NULL; b++)
		if (strcmp((*b)->name, name) == 0)
			return *b;
	return NULL;
}

bool tl_backend_has_topology(const struct tl_ops *ops, const char *topology)
{
	const char *const *t;

	for (t = ops->topologies; t != NULL && *t != NULL; t++)
		if (strcmp(*t, topology) == 0)
			return true;
	return false;
}

struct tl_stack *tl_stack_create(const char *name, const struct tl_stack_params *p)
{
	const struct tl_ops *ops = tl_backend_find(name);
	struct tl_stack *st;

	if (ops == NULL) {
		errno = ENOENT;
		return NULL;
	}
	st = ops->create(p);
	if (st != NULL)
		st->ops = ops;
	return st;
}

int tl_stack_check(const char *name, const struct tl_stack_params *p, char *err, size_t len)
{
	const struct tl_ops *ops = tl_backend_find(name);

	if (ops == NULL) {
		snprintf(err, len, "unknown backend '%s'", name);
		return -ENOENT;
	}
	return ops->check(p, err, len);
}

int tl_auto_cpu(enum tl_role role)
{
	int cpu, lo = -1, hi = -1;
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set)) {
			lo = lo < 0 ? cpu : lo;
			hi = cpu;
		}
	if (lo < 0 || lo == hi)
		return -1;
	return role == TL_ROLE_SERVER ? hi : lo;
}

void tl_stack_free(struct tl_stack *st)
{
	if (st != NULL)
		st->ops->free(st);
}

const char *tl_params_get(const struct tl_stack_params *p, const char *key, const char *dflt)
{
	size_t klen = strlen(key);
	unsigned int i;

	for (i = 0; i < p->n_opts; i++)
		if (strncmp(p->opts[i], key, klen) == 0 && p->opts[i][klen] == '=')
			return p->opts[i] + klen + 1;
	return dflt;
}
