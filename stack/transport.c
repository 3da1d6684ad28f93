/* SPDX-License-Identifier: MIT */
/*
 * transport.c - where backends come from, and instance lifetime for the tl_* API.
 *
 * A backend is built in (the kernel: transport_pvt.h) or a plug-in: a shared object exporting
 * tcplab_stack_entry (<tcplab/stack.h>). A plug-in is named by path (anything with a '/') or
 * by name: tcplab-stack-NAME.so in the build's own plug-in folders (TCPLAB_PLUGIN_PATH, set
 * by meson), then in each folder of $TCPLAB_STACK_PATH; the first found wins. Loaded objects
 * stay loaded for the life of the process; the list is filled once, on first use.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_path.h"
#include "transport.h"
#include "transport_pvt.h"

#define MAX_BACKENDS 32
#define PLUGIN_PREFIX "tcplab-stack-"
#define PLUGIN_SUFFIX ".so"

struct backend_list {
	struct tl_backend b[MAX_BACKENDS];
	const struct tl_backend *list[MAX_BACKENDS + 1];
	char paths[MAX_BACKENDS][PATH_MAX];
	unsigned int n;
	bool scanned;
	/* plug-ins on the search path that did not load: why, for `--backend NAME` */
	struct {
		char name[64];
		int err;
		char why[512];
	} failed[MAX_BACKENDS];
	unsigned int n_failed;
};

/* The one list of the process: backends are process-wide, like the code they are. */
static struct backend_list *backends(void)
{
	static struct backend_list bl;

	return &bl;
}

static const struct tl_backend *add(struct backend_list *bl, const struct tl_ops *ops,
				    const char *path)
{
	struct tl_backend *b;

	if (bl->n == MAX_BACKENDS)
		return NULL;
	b = &bl->b[bl->n];
	b->ops = ops;
	b->origin = path != NULL ? "plug-in" : "built-in";
	if (path != NULL) {
		snprintf(bl->paths[bl->n], sizeof(bl->paths[0]), "%s", path);
		b->path = bl->paths[bl->n];
	}
	bl->list[bl->n++] = b;
	bl->list[bl->n] = NULL;
	return b;
}

static const struct tl_backend *find_loaded(const char *name, const char *path)
{
	struct backend_list *bl = backends();
	unsigned int i;

	for (i = 0; i < bl->n; i++)
		if ((name != NULL && strcmp(bl->b[i].ops->name, name) == 0) ||
		    (path != NULL && bl->b[i].path != NULL && strcmp(bl->b[i].path, path) == 0))
			return &bl->b[i];
	return NULL;
}

/* Every op is mandatory (tl_ops): the first one missing, or NULL. */
static const char *missing_op(const struct tl_ops *o)
{
	const struct { const char *name; const void *fn; } ops[] = {
		{ "check", (const void *)o->check }, { "create", (const void *)o->create },
		{ "free", (const void *)o->free }, { "socket", (const void *)o->socket },
		{ "bind", (const void *)o->bind }, { "listen", (const void *)o->listen },
		{ "accept", (const void *)o->accept }, { "connect", (const void *)o->connect },
		{ "send", (const void *)o->send }, { "recv", (const void *)o->recv },
		{ "sendv", (const void *)o->sendv }, { "recvv", (const void *)o->recvv },
		{ "shutdown", (const void *)o->shutdown }, { "close", (const void *)o->close },
		{ "setsockopt", (const void *)o->setsockopt },
		{ "getsockopt", (const void *)o->getsockopt },
		{ "getsockname", (const void *)o->getsockname },
		{ "getpeername", (const void *)o->getpeername },
		{ "set_nonblock", (const void *)o->set_nonblock },
		{ "poll", (const void *)o->poll },
		{ "bytes_available", (const void *)o->bytes_available },
		{ "default_addr", (const void *)o->default_addr },
		{ "counters", (const void *)o->counters }, { "version", (const void *)o->version },
	};
	size_t i;

	if (o->name == NULL || o->name[0] == '\0')
		return "name";
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].fn == NULL)
			return ops[i].name;
	return NULL;
}

