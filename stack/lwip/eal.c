/* SPDX-License-Identifier: MIT */
/*
 * eal.c - the first step of lwip_create: stack options -> struct stk_cfg -> DPDK's EAL.
 *
 * Safety rules this file enforces (DESIGN.md, "Backends and topologies"):
 *  - --no-pci always, unless the user names a device (pci=BDF): the machine's own NIC is
 *    never probed;
 *  - a --file-prefix per process (run_id plus role), and no shared config: --in-memory with
 *    hugepages (their files are unlinked at once), --no-shconf with --no-huge; either way
 *    nothing in /dev/hugepages or /run/dpdk survives the process, however it ends, except
 *    the empty runtime directory of a process killed inside rte_eal_init, which the next
 *    start removes (remove_dead_runtime_dirs);
 *  - hugepages when mounted and free, --no-huge otherwise (huge=auto|yes|no);
 *  - the memif control socket lives in the abstract namespace, named by run_id: no file in
 *    the file system to leave behind;
 *  - topology=tap only inside a network namespace other than the initial one (tap.c).
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
#include <rte_log.h>

#include "stk.h"

#define HUGE_NEEDED_MB 256

struct opt_def {
	const char *key;
	const char *help;
};

static const struct opt_def known_opts[] = {
	{ "topology", "memif | tap | veth | pci" },
	{ "ip", "this side's IPv4 address" },
	{ "netmask", "IPv4 netmask" },
	{ "gw", "IPv4 gateway" },
	{ "pci", "PCI device to use (topology=pci); the only way DPDK probes PCI" },
	{ "huge", "auto | yes | no: hugepages" },
	{ "eal", "extra EAL arguments, space separated" },
	{ "log", "DPDK log level (default warning)" },
	{ "mbufs", "mbufs in the pool" },
	{ "link_timeout_ms", "how long the client waits for the memif link" },
	{ "tw_max", "TIME_WAIT connections kept before the oldest are recycled" },
	{ "idle_yield_us", "idle spin before tl_poll yields the CPU each pass (0: never)" },
	{ "cpu", "auto | any | N: the CPU of the polling lcore" },
	{ "tap_addr", "topology=tap: ADDRESS/BITS for the kernel end of the tap, or none" },
	{ "tap_name", "topology=tap: the tap netdev's name (default from run id and role)" },
	{ "veth_if", "topology=veth: the veth end af_packet takes (default tlv-s / tlv-c)" },
	{ "mtu", "the netif's MTU (memif: 9000; elsewhere the port's)" },
	{ "checksum", "auto | on | off: lwIP's IP/TCP checksums (auto: off on memif only)" },
};

#define MEMIF_MTU 9000
#define MTU_MAX 9000	/* a frame must fit one mbuf: stk_port_open sizes them by the MTU */

static int check_keys(const struct tl_stack_params *p, char *err, size_t len)
{
	unsigned int i, k;

	for (i = 0; i < p->n_opts; i++) {
		const char *eq = strchr(p->opts[i], '=');
		size_t klen = eq ? (size_t)(eq - p->opts[i]) : strlen(p->opts[i]);
		bool found = false;

		for (k = 0; k < sizeof(known_opts) / sizeof(known_opts[0]); k++)
			if (strlen(known_opts[k].key) == klen &&
			    strncmp(known_opts[k].key, p->opts[i], klen) == 0)
				found = true;
		if (!found || eq == NULL) {
			int n = snprintf(err, len, "stack option '%s': expected KEY=VALUE with KEY "
					 "one of", p->opts[i]);

			for (k = 0; k < sizeof(known_opts) / sizeof(known_opts[0]); k++)
				if (n >= 0 && (size_t)n < len)
					n += snprintf(err + n, len - (size_t)n, "%s %s",
						      k ? "," : "", known_opts[k].key);
			return -EINVAL;
		}
	}
	return 0;
}

static int copy_opt(char *dst, size_t dlen, const struct tl_stack_params *p, const char *key,
		    const char *dflt, char *err, size_t len)
{
	const char *v = tl_params_get(p, key, dflt);

	if (strlen(v) >= dlen) {
		snprintf(err, len, "stack option %s: '%s' is longer than %zu characters", key, v,
			 dlen - 1);
		return -EINVAL;
	}
	snprintf(dst, dlen, "%s", v);
	return 0;
}

