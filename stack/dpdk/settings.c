/* SPDX-License-Identifier: MIT */
/*
 * settings.c - a DPDK stack's settings (tl_stack_params.opts) -> struct dpk_cfg, the first
 * step of its create and the whole of its check. Nothing here starts or touches anything.
 *
 * The layer knows port kinds, not topologies: the harness's topology table hands over
 * port= and what that port needs (ip=, iface=, tap_addr=, pci=). What is decided here is
 * port-kind knowledge: memif's socket from the run id, its MTU, checksums off on it, and
 * its two ends' default addresses (a link between two processes that no kernel sees, so a
 * hand-started `tcplab serve` works on it with no settings at all).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "dpdk_pvt.h"

#define MEMIF_MTU 9000
#define MTU_MAX 9000	/* a frame must fit one mbuf: dpk_port_open sizes them by the MTU */
#define QUOTE_MAX 256	/* a setting's value as a message quotes it (dpk_quote) */
#define MBUFS_DEFAULT 8191u
#define MBUFS_MAX (1u << 20)

static const struct dpk_opt layer_opts[] = {
	{ "port", "memif | tap | af_packet | pci: the DPDK port (default memif)" },
	{ "ip", "this side's IPv4 address (the topology's; a stack with IP needs it)" },
	{ "netmask", "IPv4 netmask (default 255.255.255.0)" },
	{ "gw", "IPv4 gateway (default 0.0.0.0)" },
	{ "iface", "port=af_packet: the kernel interface to take" },
	{ "tap_addr", "port=tap: ADDRESS/BITS for the tap's kernel end, or none" },
	{ "tap_name", "port=tap: the tap netdev's name (default from run id and role)" },
	{ "pci", "port=pci: the device (BDF); the only way DPDK probes PCI" },
	{ "huge", "auto | yes | no: hugepages" },
	{ "cpu", "auto | any | N: the CPU of the polling lcore" },
	{ "eal", "extra EAL arguments, space separated" },
	{ "log", "DPDK log level (default warning)" },
	{ "mbufs", "mbufs in the pool (default: 8191, or 3 a connection the run holds)" },
	{ "link_timeout_ms", "how long the client waits for the link" },
	{ "mtu", "the stack's MTU (memif: 9000; elsewhere the port's)" },
	{ "checksum", "auto | on | off: IP/TCP checksums (auto: off on memif only)" },
	{ "impair", "SPEC: the impairment stage, e.g. tx:loss=1%,delay=5ms~1ms;seed=7" },
	{ "pcap", "PATH: keep the last frames both ways, written there as pcap at close" },
	{ "pcap_frames", "how many frames pcap= keeps (default 4096)" },
};

#define N_LAYER_OPTS (sizeof(layer_opts) / sizeof(layer_opts[0]))

static const char *const kind_names[] = {
	[DPK_PORT_MEMIF] = "memif",
	[DPK_PORT_TAP] = "tap",
	[DPK_PORT_AF_PACKET] = "af_packet",
	[DPK_PORT_PCI] = "pci",
};

const char *dpk_port_kind_name(enum dpk_port_kind kind)
{
	return kind_names[kind];
}

static bool known(const char *opt, size_t klen, const struct dpk_opt *own, unsigned int n_own)
{
	unsigned int k;

	for (k = 0; k < N_LAYER_OPTS; k++)
		if (strlen(layer_opts[k].key) == klen && strncmp(layer_opts[k].key, opt, klen) == 0)
			return true;
	for (k = 0; k < n_own; k++)
		if (strlen(own[k].key) == klen && strncmp(own[k].key, opt, klen) == 0)
			return true;
	return false;
}

static void list_keys(char *err, size_t len, int n, const struct dpk_opt *own,
		      unsigned int n_own)
{
	unsigned int k;

	for (k = 0; k < N_LAYER_OPTS + n_own && n >= 0 && (size_t)n < len; k++)
		n += snprintf(err + n, len - (size_t)n, "%s %s", k ? "," : "",
			      k < N_LAYER_OPTS ? layer_opts[k].key : own[k - N_LAYER_OPTS].key);
}

