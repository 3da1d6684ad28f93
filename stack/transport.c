/* SPDX-License-Identifier: MIT */
/*
 * transport.c - where backends come from, and instance lifetime for the tl_* API.
 *
 * A backend is built in (the kernel: transport_pvt.h) or a plug-in: a shared object exporting
 * tcplab_stack_entry (<tcplab/stack.h>). A plug-in is named by path (anything with a '/') or
 * by name: tcplab-stack-NAME.so in the first folder of the search path that has one (an
 * installed tcplab's own folder beside its executable, or else the build's own plug-in
 * folders and the install folder, TCPLAB_PLUGIN_PATH set by meson; then each folder of
 * $TCPLAB_STACK_PATH). A name loads that one object and no other; only the full list
 * (tl_backends, for `tcplab list` and the valid names of an error) loads every plug-in on
 * the path. Loaded objects stay loaded for the life of the process.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	bool scanned;		/* every plug-in on the path was tried (tl_backends) */
};

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

/* The one list of the process: backends are process-wide, like the code they are. Starts
 * with the built-in ones. */
static struct backend_list *backends(void)
{
	static struct backend_list bl;
	const struct tl_ops *const *b;

	if (bl.n == 0)
		for (b = tl_builtin_backends(); *b != NULL; b++)
			add(&bl, *b, NULL);
	return &bl;
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
		{ "get_nonblock", (const void *)o->get_nonblock },
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

/* The wait set is all four ops or none (tl_ops.ws_*): the first one missing of a part set. */
static const char *partial_ws(const struct tl_ops *o)
{
	const struct { const char *name; const void *fn; } ops[] = {
		{ "ws_create", (const void *)o->ws_create }, { "ws_ctl", (const void *)o->ws_ctl },
		{ "ws_wait", (const void *)o->ws_wait }, { "ws_close", (const void *)o->ws_close },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		n += ops[i].fn != NULL;
	for (i = 0; n != 0 && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].fn == NULL)
			return ops[i].name;
	return NULL;
}

/*
 * What is wrong with a stack's stated limits (tl_limits), in @p why: a reason missing or
 * empty, or a floor above its ceiling; 0 when nothing is (NULL limits state none).
 */
static int bad_limits(const struct tl_limits *l, char *why, size_t len)
{
	const struct { const char *name; const char *text; } reasons[] = {
		{ "max_sockets_reason", l != NULL ? l->max_sockets_reason : "" },
		{ "conn_bytes_reason", l != NULL ? l->conn_bytes_reason : "" },
		{ "syn_rcvd_reason", l != NULL ? l->syn_rcvd_reason : "" },
		{ "idle_reason", l != NULL ? l->idle_reason : "" },
		{ "slack_reason", l != NULL ? l->slack_reason : "" },
	};
	size_t i;

	if (l == NULL)
		return 0;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].text == NULL || reasons[i].text[0] == '\0') {
			snprintf(why, len, "limits.%s is empty (each figure needs its reason)",
				 reasons[i].name);
			return -EINVAL;
		}
	if (l->conn_bytes_min > l->conn_bytes_max) {
		snprintf(why, len, "limits.conn_bytes_min %llu is above conn_bytes_max %llu",
			 (unsigned long long)l->conn_bytes_min,
			 (unsigned long long)l->conn_bytes_max);
		return -EINVAL;
	}
	if (l->syn_cap != TL_SYN_CAP_BACKLOG && l->syn_cap != TL_SYN_CAP_NONE) {
		snprintf(why, len, "limits.syn_cap %d is not a TL_SYN_CAP_* value",
			 (int)l->syn_cap);
		return -EINVAL;
	}
	return 0;
}

/*
 * dlopen @p path and take its ops table, checked (and called @p name, when given); the
 * handle stays open on success only.
 */
static int load(const char *path, const char *name, const struct tl_ops **out, char *err,
		size_t len)
{
	tl_stack_entry_fn *entry;
	const struct tl_ops *ops;
	const char *hole;
	char why[160];
	void *h;
	int r;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, len, "cannot load plug-in %s: %s", path, dlerror());
		return -ENOEXEC;
	}
	*(void **)&entry = dlsym(h, TCPLAB_STACK_ENTRY);
	if (entry == NULL) {
		snprintf(err, len, "plug-in %s has no entry symbol %s (see <tcplab/stack.h>)", path,
			 TCPLAB_STACK_ENTRY);
		r = -ENOSYS;
		goto err_close;
	}
	ops = entry();
	if (ops == NULL || ops->abi_version != TCPLAB_STACK_ABI_VERSION) {
		snprintf(err, len, "plug-in %s was built for stack ABI version %u; this tcplab "
			 "has version %u", path, ops != NULL ? ops->abi_version : 0,
			 TCPLAB_STACK_ABI_VERSION);
		r = -EPROTO;
		goto err_close;
	}
	hole = missing_op(ops);
	if (hole != NULL) {
		snprintf(err, len, "plug-in %s: its ops table has no %s", path, hole);
		r = -EINVAL;
		goto err_close;
	}
	hole = partial_ws(ops);
	if (hole != NULL) {
		snprintf(err, len, "plug-in %s: its ops table has a wait set without %s (all four "
			 "ws_* ops or none)", path, hole);
		r = -EINVAL;
		goto err_close;
	}
	r = bad_limits(ops->limits, why, sizeof(why));
	if (r < 0) {
		snprintf(err, len, "plug-in %.300s: %s", path, why);
		goto err_close;
	}
	if (name != NULL && strcmp(ops->name, name) != 0) {
		snprintf(err, len, "plug-in %.300s calls itself '%.64s', not '%.64s'", path,
			 ops->name, name);
		r = -EINVAL;
		goto err_close;
	}
	*out = ops;
	return 0;

