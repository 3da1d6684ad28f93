/* SPDX-License-Identifier: MIT */
/*
 * eal.c - DPDK's EAL for a DPDK stack: struct dpk_cfg -> EAL arguments -> rte_eal_init. The
 * second step of a stack's create (after dpk_cfg_parse, before dpk_port_open).
 *
 * Safety rules this file enforces (DESIGN.md, "Backends, plug-ins and topologies"):
 *  - --no-pci always, unless the settings name a device (pci=BDF): the machine's own NIC is
 *    never probed;
 *  - a --file-prefix per process (run_id, role and pid), and no shared config: --in-memory with
 *    hugepages (their files are unlinked at once), --no-shconf with --no-huge; either way
 *    nothing in /dev/hugepages or /run/dpdk survives the process, however it ends, except
 *    the empty runtime directory of a process killed inside rte_eal_init, which the next
 *    start removes (remove_runtime_dirs);
 *  - hugepages when mounted and free, --no-huge otherwise (huge=auto|yes|no);
 *  - the memif control socket lives in the abstract namespace, named by run_id (settings.c):
 *    no file in the file system to leave behind;
 *  - port=tap and port=af_packet only inside a network namespace the run made (tap.c).
 * Only one lcore (the polling thread); lcores_arg picks its CPU so the two processes of a
 * run do not share a core.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_log.h>

#include "dpdk_pvt.h"

#define MEMORY_MIN_MB 256
/* What DPDK takes beside the pool (the port's rings and queues, the EAL's own): at 8191
 * mbufs of a 9000 MTU the pool is 78 MB and the rest fits the 256 MB minimum. */
#define MEMORY_BESIDE_POOL_MB 178
/* The mbuf's header and the stacks' private area, at most */
#define MBUF_OVERHEAD 256

/*
 * DPDK memory for this side (-m): 256 MB, or the mbuf pool and what DPDK takes beside it when
 * that is more (a pool sized for many connections, settings.c: mbufs_for). A port whose MTU
 * is its own (mtu=0) is taken at 1500 here; the pool is sized from the port's at open.
 */
static unsigned int memory_mb(const struct dpk_cfg *cfg)
{
	unsigned int mtu = cfg->mtu != 0 ? cfg->mtu : RTE_ETHER_MTU;
	uint64_t pool = (uint64_t)cfg->n_mbufs * (dpk_mbuf_buf_size(mtu) + MBUF_OVERHEAD);
	unsigned int need = (unsigned int)(pool >> 20) + MEMORY_BESIDE_POOL_MB;

	return need > MEMORY_MIN_MB ? need : MEMORY_MIN_MB;
}

/* Hugepages are used when a hugetlbfs is mounted and @p mb of them are free. */
static bool hugepages_usable(unsigned int mb)
{
	unsigned long free_pages = 0, size_kb = 0;
	bool mounted = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/mounts", "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " hugetlbfs ") != NULL)
			mounted = true;
	fclose(f);
	f = fopen("/proc/meminfo", "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "HugePages_Free: %lu", &free_pages);
		sscanf(line, "Hugepagesize: %lu kB", &size_kb);
	}
	fclose(f);
	return mounted && free_pages * size_kb >= mb * 1024UL;
}

/*
 * The one lcore's CPU. cpu=auto (default): when this process may run on two CPUs or more,
 * the server takes the highest of them and the client the lowest, so the two spinning sides
 * of a run never share a core (they would take turns by time slices, milliseconds per round
 * trip); a process pinned to one CPU (tcplab serve --cpu) keeps it. cpu=any: every allowed
 * CPU. cpu=N: that CPU.
 */
static int lcores_arg(const struct dpk_cfg *cfg, char *buf, size_t len)
{
	int cpu, n = 0, pick;
	cpu_set_t set;
	size_t off;

	if (strcmp(cfg->cpu, "auto") != 0 && strcmp(cfg->cpu, "any") != 0) {
		snprintf(buf, len, "0@%s", cfg->cpu);
		return 0;
	}
	pick = strcmp(cfg->cpu, "auto") == 0 ? cfg->cpu_auto : -1;
	if (pick >= 0) {
		snprintf(buf, len, "0@%d", pick);
		return 0;
	}
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	off = (size_t)snprintf(buf, len, "0@(");
	for (cpu = 0; cpu < CPU_SETSIZE && off < len; cpu++)
		if (CPU_ISSET(cpu, &set))
			off += (size_t)snprintf(buf + off, len - off, "%s%d", n++ ? "," : "", cpu);
	if (off + 2 > len)
		return -ENAMETOOLONG;
	snprintf(buf + off, len - off, ")");
	return 0;
}