static int check_keys(const struct tl_stack_params *p, const struct dpk_opt *own,
		      unsigned int n_own, char *err, size_t len)
{
	unsigned int i;

	char q[QUOTE_MAX];

	for (i = 0; i < p->n_opts; i++) {
		const char *eq = strchr(p->opts[i], '=');
		size_t klen = eq ? (size_t)(eq - p->opts[i]) : strlen(p->opts[i]);

		if (klen == 8 && strncmp(p->opts[i], "topology", klen) == 0) {
			snprintf(err, len, "stack option '%s': topology is no longer a stack "
				 "setting: the harness's --topology now sets port= and its "
				 "details (ip=, iface=, tap_addr=, pci=)",
				 dpk_quote(q, sizeof(q), p->opts[i]));
			return -EINVAL;
		}
		if (eq == NULL || !known(p->opts[i], klen, own, n_own)) {
			list_keys(err, len, snprintf(err, len, "stack option '%s': expected "
						     "KEY=VALUE with KEY one of",
						     dpk_quote(q, sizeof(q), p->opts[i])),
				  own, n_own);
			return -EINVAL;
		}
	}
	return 0;
}

static int copy_opt(char *dst, size_t dlen, const struct tl_stack_params *p, const char *key,
		    const char *dflt, char *err, size_t len)
{
	const char *v = tl_params_get(p, key, dflt);
	char q[QUOTE_MAX];

	if (strlen(v) >= dlen) {
		snprintf(err, len, "stack option %s: '%s' is longer than %zu characters", key,
			 dpk_quote(q, sizeof(q), v), dlen - 1);
		return -EINVAL;
	}
	snprintf(dst, dlen, "%s", v);
	return 0;
}

int dpk_opt_uint(unsigned int *dst, const struct tl_stack_params *p, const char *key,
		 unsigned int dflt, unsigned int lo, unsigned int hi, char *err, size_t len)
{
	const char *v = tl_params_get(p, key, NULL);
	unsigned long n;
	char *end, q[QUOTE_MAX];

	if (v == NULL) {
		*dst = dflt;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || n < lo || n > hi) {
		snprintf(err, len, "stack option %s: expected an integer in [%u, %u], got '%s'",
			 key, lo, hi, dpk_quote(q, sizeof(q), v));
		return -EINVAL;
	}
	*dst = (unsigned int)n;
	return 0;
}

/* The run id names files and sockets: letters, digits, '-' and '_' only. */
static int check_run_id(struct dpk_cfg *cfg, const char *id, char *err, size_t len)
{
	size_t i, n = strlen(id);
	char q[QUOTE_MAX];

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			break;
	if (n == 0 || i < n || n >= sizeof(cfg->run_id)) {
		snprintf(err, len, "run id '%s': expected 1 to %zu letters, digits, '-' or '_'",
			 dpk_quote(q, sizeof(q), id), sizeof(cfg->run_id) - 1);
		return -EINVAL;
	}
	memcpy(cfg->run_id, id, n + 1);
	return 0;
}

static int port_opt(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len)
{
	const char *v = tl_params_get(p, "port", "memif");
	unsigned int k;
	char q[QUOTE_MAX];

	for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (strcmp(v, kind_names[k]) == 0) {
			cfg->port = (enum dpk_port_kind)k;
			return 0;
		}
	snprintf(err, len, "stack option port: expected memif, tap, af_packet or pci, got '%s'",
		 dpk_quote(q, sizeof(q), v));
	return -EINVAL;
}

/* One of @p choices (NULL-terminated) into @p dst. */
static int choice_opt(char *dst, size_t dlen, const struct tl_stack_params *p, const char *key,
		      const char *const *choices, char *err, size_t len)
{
	const char *const *c;
	int r = copy_opt(dst, dlen, p, key, choices[0], err, len);

	for (c = choices; r == 0 && *c != NULL; c++)
		if (strcmp(dst, *c) == 0)
			return 0;
	if (r == 0) {
		char q[QUOTE_MAX];

		snprintf(err, len, "stack option %s: expected %s, %s or %s, got '%s'", key,
			 choices[0], choices[1], choices[2], dpk_quote(q, sizeof(q), dst));
		r = -EINVAL;
	}
	return r;
}

/*
 * checksum=auto (default): off on memif, on elsewhere. memif is shared memory between two
 * processes of one host: nothing on it corrupts a frame, and both ends are DPDK stacks.
 */
static int checksum_opt(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err,
			size_t len)
{
	static const char *const choices[] = { "auto", "on", "off", NULL };
	char v[8];
	int r = choice_opt(v, sizeof(v), p, "checksum", choices, err, len);

	if (r == 0)
		cfg->checksum = strcmp(v, "auto") == 0 ? cfg->port != DPK_PORT_MEMIF
						       : strcmp(v, "on") == 0;
	return r;
}

static int addr_opt(char *dst, size_t dlen, const struct tl_stack_params *p, const char *key,
		    const char *dflt, char *err, size_t len)
{
	struct in_addr a;
	int r = copy_opt(dst, dlen, p, key, dflt, err, len);

	if (r == 0 && inet_pton(AF_INET, dst, &a) != 1) {
		char q[QUOTE_MAX];

		snprintf(err, len, "stack option %s: '%s' is not an IPv4 address", key,
			 dpk_quote(q, sizeof(q), dst));
		r = -EINVAL;
	}
	return r;
}

