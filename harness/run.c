/* SPDX-License-Identifier: MIT */
/*
 * run.c - `tcplab run NAME`: the whole path of one run.
 *
 *   parse flags -> load scenarios/NAME.scn with overrides (bad input: message, exit 2)
 *   -> start the SUT (`tcplab serve PROGRAM`, ready line) unless --peer names one
 *   -> create the engine's stack -> hx_engine_run -> SUT stats -> checks
 *   -> DIR/NAME.json + summary -> exit 0 pass / 1 a check failed / 2 usage or setup error
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "result.h"
#include "scenario_dir.h"
#include "sut.h"
#include "topology.h"

#define MAX_OVERRIDES 48
#define READY_TIMEOUT_MS 30000
#define STATS_TIMEOUT_MS 10000
#define MAX_COUNTERS 64

struct run_opts {
	const char *name;
	const char *backend;
	const char *topology;
	const char *sut_backend;	/* the SUT's, when it differs (--topology tap) */
	const char *out;
	const char *peer;
	const char *opts[HX_CLI_MAX_OPTS];	/* --stack-opt, and topology=NAME */
	char topology_opt[HX_NAME_MAX];
	unsigned int n_opts;
	struct hx_override ov[MAX_OVERRIDES];
	unsigned int n_ov;
	char ov_text[MAX_OVERRIDES][HX_NAME_MAX * 2];
	int engine_cpu;
	int sut_cpu;
	bool quiet;
	bool dump_plan;
	bool auto_backend;	/* lwip chosen by default: fall back to the kernel if need be */
};

static const struct option long_opts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "topology", required_argument, NULL, 't' },
	{ "sut-backend", required_argument, NULL, 'B' },
	{ "duration", required_argument, NULL, 'd' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "rate", required_argument, NULL, 'R' },
	{ "conns", required_argument, NULL, 'n' },
	{ "set", required_argument, NULL, 's' },
	{ "out", required_argument, NULL, 'o' },
	{ "peer", required_argument, NULL, 'p' },
	{ "stack-opt", required_argument, NULL, 'O' },
	{ "engine-cpu", required_argument, NULL, 'E' },
	{ "sut-cpu", required_argument, NULL, 'S' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "dump-plan", no_argument, NULL, 'D' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: tcplab run NAME [flags]\n"
		"  --backend NAME      transport backend (default: lwip over memif where it is built\n"
		"                      and DPDK starts, else kernel; see tcplab list)\n"
		"  --topology NAME     how engine and SUT are joined (default: the backend's)\n"
		"  --sut-backend NAME  with --topology tap or veth: the SUT's backend (tap: the\n"
		"                      other side of the tap; veth: the engine's)\n"
		"  --duration TIME     measured time (e.g. 10s)      same as --set duration=TIME\n"
		"  --warmup TIME       unmeasured time before it     same as --set warmup=TIME\n"
		"  --rate R            open loop at R transactions/s same as --set rate=R\n"
		"  --conns N           concurrent connections        same as --set conns=N\n"
		"  --set KEY=VALUE     override a directive or param of the scenario\n"
		"  --out DIR           write DIR/NAME.json (default results/out/<time>/)\n"
		"  --peer ADDR:PORT    drive a SUT started elsewhere (tcplab serve) instead\n"
		"  --stack-opt K=V     backend setting, passed to both sides\n"
		"  --engine-cpu N, --sut-cpu N   pin the two sides\n"
		"  --quiet             no progress line\n"
		"  --dump-plan         print the compiled client script and exit\n");
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