/* dlopen @p path and take its ops table, checked; the handle stays open on success. */
static int load(const char *path, const struct tl_ops **out, char *err, size_t len)
{
	tl_stack_entry_fn *entry;
	const struct tl_ops *ops;
	const char *hole;
	void *h;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, len, "cannot load plug-in %s: %s", path, dlerror());
		return -ENOEXEC;
	}
	*(void **)&entry = dlsym(h, TCPLAB_STACK_ENTRY);
	if (entry == NULL) {
		snprintf(err, len, "plug-in %s has no entry symbol %s (see <tcplab/stack.h>)", path,
			 TCPLAB_STACK_ENTRY);
		goto err_close;
	}
	ops = entry();
	if (ops == NULL || ops->abi_version != TCPLAB_STACK_ABI_VERSION) {
		snprintf(err, len, "plug-in %s was built for stack ABI version %u; this tcplab "
			 "has version %u", path, ops != NULL ? ops->abi_version : 0,
			 TCPLAB_STACK_ABI_VERSION);
		dlclose(h);
		return -EPROTO;
	}
	hole = missing_op(ops);
	if (hole != NULL) {
		snprintf(err, len, "plug-in %s: its ops table has no %s", path, hole);
		dlclose(h);
		return -EINVAL;
	}
	*out = ops;
	return 0;

err_close:
	dlclose(h);
	return -ENOSYS;
}

/* The search path: the build's own plug-in folders, then $TCPLAB_STACK_PATH; ':' between. */
static void search_path(char *buf, size_t len)
{
	const char *env = getenv("TCPLAB_STACK_PATH");

	snprintf(buf, len, "%s%s%s", TCPLAB_PLUGIN_PATH, env != NULL ? ":" : "",
		 env != NULL ? env : "");
}

/* NAME of tcplab-stack-NAME.so, or NULL for a file of another name. */
static bool plugin_name(const char *file, char *name, size_t len)
{
	size_t n = strlen(file), pre = strlen(PLUGIN_PREFIX), suf = strlen(PLUGIN_SUFFIX);

	if (n <= pre + suf || strncmp(file, PLUGIN_PREFIX, pre) != 0 ||
	    strcmp(file + n - suf, PLUGIN_SUFFIX) != 0 || n - pre - suf >= len)
		return false;
	snprintf(name, len, "%.*s", (int)(n - pre - suf), file + pre);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first failure of a name wins, as the first plug-in found of a name would have. */
static void remember_failed(struct backend_list *bl, const char *name, int err, const char *why)
{
	unsigned int i;

	for (i = 0; i < bl->n_failed; i++)
		if (strcmp(bl->failed[i].name, name) == 0)
			return;
	if (bl->n_failed == MAX_BACKENDS)
		return;
	snprintf(bl->failed[i].name, sizeof(bl->failed[i].name), "%s", name);
	snprintf(bl->failed[i].why, sizeof(bl->failed[i].why), "%s", why);
	bl->failed[i].err = err;
	bl->n_failed++;
}

/* Plug-ins of one folder, by name; those that do not load are left out of the list. */
static void scan_dir(struct backend_list *bl, const char *dir)
{
	char name[64], path[PATH_MAX], err[512], *files[MAX_BACKENDS];
	const struct tl_ops *ops;
	unsigned int n = 0, i;
	struct dirent *e;
	DIR *d = opendir(dir);
	int r;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < MAX_BACKENDS)
		if (plugin_name(e->d_name, name, sizeof(name)))
			files[n++] = strdup(e->d_name);
	closedir(d);
	qsort(files, n, sizeof(files[0]), cmp_str);
	for (i = 0; i < n; i++) {
		if (files[i] != NULL && plugin_name(files[i], name, sizeof(name)) &&
		    find_loaded(name, NULL) == NULL) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			r = load(path, &ops, err, sizeof(err));
			if (r == 0 && strcmp(ops->name, name) != 0) {
				snprintf(err, sizeof(err),
					 "plug-in %.300s calls itself '%.64s', not '%.64s'",
					 path, ops->name, name);
				r = -EINVAL;
			}
			if (r == 0)
				add(bl, ops, path);
			else
				remember_failed(bl, name, r, err);
		}
		free(files[i]);
	}
}