/*
 * The addresses are the topology's (the harness's table), never a default of ours: a port
 * moves frames and needs none (memif_pingpong); a stack with IP asks for ip= itself
 * (dpk_cfg_need_ip). cfg->ip stays "" when it is not given.
 */
static int addrs(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len)
{
	int r = 0;

	if (tl_params_get(p, "ip", NULL) != NULL)
		r = addr_opt(cfg->ip, sizeof(cfg->ip), p, "ip", NULL, err, len);
	if (r == 0)
		r = addr_opt(cfg->netmask, sizeof(cfg->netmask), p, "netmask", "255.255.255.0",
			     err, len);
	if (r == 0)
		r = addr_opt(cfg->gw, sizeof(cfg->gw), p, "gw", "0.0.0.0", err, len);
	return r;
}

static int strings(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len)
{
	static const char *const huge[] = { "auto", "yes", "no", NULL };
	int r;

	r = copy_opt(cfg->iface, sizeof(cfg->iface), p, "iface", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->tap_addr, sizeof(cfg->tap_addr), p, "tap_addr", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->tap_name, sizeof(cfg->tap_name), p, "tap_name", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->pci, sizeof(cfg->pci), p, "pci", "", err, len);
	if (r == 0)
		r = choice_opt(cfg->huge, sizeof(cfg->huge), p, "huge", huge, err, len);
	if (r == 0)
		r = copy_opt(cfg->cpu, sizeof(cfg->cpu), p, "cpu", "auto", err, len);
	if (r == 0)
		r = copy_opt(cfg->eal_extra, sizeof(cfg->eal_extra), p, "eal", "", err, len);
	if (r == 0)
		r = copy_opt(cfg->log_level, sizeof(cfg->log_level), p, "log", "warning", err, len);
	return r;
}

/*
 * The pool for @p conns connections at once (tl_stack_params.conns), by default: a closed
 * loop keeps a frame or two of each in flight, and the TX queue is half the pool, so three
 * mbufs a connection, as 2^k - 1 (the size a mempool fills best), never under 8191. 10,000
 * connections get 32767, the pool they were measured to need (stack/dpdk/README.md).
 */
static unsigned int mbufs_for(unsigned int conns)
{
	unsigned int n = MBUFS_DEFAULT;

	while (n < 3ull * conns && n < MBUFS_MAX / 2)
		n = 2 * n + 1;
	return n;
}

static int numbers(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len)
{
	int r;

	r = dpk_opt_uint(&cfg->n_mbufs, p, "mbufs", mbufs_for(p->conns), 1023, MBUFS_MAX, err,
			 len);
	if (r == 0)
		r = dpk_opt_uint(&cfg->link_timeout_ms, p, "link_timeout_ms", 10000, 1, 600000,
				 err, len);
	if (r == 0)
		r = dpk_opt_uint(&cfg->mtu, p, "mtu", cfg->port == DPK_PORT_MEMIF ? MEMIF_MTU : 0,
				 576, MTU_MAX, err, len);
	return r;
}

/* pcap=PATH turns the capture ring on (capture.h); pcap_frames= is its N either way. */
static int capture_opts(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err,
			size_t len)
{
	int r = copy_opt(cfg->pcap, sizeof(cfg->pcap), p, "pcap", "", err, len);

	if (r == 0)
		r = dpk_opt_uint(&cfg->pcap_frames, p, "pcap_frames", DPK_CAPTURE_FRAMES, 1,
				 1u << 20, err, len);
	return r;
}

/* memif's ring buffers hold a whole frame each: the MTU and the Ethernet header, rounded up to
 * 1 KiB (2048 for a 1500 MTU, memif's default) */
static unsigned int memif_bsize(unsigned int mtu)
{
	unsigned int need = (mtu ? mtu : 1500) + 14;

	return need <= 2048 ? 2048 : (need + 1023) / 1024 * 1024;
}

/* memif: the control socket in the abstract namespace, named by run_id (no file to leave);
 * the server (the SUT) is memif's server and comes up first */