static int parse_flag(struct run_opts *o, int c)
{
	switch (c) {
	case 'b': o->backend = optarg; return 0;
	case 't': o->topology = optarg; return 0;
	case 'B': o->sut_backend = optarg; return 0;
	case 'd': return add_override(o, "duration", optarg);
	case 'w': return add_override(o, "warmup", optarg);
	case 'R': return add_override(o, "rate", optarg);
	case 'n': return add_override(o, "conns", optarg);
	case 's': return add_set(o, optarg);
	case 'o': o->out = optarg; return 0;
	case 'p': o->peer = optarg; return 0;
	case 'O': return hx_cli_add_opt(o->opts, &o->n_opts, optarg, "--stack-opt");
	case 'E': return hx_cli_int(optarg, "--engine-cpu", 0, 4095, &o->engine_cpu);
	case 'S': return hx_cli_int(optarg, "--sut-cpu", 0, 4095, &o->sut_cpu);
	case 'q': o->quiet = true; return 0;
	case 'D': o->dump_plan = true; return 0;
	default: return -EINVAL;
	}
}

static void print_topologies(const struct tl_ops *ops, const char *sep)
{
	static const char *const all[] = { "loopback", "memif", "tap", "veth", "pci", NULL };
	const char *const *t;

	for (t = all; *t != NULL; t++)
		if (tl_backend_has_topology(ops, *t)) {
			fprintf(stderr, "%s%s", sep, *t);
			sep = ", ";
		}
}

/*
 * No --backend: the stack under test, lwIP on DPDK over memif, when it is built in; with
 * --topology, the first backend that has it; with --peer, the kernel. Only the first case
 * may fall back (start_sides): the user asked for nothing in particular.
 */
static int pick_backend(struct run_opts *o)
{
	const struct tl_backend *const *b;

	if (o->topology == NULL) {
		o->auto_backend = tl_backend_find("lwip") != NULL && o->peer == NULL;
		o->backend = o->auto_backend ? "lwip" : "kernel";
		return 0;
	}
	for (b = tl_backends(); *b != NULL; b++) {
		if (tl_backend_has_topology((*b)->ops, o->topology)) {
			o->backend = (*b)->ops->name;
			return 0;
		}
	}
	fprintf(stderr, "tcplab run: unknown topology '%s' (valid:", o->topology);
	for (b = tl_backends(); *b != NULL; b++)
		print_topologies((*b)->ops, b == tl_backends() ? " " : ", ");
	fprintf(stderr, ")\n");
	return -EINVAL;
}

/* The topology: the backend's default, or the one asked for if the backend has it. */
static int check_topology(struct run_opts *o)
{
	const struct tl_ops *ops = tl_backend_find(o->backend);

	if (o->topology == NULL)
		o->topology = ops->attach == TL_ATTACH_DPDK ? "memif" : "loopback";
	if (tl_backend_has_topology(ops, o->topology))
		return 0;
	fprintf(stderr, "tcplab run: unknown topology '%s' for backend %s (valid:", o->topology,
		o->backend);
	print_topologies(ops, " ");
	fprintf(stderr, ")\n");
	return -EINVAL;
}

/*
 * A kernel side facing an lwip side on this host gets the CPU the lwip side leaves: each
 * side takes what lwip's cpu=auto gives its role (tl_auto_cpu). Left to the scheduler it
 * lands on the spinning lwip core now and then and waits out time slices: a tap run's open
 * loop fell hundreds of ms behind in half its runs. --engine-cpu and --sut-cpu override;
 * with one CPU there is nothing to choose (-1: left unpinned).
 */
static void pin_kernel_side(struct run_opts *o)
{
	bool engine_kernel = strcmp(o->backend, "kernel") == 0;
	bool sut_kernel = strcmp(o->sut_backend, "kernel") == 0;

	if (engine_kernel == sut_kernel)
		return;
	if (engine_kernel && o->engine_cpu < 0)
		o->engine_cpu = tl_auto_cpu(TL_ROLE_CLIENT);
	if (sut_kernel && o->sut_cpu < 0)
		o->sut_cpu = tl_auto_cpu(TL_ROLE_SERVER);
}

/*
 * --topology tap: one side on a DPDK tap port (lwip), the other the Linux stack at the tap's
 * kernel end, both in a namespace the run makes (start_tap). --backend names the engine's
 * side; the SUT's is the other one unless --sut-backend says.
 */