/* The run id names files and sockets: letters, digits, '-' and '_' only. */
static int check_run_id(struct stk_cfg *cfg, const char *id, char *err, size_t len)
{
	size_t i, n = strlen(id);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			break;
	if (n == 0 || i < n || n >= sizeof(cfg->run_id)) {
		snprintf(err, len, "run id '%s': expected 1 to %zu letters, digits, '-' or '_'",
			 id, sizeof(cfg->run_id) - 1);
		return -EINVAL;
	}
	memcpy(cfg->run_id, id, n + 1);
	return 0;
}

static int uint_opt(unsigned int *dst, const struct tl_stack_params *p, const char *key,
		    unsigned int dflt, unsigned int lo, unsigned int hi, char *err, size_t len)
{
	const char *v = tl_params_get(p, key, NULL);
	unsigned long n;
	char *end;

	if (v == NULL) {
		*dst = dflt;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || n < lo || n > hi) {
		snprintf(err, len, "stack option %s: expected an integer in [%u, %u], got '%s'",
			 key, lo, hi, v);
		return -EINVAL;
	}
	*dst = (unsigned int)n;
	return 0;
}

/*
 * checksum=auto (default): off on memif, on elsewhere. memif is shared memory between two
 * processes of one host: nothing on it corrupts a frame, and both ends are this backend.
 * Debian's packaged lwIP has no per-netif switch (LWIP_CHECKSUM_CTRL_PER_NETIF): there the
 * option is accepted and checksums stay on (netif.c).
 */
static int checksum_opt(struct stk_cfg *cfg, const struct tl_stack_params *p, char *err,
			size_t len)
{
	char v[8];
	int r = copy_opt(v, sizeof(v), p, "checksum", "auto", err, len);

	if (r < 0)
		return r;
	if (strcmp(v, "auto") == 0) {
		cfg->checksum = strcmp(cfg->topology, "memif") != 0;
		return 0;
	}
	if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
		cfg->checksum = strcmp(v, "on") == 0;
		return 0;
	}
	snprintf(err, len, "stack option checksum: expected auto, on or off, got '%s'", v);
	return -EINVAL;
}

/* memif's ring buffers hold a whole frame each: the MTU and the Ethernet header, rounded up to
 * 1 KiB (2048 for a 1500 MTU, memif's default) */
static unsigned int memif_bsize(unsigned int mtu)
{
	unsigned int need = (mtu ? mtu : 1500) + 14;

	return need <= 2048 ? 2048 : (need + 1023) / 1024 * 1024;
}

static int memif_vdev(struct stk_cfg *cfg)
{
	bool server = cfg->role == TL_ROLE_SERVER;
	int n;

	n = snprintf(cfg->vdev, sizeof(cfg->vdev),
		     "net_memif0,role=%s,id=0,socket=/run/tcplab/%s.memif,socket-abstract=yes,"
		     "mac=02:77:00:00:00:%02x,rsize=10,bsize=%u",
		     server ? "server" : "client", cfg->run_id, server ? 2 : 1,
		     memif_bsize(cfg->mtu));
	return n < (int)sizeof(cfg->vdev) ? 0 : -ENAMETOOLONG;
}

/*
 * topology=tap: net_tap0 whose netdev (named by tap_name, or from the run id) appears in this
 * process's network namespace; tap.c addresses it. Only inside a namespace the run created.
 */
static int tap_vdev(struct stk_cfg *cfg, char *err, size_t len)
{
	int r = stk_tap_check_netns(err, len);

	if (r < 0)
		return r;
	if (cfg->tap_name[0] == '\0')
		stk_tap_name(cfg->tap_name, sizeof(cfg->tap_name), cfg->run_id, cfg->role);
	snprintf(cfg->vdev, sizeof(cfg->vdev), "net_tap0,iface=%s", cfg->tap_name);
	return 0;
}

/*
 * topology=veth: DPDK's af_packet on a veth end the run put in this process's namespace (the
 * two-host simulation: harness/topology.h); the same namespace rule as tap.
 */
static int veth_vdev(struct stk_cfg *cfg, char *err, size_t len)
{
	int r = stk_tap_check_netns(err, len);

	if (r < 0)
		return r;
	if (cfg->veth_if[0] == '\0')
		snprintf(cfg->veth_if, sizeof(cfg->veth_if), "tlv-%c",
			 cfg->role == TL_ROLE_SERVER ? 's' : 'c');
	snprintf(cfg->vdev, sizeof(cfg->vdev), "net_af_packet0,iface=%s", cfg->veth_if);
	return 0;
}