struct eal_args {
	char *argv[DPK_EAL_MAX_ARGS + 1];
	int argc;
	char text[2048];
	size_t used;
};

static int add_arg(struct eal_args *a, const char *fmt, const char *val)
{
	int n;

	if (a->argc == DPK_EAL_MAX_ARGS)
		return -E2BIG;
	n = snprintf(a->text + a->used, sizeof(a->text) - a->used, fmt, val);
	if (n < 0 || (size_t)n >= sizeof(a->text) - a->used)
		return -E2BIG;
	a->argv[a->argc++] = a->text + a->used;
	a->used += (size_t)n + 1;
	return 0;
}

static int add_extra(struct eal_args *a, const char *extra)
{
	char buf[256], *tok, *save = NULL;
	int r = 0;

	snprintf(buf, sizeof(buf), "%s", extra);
	for (tok = strtok_r(buf, " ", &save); tok != NULL && r == 0;
	     tok = strtok_r(NULL, " ", &save))
		r = add_arg(a, "%s", tok);
	return r;
}

static int build_args(const struct dpk_cfg *cfg, struct eal_args *a, unsigned int mem_mb,
		      bool huge)
{
	char lcores[256], prefix[64], mem[16];
	int r;

	snprintf(mem, sizeof(mem), "%u", mem_mb);
	r = lcores_arg(cfg, lcores, sizeof(lcores));
	if (r < 0)
		return r;
	/* the process's own pid last: a start can tell a dead process's directory whatever
	 * the run id was (remove_runtime_dirs) */
	snprintf(prefix, sizeof(prefix), "%s-%s-p%ld", cfg->run_id,
		 cfg->role == TL_ROLE_SERVER ? "s" : "c", (long)getpid());
	r = add_arg(a, "%s", "tcplab");
	r = r ? r : add_arg(a, "--file-prefix=%s", prefix);
	/* --in-memory where there are hugepages (it unlinks them); --no-huge needs no files */
	r = r ? r : add_arg(a, "%s", huge ? "--in-memory" : "--no-shconf");
	r = r ? r : add_arg(a, "%s", "--no-telemetry");
	r = r ? r : add_arg(a, "--lcores=%s", lcores);
	r = r ? r : add_arg(a, "--log-level=%s", cfg->log_level);
	/* memif warns on every start that it has no multi-process channel: there is none, by
	 * design (no shared config); its real failures show as a link that never comes up */
	r = r ? r : add_arg(a, "%s", "--log-level=pmd.net.memif:critical");
	/* tap: no multiq qdisc or flow rules in a fresh namespace, no secondary processes, and
	 * it logs both as errors although the port works; real failures fail the port start */
	r = r ? r : add_arg(a, "%s", "--log-level=pmd.net.tap:critical");
	r = r ? r : add_arg(a, "%s", "-m");
	r = r ? r : add_arg(a, "%s", mem);
	if (!huge)
		r = r ? r : add_arg(a, "%s", "--no-huge");
	if (cfg->pci[0] != '\0')
		r = r ? r : add_arg(a, "--allow=%s", cfg->pci);
	else
		r = r ? r : add_arg(a, "%s", "--no-pci");
	if (cfg->vdev[0] != '\0')
		r = r ? r : add_arg(a, "--vdev=%s", cfg->vdev);
	r = r ? r : add_extra(a, cfg->eal_extra);
	a->argv[a->argc] = NULL;
	return r;
}

/* Where DPDK puts runtime directories: /var/run/dpdk for root, else under XDG_RUNTIME_DIR
 * or /tmp (eal_get_runtime_dir's rule). */
static void runtime_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (getuid() == 0)
		snprintf(buf, len, "/var/run/dpdk");
	else
		snprintf(buf, len, "%s/dpdk", xdg != NULL ? xdg : "/tmp");
}