static int tap_sides(struct run_opts *o)
{
	if (o->backend == NULL)
		o->backend = o->sut_backend != NULL && strcmp(o->sut_backend, "kernel") != 0
			? "kernel" : "lwip";
	if (o->sut_backend == NULL)
		o->sut_backend = strcmp(o->backend, "kernel") == 0 ? "lwip" : "kernel";
	if (hx_cli_check_backend(o->backend, "tcplab run") < 0 ||
	    hx_cli_check_backend(o->sut_backend, "tcplab run") < 0)
		return -EINVAL;
	if (o->peer != NULL || (strcmp(o->backend, "kernel") == 0) ==
	    (strcmp(o->sut_backend, "kernel") == 0)) {
		fprintf(stderr, "tcplab run: --topology tap joins one tap backend and the kernel "
			"(e.g. --backend lwip, or --backend kernel --sut-backend lwip), no --peer\n");
		return -EINVAL;
	}
	if (!tl_backend_has_topology(tl_backend_find(strcmp(o->backend, "kernel") ? o->backend
						     : o->sut_backend), "tap")) {
		fprintf(stderr, "tcplab run: no tap topology in backend %s\n",
			strcmp(o->backend, "kernel") ? o->backend : o->sut_backend);
		return -EINVAL;
	}
	pin_kernel_side(o);
	return hx_cli_add_opt(o->opts, &o->n_opts, "topology=tap", "--stack-opt");
}

/*
 * --topology veth: the two-host simulation. Each side may be either backend (lwip takes its
 * veth end with af_packet); --backend names the engine's, --sut-backend the SUT's (default:
 * the same). With neither, both are lwip where it is built.
 */
static int veth_sides(struct run_opts *o)
{
	unsigned int i;

	if (o->backend == NULL)
		o->backend = tl_backend_find("lwip") != NULL ? "lwip" : "kernel";
	if (o->sut_backend == NULL)
		o->sut_backend = o->backend;
	if (o->peer != NULL) {
		fprintf(stderr, "tcplab run: --topology veth runs both sides here: no --peer\n");
		return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		const char *b = i ? o->sut_backend : o->backend;

		if (hx_cli_check_backend(b, "tcplab run") < 0)
			return -EINVAL;
		if (strcmp(b, "kernel") != 0 && !tl_backend_has_topology(tl_backend_find(b),
									  "veth")) {
			fprintf(stderr, "tcplab run: no veth topology in backend %s\n", b);
			return -EINVAL;
		}
	}
	pin_kernel_side(o);
	return hx_cli_add_opt(o->opts, &o->n_opts, "topology=veth", "--stack-opt");
}

