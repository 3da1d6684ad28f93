/* SPDX-License-Identifier: MIT */
/*
 * topology.h - the one topology table: how the engine and the SUT of a run are joined. An entry
 * says what each side may be (a sockets backend, a DPDK-port backend, and which pairs), which
 * kinds `--topology NAME` picks when no backend is named, the namespaces and link the run
 * makes, the one address plan, and the settings a DPDK side gets (port=, ip=, iface=,
 * tap_addr=). `tcplab run`, `serve`, `case` and `list` ask it; the Python tools read it from
 * `tcplab list --json`. No other file knows a topology's name or an address of the plan.
 *
 * Namespaces: made before either side starts and removed on every exit path (hx_topo_make,
 * hx_topo_remove); names carry the run's pid. A run killed too hard to clean up has its
 * janitor remove them (cli/janitor.h, hx_topo_remove_run), or, the janitor killed too, the
 * next run (every tcplab-r?<pid> whose pid is gone).
 *   shared    one namespace, entered by the run process itself: the SUT it forks, the
 *             engine's stack and a DPDK tap's kernel end all live in it.
 *   per-side  two namespaces joined by the entry's veth pair, the two-host simulation: the
 *             run process enters the engine's, the SUT's child enters the SUT's. A sockets
 *             side gets its role's address on its end; a DPDK side takes its end with
 *             af_packet, so the kernel's offloads are turned off on both ends (the stack sees
 *             every frame at most MTU long with its checksum done).
 */
#ifndef HX_TOPOLOGY_H
#define HX_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <tcplab/stack.h>

#include "cli.h"

struct hx_json;

/** The two sides of a run, as indices of the per-side fields below. */
enum hx_side {
	HX_SIDE_ENGINE,
	HX_SIDE_SUT,
	HX_SIDES,
};

/** Which pairs of side kinds a topology joins. */
enum hx_topo_mix {
	HX_MIX_ANY,		/**< any kind each side takes */
	HX_MIX_ONE_DPDK,	/**< exactly one side on a DPDK port, the other on sockets */
};

enum hx_topo_ns {
	HX_NS_NONE,
	HX_NS_SHARED,		/**< one namespace for both sides */
	HX_NS_PER_SIDE,		/**< one namespace a side, joined by the link */
};

enum hx_topo_link {
	HX_LINK_NONE,
	HX_LINK_MEMIF,
	HX_LINK_TAP,
	HX_LINK_VETH,
	HX_LINK_PCI,
};

/** The address plan of a topology: a side's address is addr[side]. */
struct hx_addr_plan {
	unsigned int prefix_len;
	const char *addr[HX_SIDES];
	const char *spare;		/**< owned by no stack (scapy's); NULL: none */
};

/** Bit of enum tl_attach @p k in hx_topology.kinds. */
#define HX_KIND(k) (1u << (k))

struct hx_topology {
	const char *name;
	const char *description;
	unsigned int kinds[HX_SIDES];	/**< HX_KIND bits: what each side may be */
	enum hx_topo_mix mix;
	enum tl_attach dflt[HX_SIDES];	/**< the kinds taken when no backend is named */
	enum hx_topo_ns namespaces;
	enum hx_topo_link link;
	const char *ifname[HX_SIDES];	/**< each side's end of a veth link; NULL otherwise */
	const char *port;		/**< port= of a DPDK side */
	const struct hx_addr_plan *plan;	/**< NULL: the user's (ip=, --peer) */
	bool stack_makes_link;		/**< the DPDK side's port makes the link: it starts first */
	bool remote_sut;		/**< the SUT is on another host: `run` needs --peer */
};

#define HX_TOPO_MAX_SETTINGS 4
#define HX_TOPO_SETTING_MAX 64

/** A side's settings: the table's (DPDK side only), then the user's --stack-opt. */
struct hx_side_opts {
	char text[HX_TOPO_MAX_SETTINGS][HX_TOPO_SETTING_MAX];
	const char *opts[HX_TOPO_MAX_SETTINGS + HX_CLI_MAX_OPTS];
	unsigned int n;
};

/** Every topology, NULL-terminated, in the order `tcplab list` prints them. */
const struct hx_topology *const *hx_topologies(void);

/** The topology called @p name; NULL if none. */
const struct hx_topology *hx_topology_find(const char *name);

/** "a, b, c": every topology's name, for messages. */
void hx_topology_names(char *buf, size_t len);

/** The first topology whose default kinds are @p kind on both sides: a backend's own. */
const struct hx_topology *hx_topology_default(enum tl_attach kind);

/**
 * The topology conformance runs in: a Linux peer on the engine side, a SUT of @p sut in
 * namespaces of the run's own (the first entry that takes that pair). NULL if none.
 */
const struct hx_topology *hx_topology_linux_peer(enum tl_attach sut);

/** Whether side @p side of @p t may be of kind @p kind. */
bool hx_topology_takes(const struct hx_topology *t, enum hx_side side, enum tl_attach kind);

/** Whether @p t joins an engine of kind @p engine and a SUT of kind @p sut. */
bool hx_topology_allows(const struct hx_topology *t, enum tl_attach engine, enum tl_attach sut);

/** Whether a side of @p t may be of more than one kind (`run --sut-backend`). */
bool hx_topology_mixed(const struct hx_topology *t);

/** "sockets" or "dpdk", as `list --json` writes attach kinds. */
const char *hx_topology_kind_name(enum tl_attach kind);

/** What a side of @p t in @p side may be, for messages: "sockets", "sockets or dpdk". */
void hx_topology_kinds_text(const struct hx_topology *t, enum hx_side side, char *buf,
			    size_t len);

/**
 * Fill @p so with the settings of a @p kind side of @p t in role @p side (a DPDK side: port=,
 * iface=, ip=, tap_addr=; a sockets side none), then the @p n_user settings @p user in order,
 * so that the user's win (tl_params_get takes the last).
 */
void hx_side_opts_build(struct hx_side_opts *so, const struct hx_topology *t, enum hx_side side,
			enum tl_attach kind, const char *const *user, unsigned int n_user);

/** Write @p t as one object of `list --json`'s "topologies" (README.md, "Topologies"). */
void hx_topology_json(const struct hx_topology *t, struct hx_json *j);

/* ---- the namespaces of one run ---- */

struct hx_topo {
	char ns[2][32];		/* [0] the engine's (entered), [1] the SUT's (per-side only) */
	unsigned int n;
	char sut_ns_path[64];	/* what the SUT's child enters; "" when it stays */
};

/**
 * Make the namespaces and link of @p t for sides of kinds @p kinds and enter the engine's;
 * nothing for a topology without namespaces. 0, or -errno with a reason in @p err (what was
 * made is removed).
 */
int hx_topo_make(struct hx_topo *ns, const struct hx_topology *t,
		 const enum tl_attach kinds[HX_SIDES], char *err, size_t len);

/** Remove what this run made. Accepts a topology never made. */
void hx_topo_remove(struct hx_topo *ns);

/** Remove the namespaces the run of engine PID @p pid made, those still there (its
 * janitor's work, cli/janitor.h, after that engine died). */
void hx_topo_remove_run(pid_t pid);

/** Enter the namespace at @p path (a child, before exec). 0 or -errno. */
int hx_topo_enter(const char *path);

#endif /* HX_TOPOLOGY_H */