/* The PID in a prefix this layer makes, RUNID-s-pPID or RUNID-c-pPID; else 0. */
static long prefix_pid(const char *name)
{
	const char *tail = strrchr(name, '-');
	char *end;
	long pid;

	if (tail == NULL || tail - name < 2 || tail[1] != 'p' || !isdigit((unsigned char)tail[2]) ||
	    (strncmp(tail - 2, "-s", 2) != 0 && strncmp(tail - 2, "-c", 2) != 0))
		return 0;
	pid = strtol(tail + 2, &end, 10);
	return *end == '\0' ? pid : 0;
}

/* Whether directory @p name is to go: one of run @p run_id's sides, or with @p run_id NULL
 * one whose process is gone (whatever its run). */
static bool runtime_dir_done(const char *name, const char *run_id)
{
	long pid = prefix_pid(name);
	size_t n;

	if (pid <= 0)
		return false;
	if (run_id != NULL) {
		n = strlen(run_id);
		return strncmp(name, run_id, n) == 0 && name[n] == '-';
	}
	/* a live process's (or one not ours to judge) stays */
	return pid != getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/*
 * A process killed while rte_eal_init runs leaves its runtime directory behind (empty:
 * nothing is ever put in it, see dpk_eal_start), before this file could remove it. Remove
 * those of this layer's prefixes that runtime_dir_done picks; rmdir removes only empty ones.
 */
static void remove_runtime_dirs(const char *run_id)
{
	char base[256], path[512];
	struct dirent *d;
	DIR *dir;

	runtime_base(base, sizeof(base));
	dir = opendir(base);
	if (dir == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (!runtime_dir_done(d->d_name, run_id))
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, d->d_name);
		rmdir(path);
	}
	closedir(dir);
}

void dpk_cleanup_run(const char *run_id)
{
	remove_runtime_dirs(run_id);
}

/*
 * The EAL is left to the process's exit, not rte_eal_cleanup: that unmaps DPDK's memory
 * while the EAL interrupt thread still runs, and the memif PMD frees its listener's
 * interrupt handle at close without unregistering it (DPDK 22.11 memif_socket.c,
 * memif_socket_remove_device), so the thread, woken by a peer still trying to connect,
 * read the unmapped handle: SIGSEGV in rte_intr_fd_get (tcplab kill, gvisor, seed 18 run
 * 29: a SUT stopped by SIGTERM while its engine connected). Nothing is left by skipping it:
 * with no shared config no file outlives the process (see the top of this file), and the
 * memory is the process's own. One stack per process, so the EAL is never started again:
 * there is no dpk_eal_stop.
 */
int dpk_eal_start(const struct dpk_cfg *cfg, char *err, size_t len)
{
	unsigned int mem_mb = memory_mb(cfg);
	bool huge = strcmp(cfg->huge, "yes") == 0 ||
		    (strcmp(cfg->huge, "auto") == 0 && hugepages_usable(mem_mb));
	struct eal_args a = { .argc = 0 };
	int r;

	r = build_args(cfg, &a, mem_mb, huge);
	if (r < 0) {
		snprintf(err, len, "EAL arguments too long (%s)", strerror(-r));
		return r;
	}
	remove_runtime_dirs(NULL);
	/* DPDK logs to stdout by default; stdout carries the harness's JSON lines */
	rte_openlog_stream(stderr);
	r = dpk_err(rte_eal_init(a.argc, a.argv));
	/* With no shared config the runtime dir stays empty: remove it now, not at exit, so a
	 * killed process leaves nothing in /run/dpdk either. */
	rmdir(rte_eal_get_runtime_dir());
	if (r < 0) {
		snprintf(err, len, "DPDK EAL init failed (%s)%s", rte_strerror(-r),
			 r == -EALREADY ? ": one DPDK stack per process" : "");
		return r == -EALREADY ? -EBUSY : r;
	}
	return 0;
}

/*
 * The one conversion of DPDK's return codes: most calls return a negative errno already, the
 * older ones -1 with the reason in rte_errno (rte_eal_init; NULL-returning constructors are
 * passed as -1 by their callers).
 */
int dpk_err(int r)
{
	if (r >= 0)
		return r;
	return r == -1 ? -(rte_errno > 0 ? rte_errno : EIO) : r;
}
