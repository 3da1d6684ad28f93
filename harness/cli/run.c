/* SPDX-License-Identifier: MIT */
/*
 * run.c - `tcplab run NAME`: the whole path of one run.
 *
 *   parse flags -> which backend on which side of which topology (topology.h)
 *   -> load scenarios/NAME.scn with overrides (bad input: message, exit 2)
 *   -> the topology's namespaces and link
 *   -> start the SUT (`tcplab serve PROGRAM`, ready line) unless --peer names one
 *   -> create the engine's stack -> hx_engine_run -> SUT stats -> checks
 *   -> DIR/NAME.json + summary -> exit 0 pass / 1 a check failed / 2 usage or setup error
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "harness.h"
#include "hdr.h"
#include "janitor.h"
#include "json.h"
#include "netem.h"
#include "result.h"
#include "scenario_dir.h"
#include "sut.h"
#include "topology.h"

#define MAX_OVERRIDES 48
#define READY_TIMEOUT_MS 30000
#define STATS_TIMEOUT_MS 10000
#define MAX_COUNTERS 128	/* a DPDK stack's port, impairment and own counters */

struct run_opts {
	const char *name;
	const char *backend;		/* the engine's: --backend, else what resolve_sides picks */
	const char *sut_backend;	/* the SUT's: --sut-backend, else likewise */
	const char *topology;		/* --topology */
	const char *out;
	const char *json;		/* --json FILE, "-": stdout; NULL: DIR/NAME.json */
	const char *peer;
	const char *opts[HX_CLI_MAX_OPTS];	/* the user's --stack-opt, for both sides */
	unsigned int n_opts;
	/* what each side gets: the user's --stack-opt, then impair= where the spec names it */
	const char *side_opts[HX_SIDES][HX_CLI_MAX_OPTS];
	unsigned int n_side_opts[HX_SIDES];
	char impair_opt[DPK_IMPAIR_SPEC_MAX + 8];
	const struct hx_topology *topo;
	enum tl_attach kind[HX_SIDES];	/* of backend and sut_backend */
	struct hx_override ov[MAX_OVERRIDES];
	unsigned int n_ov;
	char ov_text[MAX_OVERRIDES][HX_NAME_MAX * 2];
	int engine_cpu;
	int sut_cpu;
	bool quiet;
	bool dump_plan;
	bool auto_backend;	/* the default stack: fall back to a sockets run if need be */
	enum hx_pcap_mode pcap;	/* --pcap (capture.h) */
};

#define SHORT_OPTS "b:d:R:c:o:qh"	/* each the val of its long flag below */

static const struct option long_opts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "topology", required_argument, NULL, 't' },
	{ "sut-backend", required_argument, NULL, 'B' },
	{ "duration", required_argument, NULL, 'd' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "rate", required_argument, NULL, 'R' },
	{ "conns", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, 's' },
	{ "out", required_argument, NULL, 'o' },
	{ "json", required_argument, NULL, 'j' },
	{ "peer", required_argument, NULL, 'p' },
	{ "stack-opt", required_argument, NULL, 'O' },
	{ "impair", required_argument, NULL, 'I' },
	{ "engine-cpu", required_argument, NULL, 'E' },
	{ "sut-cpu", required_argument, NULL, 'S' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "dump-plan", no_argument, NULL, 'D' },
	{ "pcap", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: tcplab run NAME [flags]\n"
		"  -b, --backend NAME  the engine's backend (default: the stack under test on its\n"
		"                      own topology where it starts, else the Linux baseline)\n"
		"  --topology NAME     how engine and SUT are joined (default: the backend's; the\n"
		"                      topologies and what each side may be: tcplab list)\n"
		"  --sut-backend NAME  the SUT's backend, where a topology's sides may differ\n"
		"                      (default: the engine's where the topology allows it)\n"
		"  -d, --duration TIME measured time (e.g. 10s)      same as --set duration=TIME\n"
		"  --warmup TIME       unmeasured time before it     same as --set warmup=TIME\n"
		"  -R, --rate R        open loop at R transactions/s same as --set rate=R\n"
		"  -c, --conns N       concurrent connections        same as --set conns=N\n"
		"  --set KEY=VALUE     override a directive or param of the scenario\n"
		"  -o, --out DIR       write DIR/NAME.json, and NAME.hgrm and NAME.hlog (its\n"
		"                      latencies for HdrHistogram's tools) (default\n"
		"                      results/out/<time>/)\n"
		"  --json FILE         write the result to FILE instead, '-': stdout (and the\n"
		"                      summary to stderr; the .hgrm and .hlog only with --out)\n"
		"  --peer ADDR:PORT    drive a SUT started elsewhere (tcplab serve) instead\n"
		"  --stack-opt K=V     backend setting for both sides, after the topology's\n"
		"  --impair SPEC       a bad link: the DPDK sides' impairment stage, a kernel\n"
		"                      side's netem; e.g. 'sut:rx:loss=1%%,delay=5ms~1ms;seed=7'\n"
		"                      (stack/dpdk/README.md); same as --set impair=SPEC\n"
		"  --engine-cpu N, --sut-cpu N   pin the two sides\n"
		"  --pcap WHEN         keep each side's packet capture next to the result:\n"
		"                      on-failure (default), always or never\n"
		"  -q, --quiet         no progress line\n"
		"  --dump-plan         print the compiled client script and exit\n"
		"exit: 0 passed, 1 a check failed, 2 bad input or setup, 128+N stopped by signal\n"
		"N (130: Ctrl-C) after writing the result\n");
}

