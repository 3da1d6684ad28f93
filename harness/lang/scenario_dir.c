/* SPDX-License-Identifier: MIT */
/* scenario_dir.c - scenario lookup by name (scenario_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario_dir.h"
#include "tcplab_config.h"

#define MAX_SCENARIOS 256

static char installed_root[PATH_MAX];
static pthread_once_t installed_once = PTHREAD_ONCE_INIT;

/*
 * installed_root: TCPLAB_DATA_FROM_BIN (meson: <datadir>/tcplab as seen from <bindir>; empty
 * where bindir is absolute) from this executable's folder, when it holds scenarios/; else
 * empty.
 */
static void find_installed(void)
{
	char exe[PATH_MAX], dir[PATH_MAX + 64];
	ssize_t n;
	char *slash;

	if (TCPLAB_DATA_FROM_BIN[0] == '\0')
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/%s", exe, TCPLAB_DATA_FROM_BIN);
	/* canonical (no "bin/.."), and there at all */
	if (realpath(dir, installed_root) == NULL) {
		installed_root[0] = '\0';
		return;
	}
	snprintf(dir, sizeof(dir), "%s/scenarios", installed_root);
	if (access(dir, R_OK | X_OK) != 0)
		installed_root[0] = '\0';
}

const char *hx_source_root(void)
{
	const char *r = getenv("TCPLAB_ROOT");

	if (r != NULL && *r != '\0')
		return r;
	pthread_once(&installed_once, find_installed);
	return installed_root[0] != '\0' ? installed_root : TCPLAB_SOURCE_ROOT;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

unsigned int hx_scenario_names(char names[][64], unsigned int max)
{
	char dir[4096];
	struct dirent *d;
	unsigned int n = 0;
	size_t len, ext = strlen(HX_SCENARIO_EXT);
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/scenarios", hx_source_root());
	dp = opendir(dir);
	if (dp == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL && n < max) {
		len = strlen(d->d_name);
		if (len <= ext || len - ext >= 64 || strcmp(d->d_name + len - ext, HX_SCENARIO_EXT))
			continue;
		snprintf(names[n++], 64, "%.*s", (int)(len - ext), d->d_name);
	}
	closedir(dp);
	qsort(names, n, 64, cmp_names);
	return n;
}

int hx_scenario_path(const char *name, char *path, size_t len)
{
	char (*names)[64];
	unsigned int i, n;

	if (strchr(name, '/') != NULL) {
		snprintf(path, len, "%s", name);
		if (access(path, R_OK) == 0)
			return 0;
		fprintf(stderr, "tcplab: scenario file '%s': %s\n", name, strerror(errno));
		return -ENOENT;
	}
	snprintf(path, len, "%s/scenarios/%s%s", hx_source_root(), name, HX_SCENARIO_EXT);
	if (access(path, R_OK) == 0)
		return 0;
	names = calloc(MAX_SCENARIOS, sizeof(*names));
	n = names != NULL ? hx_scenario_names(names, MAX_SCENARIOS) : 0;
	fprintf(stderr, "tcplab: unknown scenario '%s' (valid:", name);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", names[i]);
	fprintf(stderr, "%s)\n", n ? "" : " none found");
	free(names);
	return -ENOENT;
}