static struct backend_list *scanned(void)
{
	struct backend_list *bl = backends();
	char sp[4096], *dir, *save = NULL;
	const struct tl_ops *const *b;

	if (bl->scanned)
		return bl;
	bl->scanned = true;
	for (b = tl_builtin_backends(); *b != NULL; b++)
		add(bl, *b, NULL);
	search_path(sp, sizeof(sp));
	for (dir = strtok_r(sp, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
		scan_dir(bl, dir);
	return bl;
}

const struct tl_backend *const *tl_backends(void)
{
	return scanned()->list;
}

static int open_path(const char *path, const struct tl_backend **out, char *err, size_t len)
{
	char real[PATH_MAX];
	const struct tl_ops *ops;
	int r;

	if (realpath(path, real) == NULL) {
		snprintf(err, len, "cannot load plug-in %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	*out = find_loaded(NULL, real);
	if (*out != NULL)
		return 0;
	r = load(real, &ops, err, len);
	if (r < 0)
		return r;
	if (find_loaded(ops->name, NULL) != NULL) {
		snprintf(err, len, "plug-in %s is named %s, as a backend already found is", path,
			 ops->name);
		return -EEXIST;
	}
	*out = add(backends(), ops, real);
	if (*out == NULL) {
		snprintf(err, len, "more than %d backends", MAX_BACKENDS);
		return -ENOSPC;
	}
	return 0;
}

int tl_backend_open(const char *name, const struct tl_backend **out, char *err, size_t len)
{
	const struct tl_backend *const *b;
	unsigned int i;
	size_t off;

	scanned();
	if (strchr(name, '/') != NULL)
		return open_path(name, out, err, len);
	*out = find_loaded(name, NULL);
	if (*out != NULL)
		return 0;
	for (i = 0; i < backends()->n_failed; i++)
		if (strcmp(backends()->failed[i].name, name) == 0) {
			snprintf(err, len, "%s", backends()->failed[i].why);
			return backends()->failed[i].err;
		}
	off = (size_t)snprintf(err, len, "unknown backend '%s' (valid:", name);
	for (b = tl_backends(); *b != NULL && off < len; b++)
		off += (size_t)snprintf(err + off, len - off, " %s", (*b)->ops->name);
	if (off < len)
		snprintf(err + off, len - off, "; or the path of a plug-in)");
	return -ENOENT;
}

const struct tl_ops *tl_backend_find(const char *name)
{
	const struct tl_backend *b;
	char err[512];

	return tl_backend_open(name, &b, err, sizeof(err)) == 0 ? b->ops : NULL;
}

struct tl_stack *tl_stack_create(const char *name, const struct tl_stack_params *p, char *err,
				 size_t len)
{
	const struct tl_backend *b;
	struct tl_stack *st;
	int r = tl_backend_open(name, &b, err, len);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	err[0] = '\0';
	st = b->ops->create(p, err, len);
	if (st == NULL) {
		if (errno == 0)
			errno = EIO;
		if (err[0] == '\0')
			snprintf(err, len, "%s", strerror(errno));
		return NULL;
	}
	st->ops = b->ops;
	return st;
}

int tl_stack_check(const char *name, const struct tl_stack_params *p, char *err, size_t len)
{
	const struct tl_backend *b;
	int r = tl_backend_open(name, &b, err, len);

	return r < 0 ? r : b->ops->check(p, err, len);
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