err_close:
	dlclose(h);
	return r;
}

static int add_loaded(const char *path, const struct tl_ops *ops, const struct tl_backend **out,
		      char *err, size_t len)
{
	*out = add(backends(), ops, path);
	if (*out != NULL)
		return 0;
	snprintf(err, len, "more than %d backends", MAX_BACKENDS);
	return -ENOSPC;
}

/*
 * An installed tcplab's plug-in folder: TCPLAB_PLUGIN_FROM_BIN (meson: <libdir>/tcplab/stacks
 * as seen from <bindir>; empty where bindir is absolute) from this executable's folder, when
 * that folder exists; false otherwise (a binary in its build tree, where the relative path
 * leads nowhere).
 */
static bool installed_dir(char buf[PATH_MAX])
{
	char exe[PATH_MAX], dir[PATH_MAX + 64], *slash;
	ssize_t n;

	if (TCPLAB_PLUGIN_FROM_BIN[0] == '\0')
		return false;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return false;
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/%s", exe, TCPLAB_PLUGIN_FROM_BIN);
	/* canonical (no "bin/.."), and there at all */
	return realpath(dir, buf) != NULL && access(buf, R_OK | X_OK) == 0;
}

/*
 * The search path, ':' between: an installed tcplab's own plug-in folder, or else the build's
 * own plug-in folders and the configured install folder (TCPLAB_PLUGIN_PATH); then
 * $TCPLAB_STACK_PATH.
 */
static void search_path(char *buf, size_t len)
{
	const char *env = getenv("TCPLAB_STACK_PATH");
	char mine[PATH_MAX];

	snprintf(buf, len, "%s%s%s", installed_dir(mine) ? mine : TCPLAB_PLUGIN_PATH,
		 env != NULL ? ":" : "", env != NULL ? env : "");
}

/* tcplab-stack-NAME.so of the first folder on the path that has one; -ENOENT if none. */
static int open_name(const char *name, const struct tl_backend **out, char *err, size_t len)
{
	char sp[4096], path[PATH_MAX], *dir, *save = NULL;
	const struct tl_ops *ops;
	int r;

	search_path(sp, sizeof(sp));
	for (dir = strtok_r(sp, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/" PLUGIN_PREFIX "%s" PLUGIN_SUFFIX, dir, name);
		if (access(path, F_OK) != 0)
			continue;
		r = load(path, name, &ops, err, len);
		return r < 0 ? r : add_loaded(path, ops, out, err, len);
	}
	return -ENOENT;
}

/* NAME of tcplab-stack-NAME.so, or false for a file of another name. */
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

/*
 * The plug-ins of one folder, by name, each opened as `--backend NAME` would open it (so the
 * first on the path wins); one that does not load is left out: naming it says why.
 */
static void scan_dir(const char *dir)
{
	char name[64], err[512], *files[MAX_BACKENDS];
	const struct tl_backend *b;
	unsigned int n = 0, i;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < MAX_BACKENDS)
		if (plugin_name(e->d_name, name, sizeof(name)) &&
		    (files[n] = strdup(e->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(files, n, sizeof(files[0]), cmp_str);
	for (i = 0; i < n; i++) {
		plugin_name(files[i], name, sizeof(name));
		if (find_loaded(name, NULL) == NULL)
			open_name(name, &b, err, sizeof(err));
		free(files[i]);
	}
}

const struct tl_backend *const *tl_backends(void)
{
	struct backend_list *bl = backends();
	char sp[4096], *dir, *save = NULL;

	if (!bl->scanned) {
		bl->scanned = true;
		search_path(sp, sizeof(sp));
		for (dir = strtok_r(sp, ":", &save); dir != NULL;
		     dir = strtok_r(NULL, ":", &save))
			scan_dir(dir);
	}
	return bl->list;
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
	r = load(real, NULL, &ops, err, len);
	if (r < 0)
		return r;
	if (find_loaded(ops->name, NULL) != NULL) {
		snprintf(err, len, "plug-in %s is named %s, as a backend already found is", path,
			 ops->name);
		return -EEXIST;
	}
	return add_loaded(real, ops, out, err, len);
}

int tl_backend_open(const char *name, const struct tl_backend **out, char *err, size_t len)
{
	const struct tl_backend *const *b;
	size_t off;
	int r;

	if (strchr(name, '/') != NULL)
		return open_path(name, out, err, len);
	*out = find_loaded(name, NULL);
	if (*out != NULL)
		return 0;
	r = open_name(name, out, err, len);
	if (r != -ENOENT)
		return r;
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