/* memif: the SUT is .2 and the engine .1; tap: lwIP is 10.99.0.2 on either side, the Linux
 * end of the tap 10.99.0.1 (tap_addr); veth: the SUT 10.99.2.2, the engine 10.99.2.1. */
static const char *default_ip(const char *topology, bool server)
{
	if (strcmp(topology, "tap") == 0)
		return "10.99.0.2";
	if (strcmp(topology, "veth") == 0)
		return server ? "10.99.2.2" : "10.99.2.1";
	return server ? "10.77.0.2" : "10.77.0.1";
}

int stk_cfg_parse(struct stk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len)
{
	bool server = p->role == TL_ROLE_SERVER;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->role = p->role;
	cfg->cpu_auto = p->cpu;
	r = check_keys(p, err, len);
	if (r == 0)
		r = check_run_id(cfg, p->run_id ? p->run_id : "tcplab", err, len);
	if (r == 0)
		r = copy_opt(cfg->topology, sizeof(cfg->topology), p, "topology", "memif", err,
			     len);
	if (r == 0)
		r = copy_opt(cfg->ip, sizeof(cfg->ip), p, "ip", default_ip(cfg->topology, server),
			     err, len);
	if (r == 0)
		r = copy_opt(cfg->tap_addr, sizeof(cfg->tap_addr), p, "tap_addr", "10.99.0.1/24",
			     err, len);
	if (r == 0)
		r = copy_opt(cfg->tap_name, sizeof(cfg->tap_name), p, "tap_name", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->veth_if, sizeof(cfg->veth_if), p, "veth_if", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->netmask, sizeof(cfg->netmask), p, "netmask", "255.255.255.0",
			     err, len);
	if (r == 0)
		r = copy_opt(cfg->gw, sizeof(cfg->gw), p, "gw", "0.0.0.0", err, len);
	if (r == 0)
		r = copy_opt(cfg->pci, sizeof(cfg->pci), p, "pci", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->huge, sizeof(cfg->huge), p, "huge", "auto", err, len);
	if (r == 0)
		r = copy_opt(cfg->cpu, sizeof(cfg->cpu), p, "cpu", "auto", err, len);
	if (r == 0)
		r = copy_opt(cfg->eal_extra, sizeof(cfg->eal_extra), p, "eal", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->log_level, sizeof(cfg->log_level), p, "log", "warning", err, len);
	if (r == 0)
		r = uint_opt(&cfg->n_mbufs, p, "mbufs", 8191, 1023, 1u << 20, err, len);
	if (r == 0)
		r = uint_opt(&cfg->link_timeout_ms, p, "link_timeout_ms", 10000, 1, 600000, err,
			     len);
	if (r == 0)
		r = uint_opt(&cfg->tw_max, p, "tw_max", 256, 0, 1u << 20, err, len);
	if (r == 0)
		r = uint_opt(&cfg->idle_yield_us, p, "idle_yield_us", 0, 0, 1000000, err, len);
	if (r == 0)
		r = uint_opt(&cfg->mtu, p, "mtu", strcmp(cfg->topology, "memif") == 0 ? MEMIF_MTU : 0,
			     576, MTU_MAX, err, len);
	if (r == 0)
		r = checksum_opt(cfg, p, err, len);
	if (r < 0)
		return r;
	if (strcmp(cfg->huge, "auto") != 0 && strcmp(cfg->huge, "yes") != 0 &&
	    strcmp(cfg->huge, "no") != 0) {
		snprintf(err, len, "stack option huge: expected auto, yes or no, got '%s'",
			 cfg->huge);
		return -EINVAL;
	}
	if (strcmp(cfg->topology, "memif") == 0) {
		if (memif_vdev(cfg) < 0) {
			snprintf(err, len, "run id '%s' is too long for a memif socket name",
				 cfg->run_id);
			return -ENAMETOOLONG;
		}
		return 0;
	}
	if (strcmp(cfg->topology, "tap") == 0)
		return tap_vdev(cfg, err, len);
	if (strcmp(cfg->topology, "veth") == 0)
		return veth_vdev(cfg, err, len);
	if (strcmp(cfg->topology, "pci") == 0) {
		if (cfg->pci[0] == '\0') {
			snprintf(err, len, "topology pci needs --stack-opt pci=BDF (the device to "
				 "take); DPDK never probes PCI on its own");
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, len, "unknown topology '%s' for backend lwip (valid: memif, tap, veth, pci)",
		 cfg->topology);
	return -EINVAL;
}

/* Hugepages are used when a hugetlbfs is mounted and enough of them are free. */
static bool hugepages_usable(void)
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
	return mounted && free_pages * size_kb >= HUGE_NEEDED_MB * 1024UL;
}

