/* SPDX-License-Identifier: MIT */
/*
 * result.c - metrics by name, checks, the result JSON (schema tcplab.result/1) and the human
 * summary. What a run ran on (commit, host, build, versions, settings, CPUs) is recorded here
 * too: the commit comes from TCPLAB_COMMIT / TCPLAB_DIRTY, which ./tcplab sets from git, else
 * from the one built into the binary (meson's vcs_tag).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "json.h"
#include "lang.h"
#include "result.h"
#include "result_bio_pvt.h"
#include "tcplab_build_commit.h"
#include "tcplab_config.h"

double hx_metric_value(const struct hx_metrics *m, const char *name)
{
	const struct hx_metric *mt = hx_lang_metric_find(name);

	if (mt == NULL)
		return NAN;
	/* no transaction, no latency: a latency check must fail, not pass on a 0 */
	if (mt->unit == HX_UNIT_NS && m->latency->total == 0)
		return NAN;
	return mt->get(m);
}

static void add_check(struct hx_result *r, const char *name, bool ok, double value, double limit,
		      bool ns)
{
	struct hx_check_result *c;

	if (r->n_checks == HX_MAX_RESULT_CHECKS)
		return;
	c = &r->checks[r->n_checks++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->ok = ok;
	c->value = value;
	c->limit = limit;
	c->ns = ns;
	if (!ok)
		r->passed = false;
}

static void builtin_checks(struct hx_result *r)
{
	const struct hx_metrics *m = r->m;
	uint64_t v;

	add_check(r, "data_integrity", m->errors_by[HX_ERR_DATA_MISMATCH] == 0,
		  (double)m->errors_by[HX_ERR_DATA_MISMATCH], 0, false);
	if (r->sut_stats == NULL) {
		/* the SUT died before its stats (tcplab kill found runs that passed so): what it
		 * received is unknown, so its checks cannot pass */
		if (r->sut_local)
			add_check(r, "sut_reported", false, 0, 1, false);
		return;
	}
	if (hx_json_find_uint(r->sut_stats, "mismatches", &v) == 0)
		add_check(r, "sut_data_integrity", v == 0, (double)v, 0, false);
	if (strcmp(r->sc->program, "sink") == 0 &&
	    hx_json_find_uint(r->sut_stats, "bytes_in", &v) == 0)
		add_check(r, "sut_received_all_sent", v == m->total_bytes_sent, (double)v,
			  (double)m->total_bytes_sent, false);
}

void hx_result_evaluate(struct hx_result *r)
{
	unsigned int i;

	r->passed = true;
	r->n_checks = 0;
	for (i = 0; i < r->sc->n_checks; i++) {
		const struct hx_check *c = &r->sc->checks[i];
		const struct hx_metric *mt = hx_lang_metric_find(c->metric);
		double v = hx_metric_value(r->m, c->metric);

		add_check(r, c->text, !isnan(v) && hx_check_passes(c, v), v, c->limit,
			  mt != NULL && mt->unit == HX_UNIT_NS);
	}
	builtin_checks(r);
	if (r->m->interrupted)
		r->passed = false;
}

/* ---- JSON ---- */

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], *colon;

	snprintf(buf, len, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) != 0 || (colon = strchr(line, ':')) == NULL)
			continue;
		colon += 2;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