static int add_override(struct run_opts *o, const char *key, const char *value)
{
	char *t;

	if (o->n_ov == MAX_OVERRIDES) {
		fprintf(stderr, "tcplab run: more than %d overrides\n", MAX_OVERRIDES);
		return -EINVAL;
	}
	t = o->ov_text[o->n_ov];
	snprintf(t, sizeof(o->ov_text[0]), "%s", key);
	o->ov[o->n_ov].key = t;
	o->ov[o->n_ov].value = value;
	o->n_ov++;
	return 0;
}

static int add_set(struct run_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char key[HX_NAME_MAX];

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key)) {
		fprintf(stderr, "tcplab run: --set '%s': expected KEY=VALUE\n", arg);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	return add_override(o, key, eq + 1);
}

/* --impair SPEC: checked for both sides now (one line, exit 2), then an override of the
 * scenario's impair directive, so the result's params record it */
static int impair_flag(struct run_opts *o, const char *spec)
{
	struct dpk_impair_spec s;
	char err[256];

	if (dpk_impair_parse(&s, spec, TL_ROLE_CLIENT, err, sizeof(err)) < 0 ||
	    dpk_impair_parse(&s, spec, TL_ROLE_SERVER, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab run: --impair: %s\n", err);
		return -EINVAL;
	}
	return add_override(o, "impair", spec);
}

static int parse_flag(struct run_opts *o, int c)
{
	switch (c) {
	case 'b': o->backend = optarg; return 0;
	case 't': o->topology = optarg; return 0;
	case 'B': o->sut_backend = optarg; return 0;
	case 'd': return add_override(o, "duration", optarg);
	case 'w': return add_override(o, "warmup", optarg);
	case 'R': return add_override(o, "rate", optarg);
	case 'c': return add_override(o, "conns", optarg);
	case 's': return add_set(o, optarg);
	case 'o': o->out = optarg; return 0;
	case 'j': o->json = optarg; return 0;
	case 'p': o->peer = optarg; return 0;
	case 'O': return hx_cli_add_opt(o->opts, &o->n_opts, optarg, "--stack-opt");
	case 'I': return impair_flag(o, optarg);
	case 'E': return hx_cli_int(optarg, "--engine-cpu", 0, 4095, &o->engine_cpu);
	case 'S': return hx_cli_int(optarg, "--sut-cpu", 0, 4095, &o->sut_cpu);
	case 'q': o->quiet = true; return 0;
	case 'D': o->dump_plan = true; return 0;
	case 'P': return hx_capture_mode(&o->pcap, optarg);
	default: return -EINVAL;
	}
}

/* ---- which backend on which side ---- */

static enum tl_attach kind_of(const char *backend)
{
	return tl_backend_find(backend)->attach;
}

/* Whether a @p kind side @p side pairs with the other side, named (@p other) or not yet. */
static bool pairs(const struct hx_topology *t, enum hx_side side, enum tl_attach kind,
		  const char *other)
{
	enum tl_attach k;

	if (!hx_topology_takes(t, side, kind))
		return false;
	if (other == NULL)
		return true;
	k = kind_of(other);
	return side == HX_SIDE_ENGINE ? hx_topology_allows(t, kind, k)
				      : hx_topology_allows(t, k, kind);
}

/*
 * An unnamed side: the SUT runs what the engine runs where the topology allows that;
 * otherwise the table's default kind for the side, else its other kind, whichever pairs
 * with the other side and has a backend. NULL if none does.
 */
static const char *pick_side(const struct hx_topology *t, enum hx_side side, const char *other)
{
	enum tl_attach kinds[2] = { t->dflt[side], t->dflt[side] == TL_ATTACH_DPDK
				    ? TL_ATTACH_SOCKETS : TL_ATTACH_DPDK };
	const char *name;
	unsigned int i;

	if (side == HX_SIDE_SUT && other != NULL && pairs(t, side, kind_of(other), other))
		return other;
	for (i = 0; i < 2; i++) {
		name = hx_cli_default_backend(kinds[i]);
		if (name != NULL && pairs(t, side, kinds[i], other))
			return name;
	}
	return NULL;
}

/* No --topology: the backend's own (the first whose defaults are its kind on both sides). */
static int default_topology(struct run_opts *o)
{
	if (o->backend == NULL) {
		o->backend = o->peer == NULL ? hx_cli_default_backend(TL_ATTACH_DPDK) : NULL;
		o->auto_backend = o->backend != NULL;
		if (o->backend == NULL)
			o->backend = hx_cli_default_backend(TL_ATTACH_SOCKETS);
	}
	o->topo = hx_topology_default(kind_of(o->backend));
	if (o->topo == NULL) {
		fprintf(stderr, "tcplab run: no topology takes backend %s on both sides; name one "
			"with --topology\n", o->backend);
		return -EINVAL;
	}
	return 0;
}

/* --sut-backend: only where a side may be of either kind and the SUT runs here. */
static int check_sut_flag(const struct run_opts *o)
{
	const struct hx_topology *const *t;
	const char *sep = "";

	if (o->topo != NULL && hx_topology_mixed(o->topo) && !o->topo->remote_sut &&
	    o->peer == NULL)
		return 0;
	fprintf(stderr, "tcplab run: --sut-backend is for --topology ");
	for (t = hx_topologies(); *t != NULL; t++)
		if (hx_topology_mixed(*t) && !(*t)->remote_sut) {
			fprintf(stderr, "%s%s", sep, (*t)->name);
			sep = " or ";
		}
	fprintf(stderr, " (a side each), without --peer\n");
	return -EINVAL;
}

static int check_kind(const struct run_opts *o, enum hx_side side)
{
	const char *b = side == HX_SIDE_ENGINE ? o->backend : o->sut_backend;
	enum tl_attach kind;
	char kinds[32];

	if (b == NULL)
		return 0;
	kind = kind_of(b);
	if (hx_topology_takes(o->topo, side, kind))
		return 0;
	hx_topology_kinds_text(o->topo, side, kinds, sizeof(kinds));
	fprintf(stderr, "tcplab run: --topology %s takes %s on the %s side; backend %s is %s\n",
		o->topo->name, kinds, side == HX_SIDE_ENGINE ? "engine" : "SUT", b,
		hx_topology_kind_name(kind));
	return -EINVAL;
}

/* Whether the SUT runs here or at --peer, as the topology has it. */
static int check_peer(const struct run_opts *o)
{
	const struct hx_topology *t = o->topo;

	if (o->peer != NULL && t->namespaces != HX_NS_NONE) {
		fprintf(stderr, "tcplab run: --topology %s runs both sides here, in namespaces of "
			"its own: no --peer\n", t->name);
		return -EINVAL;
	}
	if (o->peer == NULL && t->remote_sut) {
		fprintf(stderr, "tcplab run: --topology %s has its SUT on another host: give "
			"--peer ADDR:PORT\n", t->name);
		return -EINVAL;
	}
	return 0;
}

/* The pair of kinds, once both sides are known (a SUT at --peer is not this run's). */
static int check_pair(struct run_opts *o)
{
	const struct hx_topology *t = o->topo;

	o->kind[HX_SIDE_ENGINE] = kind_of(o->backend);
	o->kind[HX_SIDE_SUT] = kind_of(o->sut_backend);
	if (o->peer != NULL || hx_topology_allows(t, o->kind[0], o->kind[1]))
		return 0;
	fprintf(stderr, "tcplab run: --topology %s joins one dpdk side and one sockets side; "
		"backends %s and %s are both %s\n", t->name, o->backend, o->sut_backend,
		hx_topology_kind_name(o->kind[0]));
	return -EINVAL;
}

/*
 * A sockets side facing a DPDK side on this host gets the CPU the DPDK side leaves: each
 * side takes what a spinning stack's cpu hint gives its role (tl_auto_cpu). Left to the
 * scheduler it lands on the spinning core now and then and waits out time slices: a tap
 * run's open loop fell hundreds of ms behind in half its runs. --engine-cpu and --sut-cpu
 * override; with one CPU there is nothing to choose (-1: left unpinned).
 */
static void pin_sockets_side(struct run_opts *o)
{
	if (o->peer != NULL || o->kind[HX_SIDE_ENGINE] == o->kind[HX_SIDE_SUT])
		return;
	if (o->kind[HX_SIDE_ENGINE] == TL_ATTACH_SOCKETS && o->engine_cpu < 0)
		o->engine_cpu = tl_auto_cpu(TL_ROLE_CLIENT);
	if (o->kind[HX_SIDE_SUT] == TL_ATTACH_SOCKETS && o->sut_cpu < 0)
		o->sut_cpu = tl_auto_cpu(TL_ROLE_SERVER);
}

static int unknown_topology(const char *name)
{
	char names[128];

	hx_topology_names(names, sizeof(names));
	fprintf(stderr, "tcplab run: unknown topology '%s' (valid: %s)\n", name, names);
	return -EINVAL;
}

/*
 * Which backend runs each side over which topology. --backend names the engine's,
 * --sut-backend the SUT's, --topology the join. With no --topology: the backend's own, and
 * with no --backend either the build's default stack on its own topology (the one case that
 * may fall back: the user asked for nothing in particular), or with --peer a sockets engine.
 * With --topology, an unnamed side takes what pick_side gives it.
 */
static int resolve_sides(struct run_opts *o)
{
	if ((o->backend != NULL && hx_cli_check_backend(o->backend, "tcplab run") < 0) ||
	    (o->sut_backend != NULL && hx_cli_check_backend(o->sut_backend, "tcplab run") < 0))
		return -EINVAL;
	if (o->topology != NULL && (o->topo = hx_topology_find(o->topology)) == NULL)
		return unknown_topology(o->topology);
	if (o->sut_backend != NULL && check_sut_flag(o) < 0)
		return -EINVAL;
	if (o->topo == NULL && default_topology(o) < 0)
		return -EINVAL;
	if (check_peer(o) < 0 || check_kind(o, HX_SIDE_ENGINE) < 0 ||
	    check_kind(o, HX_SIDE_SUT) < 0)
		return -EINVAL;
	if (o->backend == NULL)
		o->backend = pick_side(o->topo, HX_SIDE_ENGINE, o->sut_backend);
	if (o->backend != NULL && o->sut_backend == NULL)
		o->sut_backend = o->peer != NULL ? o->backend
				 : pick_side(o->topo, HX_SIDE_SUT, o->backend);
	if (o->backend == NULL || o->sut_backend == NULL) {
		fprintf(stderr, "tcplab run: no backend here can be the %s side of --topology %s\n",
			o->backend == NULL ? "engine" : "SUT", o->topo->name);
		return -EINVAL;
	}
	if (check_pair(o) < 0)
		return -EINVAL;
	pin_sockets_side(o);
	return 0;
}

static int parse_args(struct run_opts *o, int argc, char **argv)
{
	int c;

	while ((c = hx_cli_getopt(argc, argv, long_opts, SHORT_OPTS, "run")) != -1) {
		if (c == 'h') {
			run_usage(stdout);
			exit(HX_EXIT_PASS);
		}
		if (parse_flag(o, c) < 0)
			return -EINVAL;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tcplab run: expected one scenario NAME (see tcplab list)\n");
		return -EINVAL;
	}
	o->name = argv[optind];
	if (hx_capture_check_opts(o->opts, o->n_opts) < 0)
		return -EINVAL;
	return resolve_sides(o);
}

/* ---- output ---- */

static int make_dirs(const char *path)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* --out DIR, else results/out/<UTC time of the start>/: the result's and captures' home */
static void result_dir(char *dir, size_t len, const char *out)
{
	char stamp[32];
	time_t now = time(NULL);

	if (out != NULL) {
		snprintf(dir, len, "%s", out);
		return;
	}
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
	snprintf(dir, len, "%s/results/out/%s", hx_source_root(), stamp);
}

static int open_out(const char *path, FILE **f)
{
	*f = fopen(path, "w");
	if (*f == NULL)
		fprintf(stderr, "tcplab run: cannot write %s: %s\n", path, strerror(errno));
	return *f == NULL ? -errno : 0;
}

static int close_out(const char *path, FILE *f)
{
	if (fclose(f) != 0) {
		fprintf(stderr, "tcplab run: writing %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* @p stem.hgrm and @p stem.hlog: the latencies for HdrHistogram's tools (hdr.h). */
static int write_hdr(const struct hist *h, const char *stem, const char *hlog, size_t hlog_len)
{
	char path[PATH_MAX];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s.hgrm", stem);
	if ((r = open_out(path, &f)) < 0)
		return r;
	hx_hdr_percentiles(h, f);
	if ((r = close_out(path, f)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s.hlog", stem);
	if ((r = open_out(path, &f)) < 0)
		return r;
	fwrite(hlog, 1, hlog_len, f);
	return close_out(path, f);
}

/*
 * The result: @p json ("-": stdout), else DIR/NAME.json; then, beside DIR/NAME (or the
 * given file's stem), the .hgrm and .hlog. @p path gets where the result went.
 */
static int write_result(const struct hx_result *r, const char *dir, const char *json,
			const char *out, const char *hlog, size_t hlog_len, char *path,
			size_t len)
{
	char stem[PATH_MAX];
	size_t n;
	FILE *f;
	int e;

	if (json != NULL && strcmp(json, "-") == 0) {
		snprintf(path, len, "-");
		hx_result_write(r, stdout);
		fflush(stdout);
		if (out == NULL)
			return 0;
		snprintf(stem, sizeof(stem), "%s/%s", dir, r->sc->name);
	} else if (json != NULL) {
		snprintf(path, len, "%s", json);
		n = strlen(json) > 5 && strcmp(json + strlen(json) - 5, ".json") == 0
		    ? strlen(json) - 5 : strlen(json);
		snprintf(stem, sizeof(stem), "%.*s", (int)n, json);
	} else {
		snprintf(path, len, "%s/%s.json", dir, r->sc->name);
		snprintf(stem, sizeof(stem), "%s/%s", dir, r->sc->name);
	}
	if ((json == NULL || out != NULL) && make_dirs(dir) < 0) {
		e = errno;
		fprintf(stderr, "tcplab run: cannot create %s: %s\n", dir, strerror(e));
		return -e;
	}
	if (strcmp(path, "-") != 0) {
		if ((e = open_out(path, &f)) < 0)
			return e;
		hx_result_write(r, f);
		if ((e = close_out(path, f)) < 0)
			return e;
	}
	return write_hdr(r->m->latency, stem, hlog, hlog_len);
}

/* ---- the run ---- */

struct run {
	struct run_opts o;
	struct hx_scenario sc;
	struct hx_sut sut;
	struct tl_stack *st;
	struct hx_engine_config cfg;
	struct hx_metrics m;
	struct hx_result r;
	struct tl_counter counters[MAX_COUNTERS];
	struct hx_side_opts engine_opts;
	char run_id[64];
	char label[128];
	char path[PATH_MAX];
	struct hx_topo ns;
	struct hx_janitor jan;		/* removes ns and DPDK dirs if this process is killed */
	struct hx_capture cap;
	struct hx_netem netem;		/* a kernel side's impairment */
	FILE *hlog;			/* the interval log, in memory until the result */
	char *hlog_buf;
	size_t hlog_len;
	char dir[PATH_MAX - 128];	/* where the result and the captures go */
};

/* The SUT: `tcplab serve` with the topology's name (it applies the SUT side's settings) in
 * the SUT's namespace; or, with --peer, only the address to reach it at. */
static int start_sut(struct run *x)
{
	struct hx_sut_params p = {
		.program = x->sc.program, .run_id = x->run_id, .backend = x->o.sut_backend,
		.topology = x->o.topo->name, .opts = x->cap.opts[HX_SIDE_SUT],
		.n_opts = x->cap.n_opts[HX_SIDE_SUT],
		.cpu = x->o.sut_cpu, .ready_timeout_ms = READY_TIMEOUT_MS, .conns = x->sc.conns,
		.netns = x->ns.sut_ns_path[0] ? x->ns.sut_ns_path : NULL,
	};
	char err[1024];
	int r;

	x->cfg.addrlen = sizeof(x->cfg.addr);
	if (x->o.peer != NULL) {
		if (hx_parse_addr(x->o.peer, &x->cfg.addr, &x->cfg.addrlen) < 0) {
			fprintf(stderr, "tcplab run: --peer '%s': expected ADDR:PORT\n", x->o.peer);
			return -EINVAL;
		}
		return 0;
	}
	r = hx_sut_start(&x->sut, &p, &x->cfg.addr, &x->cfg.addrlen, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "tcplab run: %s\n", err);
	return r;
}

static int start_engine_stack(struct run *x)
{
	struct run_opts *o = &x->o;
	struct tl_stack_params p = { .role = TL_ROLE_CLIENT, .run_id = x->run_id,
				     .cpu = o->engine_cpu >= 0 ? o->engine_cpu
				     : tl_auto_cpu(TL_ROLE_CLIENT), .conns = x->sc.conns };
	char err[512];

	hx_side_opts_build(&x->engine_opts, o->topo, HX_SIDE_ENGINE, o->kind[HX_SIDE_ENGINE],
			   x->cap.opts[HX_SIDE_ENGINE], x->cap.n_opts[HX_SIDE_ENGINE]);
	p.opts = x->engine_opts.opts;
	p.n_opts = x->engine_opts.n;
	x->st = tl_stack_create(o->backend, &p, err, sizeof(err));
	if (x->st == NULL) {
		fprintf(stderr, "tcplab run: backend %s: %s\n", o->backend, err);
		return -errno;
	}
	return 0;
}

/* Each side's settings as its stack would take them, before anything starts (one line). */
static int check_side(struct run *x, enum hx_side side)
{
	struct run_opts *o = &x->o;
	const char *backend = side == HX_SIDE_SUT ? o->sut_backend : o->backend;
	struct tl_stack_params p = { .run_id = x->run_id, .cpu = -1, .conns = x->sc.conns,
		.role = side == HX_SIDE_SUT ? TL_ROLE_SERVER : TL_ROLE_CLIENT };
	struct hx_side_opts so;
	char err[1024];

	hx_side_opts_build(&so, o->topo, side, o->kind[side], x->cap.opts[side],
			   x->cap.n_opts[side]);
	p.opts = so.opts;
	p.n_opts = so.n;
	if (tl_stack_check(backend, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab run: backend %s: %s\n", backend, err);
		return -1;
	}
	return 0;
}

/* A malformed --stack-opt is the user's to fix, not a reason to fall back: checked first. */
static int check_sides(struct run *x)
{
	struct run_opts *o = &x->o;

	if ((o->peer == NULL && check_side(x, HX_SIDE_SUT) < 0) ||
	    check_side(x, HX_SIDE_ENGINE) < 0)
		return -1;
	if (o->auto_backend)
		fprintf(stderr, "tcplab run: backend %s, topology %s (the default: the stack "
			"under test; --backend %s for the Linux baseline)\n", o->backend,
			o->topo->name, hx_cli_default_backend(TL_ATTACH_SOCKETS));
	return 0;
}

/*
 * Each side's settings: the user's --stack-opt, and impair=SPEC on each DPDK side the spec
 * (--impair, or the scenario's impair) names; the side's layer picks its own parts. A
 * kernel side takes its parts through netem (netem.c). Redone after a fallback (the kinds
 * change).
 */
static int impair_sides(struct run *x)
{
	struct run_opts *o = &x->o;
	struct dpk_impair_spec s;
	char err[256];
	unsigned int side;

	snprintf(o->impair_opt, sizeof(o->impair_opt), "impair=%s", x->sc.impair);
	for (side = 0; side < HX_SIDES; side++) {
		memcpy(o->side_opts[side], o->opts, o->n_opts * sizeof(o->opts[0]));
		o->n_side_opts[side] = o->n_opts;
		if (x->sc.impair[0] == '\0' ||
		    dpk_impair_parse(&s, x->sc.impair, side == HX_SIDE_SUT ? TL_ROLE_SERVER
				     : TL_ROLE_CLIENT, err, sizeof(err)) < 0 || !dpk_impair_on(&s))
			continue;
		if (side == HX_SIDE_SUT && o->peer != NULL) {
			fprintf(stderr, "tcplab run: impair: the SUT runs elsewhere (--peer): "
				"start it with --stack-opt impair=... there\n");
			return -EINVAL;
		}
		if (o->kind[side] != TL_ATTACH_DPDK)
			continue;
		if (o->n_opts == HX_CLI_MAX_OPTS) {
			fprintf(stderr, "tcplab run: impair: no room beside %d --stack-opt flags\n",
				HX_CLI_MAX_OPTS);
			return -EINVAL;
		}
		o->side_opts[side][o->n_side_opts[side]++] = o->impair_opt;
	}
	return hx_netem_check(&x->netem, o->topo, o->kind, x->sc.impair);
}

/*
 * The namespaces and link first (a tap or af_packet port is only taken inside them, so the
 * sides are checked there), then both sides: the SUT, then the engine; but where a DPDK
 * engine's port makes the link (a tap), the engine first, so that the link and the address
 * the SUT listens on exist. -EINVAL: a side's settings were refused (no fallback for that).
 */
static int start_joined(struct run *x)
{
	/* each side's settings: the user's, impair= (impair_sides), then pcap= (capture.c) */
	const char *const *user[HX_SIDES] = { x->o.side_opts[HX_SIDE_ENGINE],
					      x->o.side_opts[HX_SIDE_SUT] };
	char err[256];

	if (impair_sides(x) < 0)
		return -EINVAL;
	if (hx_topo_make(&x->ns, x->o.topo, x->o.kind, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab run: --topology %s: %s\n", x->o.topo->name, err);
		return -1;
	}
	if (hx_netem_apply(&x->netem, &x->ns) < 0)
		return -EINVAL;
	if (hx_capture_plan(&x->cap, x->o.topo, x->o.kind, x->o.peer != NULL, &x->ns, x->dir,
			    x->sc.name, user, x->o.n_side_opts) < 0 || check_sides(x) < 0)
		return -EINVAL;
	if (x->o.topo->stack_makes_link && x->o.kind[HX_SIDE_ENGINE] == TL_ATTACH_DPDK) {
		if (start_engine_stack(x) < 0)
			return -1;
		return start_sut(x);
	}
	if (start_sut(x) < 0)
		return -1;
	return start_engine_stack(x);
}

/* Start the SUT and the engine's stack; the default stack that cannot start falls back to
 * the default sockets backend on its own topology. */
static int start_sides(struct run *x)
{
	struct run_opts *o = &x->o;
	const char *failed = o->backend;
	int r = start_joined(x);

	if (r == 0)
		return 0;
	if (!o->auto_backend || hx_stop || r == -EINVAL)
		return -1;
	hx_sut_stop(&x->sut);
	tl_stack_free(x->st);
	x->st = NULL;
	hx_topo_remove(&x->ns);
	o->backend = o->sut_backend = hx_cli_default_backend(TL_ATTACH_SOCKETS);
	o->topo = hx_topology_default(TL_ATTACH_SOCKETS);
	o->kind[HX_SIDE_ENGINE] = o->kind[HX_SIDE_SUT] = TL_ATTACH_SOCKETS;
	fprintf(stderr, "tcplab run: %s could not start here (see above): falling back to "
		"backend %s, topology %s\n", failed, o->backend, o->topo->name);
	return start_joined(x);
}

/* The name a backend calls itself (a path given to --backend is not one). */
static const char *backend_name(const char *backend)
{
	const struct tl_ops *ops = tl_backend_find(backend);

	return ops != NULL ? ops->name : backend;
}

/*
 * Whether @p backend is the Linux baseline: a built-in sockets backend. Asked of that
 * backend alone: listing them all would load every plug-in, and a Go one (gvisor) panics
 * when it loads after the burst guard's SIGSEGV handler.
 */
static bool is_baseline(const char *backend)
{
	const struct tl_backend *b;
	char err[256];

	return tl_backend_open(backend, &b, err, sizeof(err)) == 0 &&
	       strcmp(b->origin, "built-in") == 0 && b->ops->attach == TL_ATTACH_SOCKETS;
}

static void fill_result(struct run *x, time_t started)
{
	struct hx_result *r = &x->r;
	unsigned int n;

	r->sc = &x->sc;
	r->m = &x->m;
	r->backend = x->st->ops->name;	/* a plug-in given by path is recorded by name */
	r->sut_backend = backend_name(x->o.sut_backend);
	r->topology = x->o.peer != NULL ? "peer" : x->o.topo->name;
	r->reference = is_baseline(r->backend) && strcmp(r->sut_backend, r->backend) == 0 &&
		       x->o.peer == NULL;
	r->stack_version = x->st->ops->version(x->st);
	n = x->st->ops->counters(x->st, x->counters, MAX_COUNTERS);
	r->counters = x->counters;
	r->n_counters = n < MAX_COUNTERS ? n : MAX_COUNTERS;
	r->sut_stats = x->sut.stats[0] != '\0' ? x->sut.stats : NULL;
	r->sut_local = x->o.peer == NULL;
	r->ov = x->o.ov;
	r->n_ov = x->o.n_ov;
	r->stack_opts = x->o.opts;
	r->n_stack_opts = x->o.n_opts;
	r->cpu_given[HX_SIDE_ENGINE] = x->o.engine_cpu >= 0;
	r->cpu_given[HX_SIDE_SUT] = x->o.sut_cpu >= 0;
	if (r->sut_stats == NULL ||
	    hx_json_find_str(r->sut_stats, "affinity", r->cpus[HX_SIDE_SUT],
			     sizeof(r->cpus[HX_SIDE_SUT])) < 0)
		r->cpus[HX_SIDE_SUT][0] = '\0';
	strftime(r->started_at, sizeof(r->started_at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&started));
	hx_result_evaluate(r);
	r->captures = hx_capture_json(&x->cap, r->passed);
	r->netem = hx_netem_json(&x->netem);
}

/* VmRSS of process @p pid (0: this one) in bytes, from /proc; NaN where it cannot be read. */
static double rss_of(pid_t pid)
{
	char path[64], line[256];
	double kib = NAN;
	FILE *f;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (f == NULL)
		return NAN;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

/*
 * The engine's marks: both processes' resident sets before the first connect and with every
 * connection open. The growth between is what the open connections cost each side in user
 * space, whatever the stack (a kernel socket's own memory is the kernel's, not in either).
 */
static void on_mark(void *ctx, enum hx_engine_mark what, unsigned int open)
{
	struct run *x = ctx;
	struct hx_memory *mem = &x->m.memory;
	double sut = x->sut.pid > 0 ? rss_of(x->sut.pid) : NAN;

	if (what == HX_MARK_START) {
		mem->engine_before = rss_of(0);
		mem->sut_before = sut;
		return;
	}
	mem->engine_open = rss_of(0);
	mem->sut_open = sut;
	mem->open = open;
	mem->measured = open > 0 && !isnan(mem->engine_before) && !isnan(mem->engine_open);
}

/* The engine's second: into the interval log. */
static void on_interval(void *ctx, const struct hist *h, double offset_s, double len_s)
{
	struct run *x = ctx;

	if (x->hlog != NULL && hx_hdr_log_interval(x->hlog, h, offset_s, len_s) < 0)
		fprintf(stderr, "tcplab run: the interval log lost a second at %.0fs\n", offset_s);
}

static int drive(struct run *x)
{
	time_t started = time(NULL);
	struct timespec now;
	int r;

	x->cfg.sc = &x->sc;
	x->cfg.st = x->st;
	x->cfg.progress = !x->o.quiet;
	snprintf(x->label, sizeof(x->label), "%s %s", x->sc.name, x->st->ops->name);
	x->cfg.label = x->label;
	x->m.latency = hist_create();
	x->hlog = open_memstream(&x->hlog_buf, &x->hlog_len);
	if (x->m.latency == NULL || x->hlog == NULL)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &now);
	hx_hdr_log_header(x->hlog, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
	x->cfg.interval = on_interval;
	x->cfg.interval_ctx = x;
	x->cfg.mark = on_mark;
	x->cfg.mark_ctx = x;
	hx_pin_cpu(x->o.engine_cpu);
	r = hx_engine_run(&x->cfg, &x->m);
	hx_cpu_list(x->r.cpus[HX_SIDE_ENGINE], sizeof(x->r.cpus[HX_SIDE_ENGINE]));
	if (r < 0) {
		fprintf(stderr, "tcplab run: engine: %s\n", strerror(-r));
		return r;
	}
	if (x->sut.pid > 0 && hx_sut_stats(&x->sut, x->st, STATS_TIMEOUT_MS) < 0)
		fprintf(stderr, "tcplab run: the SUT did not report its stats\n");
	fill_result(x, started);
	fflush(x->hlog);
	r = write_result(&x->r, x->dir, x->o.json, x->o.out, x->hlog_buf, x->hlog_len, x->path,
			 sizeof(x->path));
	if (r < 0)
		return r;
	hx_result_summary(&x->r, x->path, strcmp(x->path, "-") == 0 ? stderr : stdout);
	return 0;
}

/* A scenario's name is its file's stem, also when the user gave a path. */
static void scenario_name(const char *path, char *name, size_t len)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strcspn(base, ".");
	snprintf(name, len, "%.*s", (int)n, base);
}

static int load(struct run *x)
{
	char path[PATH_MAX], err[HX_ERR_MAX], name[HX_NAME_MAX];

	if (hx_scenario_path(x->o.name, path, sizeof(path)) < 0)
		return -ENOENT;
	scenario_name(path, name, sizeof(name));
	if (hx_scenario_load(&x->sc, name, path, x->o.ov, x->o.n_ov, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	return 0;
}

int hx_cmd_run(int argc, char **argv)
{
	struct run *x = calloc(1, sizeof(*x));
	int r, code = HX_EXIT_USAGE;
	bool made_dir = false;

	if (x == NULL)
		return HX_EXIT_USAGE;
	x->o.engine_cpu = x->o.sut_cpu = -1;
	x->sut.pid = -1;
	if (parse_args(&x->o, argc, argv) < 0 || load(x) < 0)
		goto out_free;
	if (x->o.dump_plan) {
		hx_scenario_dump(&x->sc, stdout);
		code = HX_EXIT_PASS;
		goto out_free;
	}
	snprintf(x->run_id, sizeof(x->run_id), "tcplab%d", (int)getpid());
	result_dir(x->dir, sizeof(x->dir), x->o.out);
	x->cap.mode = x->o.pcap;
	made_dir = x->cap.mode != HX_PCAP_NEVER && access(x->dir, F_OK) != 0;
	if (made_dir && make_dirs(x->dir) < 0) {
		fprintf(stderr, "tcplab run: cannot create %s: %s\n", x->dir, strerror(errno));
		goto out_free;
	}
	hx_signals_init();
	r = hx_janitor_start(&x->jan, x->run_id,
			     (const struct tl_ops *const[]){ tl_backend_find(x->o.backend),
							     tl_backend_find(x->o.sut_backend) }, 2);
	if (r < 0)
		fprintf(stderr, "tcplab run: no janitor (%s): a kill of this process would leave "
			"its namespaces until the next run\n", strerror(-r));
	if (start_sides(x) < 0) {
		/* a stop that broke the setup (a terminal's ^C reaches its children too) is
		 * reported as the stop, not as bad input */
		if (hx_stop)
			code = 128 + hx_stop;
		goto err_free_stack;
	}
	r = drive(x);
	if (r == 0)	/* stopped by a signal: 128 + its number, as a shell reports it */
		code = x->m.interrupted ? 128 + hx_stop : x->r.passed ? HX_EXIT_PASS : HX_EXIT_FAIL;
err_free_stack:
	tl_stack_free(x->st);
	hx_sut_stop(&x->sut);
	/* both sides' stacks have closed: their captures are written */
	hx_capture_finish(&x->cap, x->cap.mode == HX_PCAP_ALWAYS || code != HX_EXIT_PASS);
	hx_topo_remove(&x->ns);
	hx_janitor_stop(&x->jan);
	/* made for the captures: a run refused before it ran leaves no directory */
	if (made_dir && (code == HX_EXIT_USAGE || code == 128 + hx_stop))
		rmdir(x->dir);
out_free:
	if (x->hlog != NULL)
		fclose(x->hlog);
	free(x->hlog_buf);
	hist_free(x->m.latency);
	free(x);
	return code;
}