/*
 * The one lcore's CPU. cpu=auto (default): when this process may run on two CPUs or more,
 * the server takes the highest of them and the client the lowest, so the two spinning sides
 * of a run never share a core (they would take turns by time slices, milliseconds per round
 * trip); a process pinned to one CPU (tcplab serve --cpu) keeps it. cpu=any: every allowed
 * CPU. cpu=N: that CPU.
 */
static int lcores_arg(const struct stk_cfg *cfg, char *buf, size_t len)
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
	char *argv[STK_EAL_MAX_ARGS + 1];
	int argc;
	char text[2048];
	size_t used;
};

static int add_arg(struct eal_args *a, const char *fmt, const char *val)
{
	int n;

	if (a->argc == STK_EAL_MAX_ARGS)
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

static int build_args(const struct stk_cfg *cfg, struct eal_args *a, bool huge)
{
	char lcores[256], prefix[64];
	int r;

	r = lcores_arg(cfg, lcores, sizeof(lcores));
	if (r < 0)
		return r;
	snprintf(prefix, sizeof(prefix), "%s-%s", cfg->run_id,
		 cfg->role == TL_ROLE_SERVER ? "s" : "c");
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
	r = r ? r : add_arg(a, "%s", "256");
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

/* The PID in a prefix this backend makes: tcplab<pid>-s|c or tcplabpp<pid>-s|c; else 0. */
static long prefix_pid(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "tcplab", 6) != 0)
		return 0;
	name += strncmp(name + 6, "pp", 2) == 0 ? 8 : 6;
	if (!isdigit((unsigned char)*name))
		return 0;
	pid = strtol(name, &end, 10);
	return (strcmp(end, "-s") == 0 || strcmp(end, "-c") == 0) ? pid : 0;
}

/*
 * A process killed while rte_eal_init runs leaves its runtime directory behind (empty:
 * nothing is ever put in it, see stk_eal_start), before this file could remove it. Remove
 * those of this backend's prefixes whose process is gone. rmdir removes only empty ones.
 */
static void remove_dead_runtime_dirs(void)
{
	char base[256], path[512];
	struct dirent *d;
	DIR *dir;

	runtime_base(base, sizeof(base));
	dir = opendir(base);
	if (dir == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		long pid = prefix_pid(d->d_name);

		if (pid <= 0 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;	/* the run's process lives (or is not ours to judge) */
		snprintf(path, sizeof(path), "%s/%s", base, d->d_name);
		rmdir(path);
	}
	closedir(dir);
}

int stk_eal_start(const struct stk_cfg *cfg, char *err, size_t len)
{
	bool huge = strcmp(cfg->huge, "yes") == 0 ||
		    (strcmp(cfg->huge, "auto") == 0 && hugepages_usable());
	struct eal_args a = { .argc = 0 };
	int r;

	r = build_args(cfg, &a, huge);
	if (r < 0) {
		snprintf(err, len, "EAL arguments too long (%s)", strerror(-r));
		return r;
	}
	remove_dead_runtime_dirs();
	/* DPDK logs to stdout by default; stdout carries the harness's JSON lines */
	rte_openlog_stream(stderr);
	r = rte_eal_init(a.argc, a.argv) < 0 ? -(rte_errno ? rte_errno : EINVAL) : 0;
	/* With no shared config the runtime dir stays empty: remove it now, not at exit, so a
	 * killed process leaves nothing in /run/dpdk either. */
	rmdir(rte_eal_get_runtime_dir());
	if (r < 0) {
		snprintf(err, len, "DPDK EAL init failed (%s)%s", rte_strerror(-r),
			 r == -EALREADY ? ": one lwip stack per process" : "");
		return r == -EALREADY ? -EBUSY : r;
	}
	return 0;
}

void stk_eal_stop(void)
{
	rte_eal_cleanup();
}