static void write_host(struct hx_json *j)
{
	char host[256] = "unknown", cpu[256];
	struct utsname u;

	gethostname(host, sizeof(host) - 1);
	cpu_model(cpu, sizeof(cpu));
	hx_json_obj_begin(j, "host");
	hx_json_str(j, "hostname", host);
	hx_json_str(j, "cpu_model", cpu);
	hx_json_int(j, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
	if (uname(&u) == 0) {
		hx_json_str(j, "kernel", u.release);
		hx_json_str(j, "machine", u.machine);
	}
	hx_json_obj_end(j);
}

static void write_versions(struct hx_json *j, const struct hx_result *r)
{
	hx_json_obj_begin(j, "versions");
	hx_json_str(j, "tcplab", TCPLAB_VERSION);
	hx_json_str(j, "stack", r->stack_version);
	hx_json_obj_end(j);
}

/* How the binary was built: results of different builds are different configurations. */
static void write_build(struct hx_json *j)
{
	hx_json_obj_begin(j, "build");
	hx_json_str(j, "commit", TCPLAB_BUILD_COMMIT);
	hx_json_str(j, "type", TCPLAB_BUILD_TYPE);
	hx_json_str(j, "optimization", TCPLAB_BUILD_OPTIMIZATION);
	hx_json_bool(j, "lto", TCPLAB_BUILD_LTO);
	hx_json_str(j, "sanitize", TCPLAB_BUILD_SANITIZE);
	hx_json_obj_end(j);
}

static void write_cpus(struct hx_json *j, const struct hx_result *r)
{
	static const char *const sides[2] = { "engine", "sut" };
	unsigned int s;

	hx_json_obj_begin(j, "cpus");
	for (s = 0; s < 2; s++) {
		if (r->cpus[s][0] == '\0') {
			hx_json_null(j, sides[s]);
			continue;
		}
		hx_json_obj_begin(j, sides[s]);
		hx_json_str(j, "affinity", r->cpus[s]);
		hx_json_bool(j, "given", r->cpu_given[s]);
		hx_json_obj_end(j);
	}
	hx_json_obj_end(j);
}

static void write_params(struct hx_json *j, const struct hx_result *r)
{
	const struct hx_scenario *sc = r->sc;
	unsigned int i;

	hx_json_obj_begin(j, "params");
	hx_json_str(j, "program", sc->program);
	hx_json_uint(j, "conns", sc->conns);
	hx_json_double(j, "duration_s", (double)sc->duration_ns / 1e9);
	hx_json_double(j, "warmup_s", (double)sc->warmup_ns / 1e9);
	hx_json_str(j, "pacing", sc->pacing == HX_PACING_OPEN ? "open" : "closed");
	if (sc->pacing == HX_PACING_OPEN)
		hx_json_double(j, "rate", sc->rate);
	else
		hx_json_null(j, "rate");
	hx_json_bool(j, "nodelay", sc->nodelay);
	if (sc->impair[0] != '\0')
		hx_json_str(j, "impair", sc->impair);
	else
		hx_json_null(j, "impair");
	hx_json_obj_begin(j, "vars");
	for (i = 0; i < sc->n_params; i++)
		hx_json_str(j, sc->params[i].name, sc->params[i].value);
	hx_json_obj_end(j);
	hx_json_obj_begin(j, "overrides");
	for (i = 0; i < r->n_ov; i++)
		hx_json_str(j, r->ov[i].key, r->ov[i].value);
	hx_json_obj_end(j);
	hx_json_arr_begin(j, "stack_opts");
	for (i = 0; i < r->n_stack_opts; i++)
		hx_json_str(j, NULL, r->stack_opts[i]);
	hx_json_arr_end(j);
	write_cpus(j, r);
	hx_json_obj_end(j);
}

/* The metrics of group @p g, from the metric table, in its order. */
static void write_group(struct hx_json *j, const struct hx_metrics *m, enum hx_metric_group g)
{
	const struct hx_metric *mt;

	for (mt = hx_lang_metrics(); mt->name != NULL; mt++) {
		if (mt->group != g)
			continue;
		if (mt->integer)
			hx_json_int(j, mt->name, (int64_t)mt->get(m));
		else
			hx_json_double(j, mt->name, mt->get(m));
	}
}

static void write_buckets(struct hx_json *j, const struct hist *h)
{
	unsigned int idx = 0;
	uint64_t count;
	int64_t hi;

	hx_json_arr_begin(j, "buckets");
	while (hist_next_bucket(h, &idx, &hi, &count) == 0) {
		bool pretty = j->pretty;

		j->pretty = false;	/* one [value, count] pair per line */
		hx_json_arr_begin(j, NULL);
		hx_json_int(j, NULL, hi);
		hx_json_uint(j, NULL, count);
		hx_json_arr_end(j);
		j->pretty = pretty;
	}
	hx_json_arr_end(j);
}

static void write_metrics(struct hx_json *j, const struct hx_result *r)
{
	static const char *const wait_names[] = {
		[HX_WAIT_POLL] = "poll", [HX_WAIT_SET] = "wait_set", [HX_WAIT_BLOCKING] = "blocking",
	};
	const struct hx_metrics *m = r->m;
	unsigned int i;

	hx_json_obj_begin(j, "metrics");
	write_group(j, m, HX_METRIC_RUN);
	hx_json_obj_begin(j, "errors_by_reason");
	for (i = 0; i < HX_ERR__COUNT; i++)
		if (m->errors_by[i] != 0)
			hx_json_uint(j, hx_error_name(i), m->errors_by[i]);
	hx_json_obj_end(j);
	hx_json_obj_begin(j, "latency_ns");
	write_group(j, m, HX_METRIC_LATENCY);
	write_buckets(j, m->latency);
	hx_json_obj_end(j);
	if (m->bio.used) {
		hx_json_obj_begin(j, "bio");
		write_group(j, m, HX_METRIC_BIO);
		hx_json_bool(j, "put_time_includes_ack", m->bio.put_acked);
		hx_json_obj_end(j);
	}
	if (m->memory.measured) {
		hx_json_obj_begin(j, "memory");
		write_group(j, m, HX_METRIC_MEMORY);
		hx_json_obj_end(j);
	}
	hx_json_obj_begin(j, "loop");
	hx_json_str(j, "wait", wait_names[m->loop.wait]);
	write_group(j, m, HX_METRIC_LOOP);
	hx_json_obj_end(j);
	hx_json_obj_end(j);
}

static void write_checks(struct hx_json *j, const struct hx_result *r)
{
	unsigned int i;

	hx_json_arr_begin(j, "checks");
	for (i = 0; i < r->n_checks; i++) {
		hx_json_obj_begin(j, NULL);
		hx_json_str(j, "name", r->checks[i].name);
		hx_json_bool(j, "ok", r->checks[i].ok);
		hx_json_double(j, "value", r->checks[i].value);
		hx_json_double(j, "limit", r->checks[i].limit);
		hx_json_obj_end(j);
	}
	hx_json_arr_end(j);
}

/*
 * The commit: ./tcplab's (TCPLAB_COMMIT, TCPLAB_DIRTY: the tree as it is now), else the one
 * built into the binary (ci/vcs-commit.sh: HASH, or HASH-dirty).
 */
static void write_commit(struct hx_json *j)
{
	const char *commit = getenv("TCPLAB_COMMIT"), *dirty = getenv("TCPLAB_DIRTY");
	const char *built = TCPLAB_BUILD_COMMIT, *mark = strstr(built, "-dirty");
	char hash[64];

	if (commit != NULL && *commit) {
		hx_json_str(j, "commit", commit);
		hx_json_bool(j, "dirty", dirty != NULL && strcmp(dirty, "1") == 0);
		return;
	}
	snprintf(hash, sizeof(hash), "%.*s", mark != NULL ? (int)(mark - built)
		 : (int)strlen(built), built);
	hx_json_str(j, "commit", hash[0] ? hash : "unknown");
	hx_json_bool(j, "dirty", mark != NULL);
}

void hx_result_write(const struct hx_result *r, FILE *f)
{
	struct hx_json j;
	unsigned int i;

	hx_json_init(&j, f, true);
	hx_json_obj_begin(&j, NULL);
	hx_json_str(&j, "schema", HX_SCHEMA);
	hx_json_str(&j, "scenario", r->sc->name);
	hx_json_str(&j, "description", r->sc->description);
	hx_json_str(&j, "backend", r->backend);
	hx_json_str(&j, "sut_backend", r->sut_backend);
	hx_json_str(&j, "topology", r->topology);
	hx_json_bool(&j, "reference", r->reference);
	write_commit(&j);
	hx_json_str(&j, "started_at", r->started_at);
	write_host(&j);
	write_build(&j);
	write_versions(&j, r);
	write_params(&j, r);
	write_metrics(&j, r);
	hx_json_obj_begin(&j, "stack_counters");
	for (i = 0; i < r->n_counters; i++)
		hx_json_uint(&j, r->counters[i].name, r->counters[i].value);
	hx_json_obj_end(&j);
	if (r->sut_stats != NULL)
		hx_json_raw(&j, "sut", r->sut_stats);
	else
		hx_json_null(&j, "sut");
	if (r->captures != NULL)
		hx_json_raw(&j, "captures", r->captures);
	if (r->netem != NULL)
		hx_json_raw(&j, "netem", r->netem);
	hx_json_bool(&j, "interrupted", r->m->interrupted);
	write_checks(&j, r);
	hx_json_bool(&j, "passed", r->passed);
	hx_json_obj_end(&j);
}

/* ---- summary ---- */

void hx_format_ns(double ns, char *buf, size_t len)
{
	if (isnan(ns))		/* a latency with no transaction measured */
		snprintf(buf, len, "n/a");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

static void format_value(const struct hx_check_result *c, char *buf, size_t len)
{
	if (c->ns)
		hx_format_ns(c->value, buf, len);
	else
		snprintf(buf, len, "%.6g", c->value);
}

/* Per open connection, in the unit that fits: "n/a" for a side not measured. */
static void format_bytes(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else if (fabs(v) < 10 * 1024)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f KiB", v / 1024);
}

static void memory_summary(const struct hx_metrics *m, FILE *f)
{
	char e[32], s[32];

	if (!m->memory.measured)
		return;
	format_bytes(hx_metric_value(m, "engine_bytes_per_conn"), e, sizeof(e));
	format_bytes(hx_metric_value(m, "sut_bytes_per_conn"), s, sizeof(s));
	fprintf(f, "  memory per connection (resident set growth to %u open): engine %s, "
		"SUT %s\n", m->memory.open, e, s);
}

/* How the engine waited, and what a pass cost where it had passes to count. */
static void loop_summary(const struct hx_metrics *m, FILE *f)
{
	if (m->loop.wait == HX_WAIT_BLOCKING) {
		fprintf(f, "  loop: inside its calls (one connection)\n");
		return;
	}
	fprintf(f, "  loop: %s, %llu passes, %.1f sockets handed and %.1f ready a pass\n",
		m->loop.wait == HX_WAIT_SET ? "the stack's wait set" : "poll",
		(unsigned long long)m->loop.passes, hx_metric_value(m, "handed_per_pass"),
		hx_metric_value(m, "ready_per_pass"));
}

void hx_result_summary(const struct hx_result *r, const char *json_path, FILE *f)
{
	static const char *const lat[] = { "p50", "p90", "p99", "p99_9", "max" };
	const struct hx_metrics *m = r->m;
	char v[32];
	unsigned int i;

	fprintf(f, "%s on %s/%s%s%s%s: %s%s\n", r->sc->name, r->backend, r->topology,
		strcmp(r->sut_backend, r->backend) ? " (SUT on " : "",
		strcmp(r->sut_backend, r->backend) ? r->sut_backend : "",
		strcmp(r->sut_backend, r->backend) ? ")" : "",
		r->passed ? "PASS" : "FAIL", m->interrupted ? " (interrupted)" : "");
	fprintf(f, "  transactions %llu  tps %.1f  throughput %.3f Gbit/s  connections/s %.1f  "
		"errors %llu\n", (unsigned long long)m->transactions, hx_metric_value(m, "tps"),
		hx_metric_value(m, "throughput_bps") / 1e9,
		hx_metric_value(m, "connections_per_s"), (unsigned long long)m->errors);
	fprintf(f, "  latency");
	for (i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		hx_format_ns(hx_metric_value(m, lat[i]), v, sizeof(v));
		fprintf(f, "  %s %s", lat[i], v);
	}
	fputc('\n', f);
	/* an open loop the system cannot keep up with measures its queue, not its latency */
	if (r->sc->pacing == HX_PACING_OPEN && !m->interrupted &&
	    hx_metric_value(m, "tps") < 0.95 * r->sc->rate)
		fprintf(f, "  open loop behind schedule: %.0f/s asked, %.1f/s done; the latency "
			"includes the backlog\n", r->sc->rate, hx_metric_value(m, "tps"));
	if (m->bio.used)
		hx_bio_metrics_summary(&m->bio, f);
	memory_summary(m, f);
	loop_summary(m, f);
	for (i = 0; i < HX_ERR__COUNT; i++)
		if (m->errors_by[i] != 0)
			fprintf(f, "  errors: %s %llu\n", hx_error_name(i),
				(unsigned long long)m->errors_by[i]);
	for (i = 0; i < r->n_checks; i++) {
		const struct hx_check_result *c = &r->checks[i];

		format_value(c, v, sizeof(v));
		fprintf(f, "  check %-28s %s (value %s)\n", c->name, c->ok ? "ok" : "FAILED", v);
	}
	if (json_path != NULL)
		fprintf(f, "  result: %s\n", json_path);
}