static int parse_args(struct run_opts *o, int argc, char **argv)
{
	int c;

	while ((c = hx_cli_getopt(argc, argv, long_opts, "run")) != -1) {
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
	if (o->topology != NULL && strcmp(o->topology, "tap") == 0)
		return tap_sides(o);
	if (o->topology != NULL && strcmp(o->topology, "veth") == 0)
		return veth_sides(o);
	if (o->sut_backend != NULL) {
		fprintf(stderr, "tcplab run: --sut-backend is for --topology tap or veth (a side "
			"each)\n");
		return -EINVAL;
	}
	if (o->backend == NULL && pick_backend(o) < 0)
		return -EINVAL;
	if (hx_cli_check_backend(o->backend, "tcplab run") < 0 || check_topology(o) < 0)
		return -EINVAL;
	if (strcmp(o->backend, "kernel") == 0)
		return 0;
	/* other backends learn the topology as a stack setting, on both sides */
	snprintf(o->topology_opt, sizeof(o->topology_opt), "topology=%s", o->topology);
	return hx_cli_add_opt(o->opts, &o->n_opts, o->topology_opt, "--stack-opt");
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

static int write_result(const struct hx_result *r, const char *out, char *path, size_t len)
{
	char dir[PATH_MAX - 128], stamp[32];
	time_t now = time(NULL);
	FILE *f;

	if (out != NULL) {
		snprintf(dir, sizeof(dir), "%s", out);
	} else {
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
		snprintf(dir, sizeof(dir), "%s/results/out/%s", hx_source_root(), stamp);
	}
	if (make_dirs(dir) < 0) {
		fprintf(stderr, "tcplab run: cannot create %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	snprintf(path, len, "%s/%s.json", dir, r->sc->name);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "tcplab run: cannot write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	hx_result_write(r, f);
	if (fclose(f) != 0) {
		fprintf(stderr, "tcplab run: writing %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
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
	char run_id[64];
	char label[128];
	char path[PATH_MAX];
	char sut_listen[64];		/* tap/veth, a Linux SUT: where it listens */
	struct hx_topo topo;
};

static int start_sut(struct run *x)
{
	struct hx_sut_params p = {
		.program = x->sc.program, .run_id = x->run_id,
		.backend = x->o.sut_backend != NULL ? x->o.sut_backend : x->o.backend,
		.opts = x->o.opts, .n_opts = x->o.n_opts, .cpu = x->o.sut_cpu,
		.ready_timeout_ms = READY_TIMEOUT_MS, .listen = x->sut_listen[0] ? x->sut_listen : NULL,
		.netns = x->topo.sut_ns_path[0] ? x->topo.sut_ns_path : NULL,
	};
	char err[256];
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
	struct tl_stack_params p = { .role = TL_ROLE_CLIENT, .run_id = x->run_id,
				     .opts = x->o.opts, .n_opts = x->o.n_opts,
				     .cpu = tl_auto_cpu(TL_ROLE_CLIENT) };
	char err[512];

	x->st = tl_stack_create(x->o.backend, &p, err, sizeof(err));
	if (x->st == NULL) {
		fprintf(stderr, "tcplab run: backend %s: %s\n", x->o.backend, err);
		return -errno;
	}
	return 0;
}

static int start_both(struct run *x)
{
	if (start_sut(x) < 0)
		return -1;
	return start_engine_stack(x);
}

/* The kernel end of the tap: tap_addr without its prefix length. */
static void tap_kernel_addr(const struct run_opts *o, char *buf, size_t len)
{
	const struct tl_stack_params p = { .opts = o->opts, .n_opts = o->n_opts };
	const char *a = tl_params_get(&p, "tap_addr", "10.99.0.1/24");

	snprintf(buf, len, "%.*s", (int)strcspn(a, "/"), a);
}

/*
 * A tap run: into a namespace of its own first; then the tap side, so the tap exists, then
 * the other. A Linux SUT listens on the tap's kernel end; a Linux engine reaches the lwIP
 * SUT at the address its ready line gives.
 */
static int start_tap(struct run *x)
{
	char err[256], host[48];

	if (hx_topo_tap(&x->topo, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab run: --topology tap: %s\n", err);
		return -1;
	}
	if (strcmp(x->o.backend, "kernel") == 0)
		return start_both(x);
	if (start_engine_stack(x) < 0)
		return -1;
	tap_kernel_addr(&x->o, host, sizeof(host));
	snprintf(x->sut_listen, sizeof(x->sut_listen), "%s:0", host);
	return start_sut(x);
}

/* A veth run: two namespaces, the SUT's child in its own; a Linux SUT on its veth end. */
static int start_veth(struct run *x)
{
	bool engine_kernel = strcmp(x->o.backend, "kernel") == 0;
	bool sut_kernel = strcmp(x->o.sut_backend, "kernel") == 0;
	char err[256];

	if (hx_topo_veth(&x->topo, engine_kernel, sut_kernel, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab run: --topology veth: %s\n", err);
		return -1;
	}
	if (sut_kernel)
		snprintf(x->sut_listen, sizeof(x->sut_listen), "%s:0", HX_VETH_SUT_ADDR);
	return start_both(x);
}

/* Start the SUT and the engine's stack; a default lwip that cannot start falls back. */
static int start_sides(struct run *x)
{
	struct run_opts *o = &x->o;

	if (o->sut_backend != NULL)
		return strcmp(o->topology, "veth") == 0 ? start_veth(x) : start_tap(x);

	if (o->auto_backend) {
		/* a malformed --stack-opt is the user's to fix, not a reason to fall back */
		const struct tl_stack_params p = { .role = TL_ROLE_SERVER, .run_id = x->run_id,
						   .opts = o->opts, .n_opts = o->n_opts };
		char err[512];

		if (tl_stack_check(o->backend, &p, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcplab run: backend %s: %s\n", o->backend, err);
			return -1;
		}
		fprintf(stderr, "tcplab run: backend lwip, topology %s (the default: the stack "
			"under test; --backend kernel for the Linux baseline)\n", o->topology);
	}
	if (start_both(x) == 0)
		return 0;
	if (!o->auto_backend || hx_stop)
		return -1;
	hx_sut_stop(&x->sut);
	o->backend = "kernel";
	o->topology = "loopback";
	o->n_opts--;	/* the topology=... setting parse_args added last */
	fprintf(stderr, "tcplab run: lwip could not start here (see above): falling back to "
		"backend kernel, topology loopback\n");
	return start_both(x);
}

static void fill_result(struct run *x, time_t started)
{
	struct hx_result *r = &x->r;
	unsigned int n;

	r->sc = &x->sc;
	r->m = &x->m;
	r->backend = x->o.backend;
	r->sut_backend = x->o.sut_backend != NULL ? x->o.sut_backend : x->o.backend;
	r->topology = x->o.peer != NULL ? "peer" : x->o.topology;
	r->stack_version = x->st->ops->version(x->st);
	n = x->st->ops->counters(x->st, x->counters, MAX_COUNTERS);
	r->counters = x->counters;
	r->n_counters = n < MAX_COUNTERS ? n : MAX_COUNTERS;
	r->sut_stats = x->sut.stats[0] != '\0' ? x->sut.stats : NULL;
	r->ov = x->o.ov;
	r->n_ov = x->o.n_ov;
	strftime(r->started_at, sizeof(r->started_at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&started));
	hx_result_evaluate(r);
}

static int drive(struct run *x)
{
	time_t started = time(NULL);
	int r;

	x->cfg.sc = &x->sc;
	x->cfg.st = x->st;
	x->cfg.progress = !x->o.quiet;
	snprintf(x->label, sizeof(x->label), "%s %s", x->sc.name, x->o.backend);
	x->cfg.label = x->label;
	x->m.latency = hist_create();
	if (x->m.latency == NULL)
		return -ENOMEM;
	hx_pin_cpu(x->o.engine_cpu);
	r = hx_engine_run(&x->cfg, &x->m);
	if (r < 0) {
		fprintf(stderr, "tcplab run: engine: %s\n", strerror(-r));
		return r;
	}
	if (x->sut.pid > 0 && hx_sut_stats(&x->sut, x->st, STATS_TIMEOUT_MS) < 0)
		fprintf(stderr, "tcplab run: the SUT did not report its stats\n");
	fill_result(x, started);
	r = write_result(&x->r, x->o.out, x->path, sizeof(x->path));
	if (r < 0)
		return r;
	hx_result_summary(&x->r, x->path, stdout);
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
	hx_signals_init();
	if (start_sides(x) < 0)
		goto err_stop_sut;
	r = drive(x);
	if (r == 0)
		code = x->r.passed ? HX_EXIT_PASS : HX_EXIT_FAIL;
	tl_stack_free(x->st);
err_stop_sut:
	hx_sut_stop(&x->sut);
	hx_topo_remove(&x->topo);
out_free:
	hist_free(x->m.latency);
	free(x);
	return code;
}