static int memif_vdev(struct dpk_cfg *cfg, char *err, size_t len)
{
	bool server = cfg->role == TL_ROLE_SERVER;
	int n;

	n = snprintf(cfg->vdev, sizeof(cfg->vdev),
		     "net_memif0,role=%s,id=0,socket=/run/tcplab/%s.memif,socket-abstract=yes,"
		     "mac=02:77:00:00:00:%02x,rsize=10,bsize=%u",
		     server ? "server" : "client", cfg->run_id, server ? 2 : 1,
		     memif_bsize(cfg->mtu));
	if (n >= (int)sizeof(cfg->vdev)) {
		snprintf(err, len, "run id '%s' is too long for a memif socket name", cfg->run_id);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* tap: net_tap0, whose netdev (tap_name=, or named from the run id) appears in this
 * process's network namespace; dpk_port_open addresses its kernel end (tap_addr=). */
static int tap_vdev(struct dpk_cfg *cfg, char *err, size_t len)
{
	if (cfg->tap_addr[0] == '\0' ||
	    (strcmp(cfg->tap_addr, "none") != 0 && !dpk_tap_addr_valid(cfg->tap_addr))) {
		char q[QUOTE_MAX];

		snprintf(err, len, "port=tap needs tap_addr=ADDRESS/BITS (the kernel end's, e.g. "
			 "192.0.2.1/24) or tap_addr=none, got '%s'",
			 dpk_quote(q, sizeof(q), cfg->tap_addr));
		return -EINVAL;
	}
	if (cfg->tap_name[0] == '\0')
		dpk_tap_name(cfg->tap_name, sizeof(cfg->tap_name), cfg->run_id, cfg->role);
	snprintf(cfg->vdev, sizeof(cfg->vdev), "net_tap0,iface=%s", cfg->tap_name);
	return dpk_netns_check("port=tap", err, len);
}

/* af_packet: the kernel interface iface= names (a veth end the run put in this namespace) */
static int af_packet_vdev(struct dpk_cfg *cfg, char *err, size_t len)
{
	if (cfg->iface[0] == '\0') {
		snprintf(err, len, "port=af_packet needs iface=NAME (the kernel interface to take)");
		return -EINVAL;
	}
	snprintf(cfg->vdev, sizeof(cfg->vdev), "net_af_packet0,iface=%s", cfg->iface);
	return dpk_netns_check("port=af_packet", err, len);
}

/* impair=SPEC (impair_spec.c): the parts for this side; none: the stage is off */
static int impair_opt(struct dpk_cfg *cfg, const struct tl_stack_params *p, char *err,
		      size_t len)
{
	const char *v = tl_params_get(p, "impair", NULL);
	char why[256];
	int r;

	if (v == NULL)
		return 0;
	r = dpk_impair_parse(&cfg->impair, v, cfg->role, why, sizeof(why));
	if (r < 0)
		snprintf(err, len, "stack option impair: %s", why);
	return r;
}

static int port_vdev(struct dpk_cfg *cfg, char *err, size_t len)
{
	switch (cfg->port) {
	case DPK_PORT_MEMIF:
		return memif_vdev(cfg, err, len);
	case DPK_PORT_TAP:
		return tap_vdev(cfg, err, len);
	case DPK_PORT_AF_PACKET:
		return af_packet_vdev(cfg, err, len);
	case DPK_PORT_PCI:
		break;
	}
	if (cfg->pci[0] == '\0') {
		snprintf(err, len, "port=pci needs pci=BDF (the device to take); DPDK never probes "
			 "PCI on its own");
		return -EINVAL;
	}
	return 0;
}

int dpk_cfg_parse(struct dpk_cfg *cfg, const struct tl_stack_params *p,
		  const struct dpk_opt *own, unsigned int n_own, char *err, size_t len)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->role = p->role;
	cfg->cpu_auto = p->cpu;
	r = check_keys(p, own, n_own, err, len);
	if (r == 0)
		r = check_run_id(cfg, p->run_id ? p->run_id : "tcplab", err, len);
	if (r == 0)
		r = port_opt(cfg, p, err, len);
	if (r == 0)
		r = addrs(cfg, p, err, len);
	if (r == 0)
		r = strings(cfg, p, err, len);
	if (r == 0)
		r = numbers(cfg, p, err, len);
	if (r == 0)
		r = checksum_opt(cfg, p, err, len);
	if (r == 0)
		r = impair_opt(cfg, p, err, len);
	if (r == 0)
		r = capture_opts(cfg, p, err, len);
	if (r == 0)
		r = port_vdev(cfg, err, len);
	return r;
}

int dpk_cfg_need_ip(const struct dpk_cfg *cfg, char *err, size_t len)
{
	if (cfg->ip[0] != '\0')
		return 0;
	snprintf(err, len, "port=%s needs ip=A.B.C.D, this side's address (the harness's "
		 "--topology gives it; by hand: --stack-opt ip=...)", dpk_port_kind_name(cfg->port));
	return -EINVAL;
}
