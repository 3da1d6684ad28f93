/* SPDX-License-Identifier: MIT */
/*
 * result_metrics.c - the metric table of the scenario language (lang.h): every metric of the
 * result JSON (results/README.md documents the fields), with its unit, where it sits and how
 * it is read from a run's struct hx_metrics. Checks name these; result.c writes them.
 */
#include <math.h>

#include "engine.h"
#include "hist.h"
#include "lang.h"

/* A rate over an empty window is no number, not a 0 or an infinity. */
static double window(const struct hx_metrics *m)
{
	return m->window_s > 0 ? m->window_s : NAN;
}

static double get_window_s(const struct hx_metrics *m)
{
	return m->window_s;
}

static double get_transactions(const struct hx_metrics *m)
{
	return (double)m->transactions;
}

static double get_tps(const struct hx_metrics *m)
{
	return (double)m->transactions / window(m);
}

static double get_throughput_bps(const struct hx_metrics *m)
{
	return (double)(m->bytes_sent + m->bytes_received) * 8.0 / window(m);
}

static double get_bytes_sent(const struct hx_metrics *m)
{
	return (double)m->bytes_sent;
}

static double get_bytes_received(const struct hx_metrics *m)
{
	return (double)m->bytes_received;
}

static double get_connections(const struct hx_metrics *m)
{
	return (double)m->connections;
}

static double get_connections_per_s(const struct hx_metrics *m)
{
	return (double)m->connections / window(m);
}

static double get_errors(const struct hx_metrics *m)
{
	return (double)m->errors;
}

static double get_count(const struct hx_metrics *m)
{
	return (double)m->latency->total;
}

static double get_min(const struct hx_metrics *m)
{
	return m->latency->total ? (double)m->latency->min : 0.0;
}

static double get_mean(const struct hx_metrics *m)
{
	return hist_mean(m->latency);
}

static double get_p50(const struct hx_metrics *m)
{
	return (double)hist_percentile(m->latency, 50);
}

static double get_p90(const struct hx_metrics *m)
{
	return (double)hist_percentile(m->latency, 90);
}

static double get_p99(const struct hx_metrics *m)
{
	return (double)hist_percentile(m->latency, 99);
}

static double get_p99_9(const struct hx_metrics *m)
{
	return (double)hist_percentile(m->latency, 99.9);
}

static double get_p99_99(const struct hx_metrics *m)
{
	return (double)hist_percentile(m->latency, 99.99);
}

static double get_max(const struct hx_metrics *m)
{
	return (double)m->latency->max;
}

static double get_requests(const struct hx_metrics *m)
{
	return (double)m->bio.requests;
}

static double get_extra_requests(const struct hx_metrics *m)
{
	return (double)m->bio.extra_requests;
}

static double get_reads(const struct hx_metrics *m)
{
	return (double)m->bio.reads;
}

static double get_hits(const struct hx_metrics *m)
{
	return (double)m->bio.hits;
}

static double get_misses(const struct hx_metrics *m)
{
	return (double)m->bio.misses;
}

static double get_hit_ratio(const struct hx_metrics *m)
{
	return m->bio.reads ? (double)m->bio.hits / (double)m->bio.reads : NAN;
}

static double get_seeks_in_buffer(const struct hx_metrics *m)
{
	return (double)m->bio.seeks_in_buffer;
}

static double get_seeks_dropped(const struct hx_metrics *m)
{
	return (double)m->bio.seeks_dropped;
}

static double get_bytes_copied(const struct hx_metrics *m)
{
	return (double)m->bio.bytes_copied;
}

static double get_bypass_reads(const struct hx_metrics *m)
{
	return (double)m->bio.bypass_reads;
}

static double get_connects(const struct hx_metrics *m)
{
	return (double)m->bio.connects;
}

static double get_puts_acked(const struct hx_metrics *m)
{
	return (double)m->bio.puts;
}

static double get_acked_bytes(const struct hx_metrics *m)
{
	return (double)m->bio.acked_bytes;
}

/* Memory: NaN where it was not measured, so a check on it fails rather than passes. */
static double memory(const struct hx_metrics *m, double v)
{
	return m->memory.measured ? v : NAN;
}

static double get_open_conns(const struct hx_metrics *m)
{
	return memory(m, m->memory.open);
}

static double get_engine_rss_before(const struct hx_metrics *m)
{
	return memory(m, m->memory.engine_before);
}

static double get_engine_rss_open(const struct hx_metrics *m)
{
	return memory(m, m->memory.engine_open);
}

static double get_engine_bytes_per_conn(const struct hx_metrics *m)
{
	const struct hx_memory *x = &m->memory;

	return memory(m, (x->engine_open - x->engine_before) / x->open);
}

static double get_sut_rss_before(const struct hx_metrics *m)
{
	return memory(m, m->memory.sut_before);
}

static double get_sut_rss_open(const struct hx_metrics *m)
{
	return memory(m, m->memory.sut_open);
}

static double get_sut_bytes_per_conn(const struct hx_metrics *m)
{
	const struct hx_memory *x = &m->memory;

	return memory(m, (x->sut_open - x->sut_before) / x->open);
}

static double get_passes(const struct hx_metrics *m)
{
	return (double)m->loop.passes;
}

/* Per pass: NaN for a window with none. */
static double per_pass(const struct hx_metrics *m, uint64_t n)
{
	return m->loop.passes > 0 ? (double)n / (double)m->loop.passes : NAN;
}

static double get_handed_per_pass(const struct hx_metrics *m)
{
	return per_pass(m, m->loop.handed);
}

static double get_ready_per_pass(const struct hx_metrics *m)
{
	return per_pass(m, m->loop.ready);
}

static const struct hx_metric metrics[] = {
	/* metrics */
	{ "window_s", HX_UNIT_S, HX_METRIC_RUN, false, get_window_s,
	  "length of the measured window" },
	{ "transactions", HX_UNIT_COUNT, HX_METRIC_RUN, true, get_transactions,
	  "measure sections completed in the window" },
	{ "tps", HX_UNIT_PER_S, HX_METRIC_RUN, false, get_tps,
	  "transactions per second of the window" },
	{ "throughput_bps", HX_UNIT_BIT_PER_S, HX_METRIC_RUN, false, get_throughput_bps,
	  "payload bits per second in the window, both directions" },
	{ "bytes_sent", HX_UNIT_BYTES, HX_METRIC_RUN, true, get_bytes_sent,
	  "payload bytes sent in the window" },
	{ "bytes_received", HX_UNIT_BYTES, HX_METRIC_RUN, true, get_bytes_received,
	  "payload bytes received in the window" },
	{ "connections", HX_UNIT_COUNT, HX_METRIC_RUN, true, get_connections,
	  "connects completed in the window" },
	{ "connections_per_s", HX_UNIT_PER_S, HX_METRIC_RUN, false, get_connections_per_s,
	  "connects completed per second of the window" },
	{ "errors", HX_UNIT_COUNT, HX_METRIC_RUN, true, get_errors,
	  "connection errors over the whole run" },
	/* metrics.latency_ns */
	{ "count", HX_UNIT_COUNT, HX_METRIC_LATENCY, true, get_count,
	  "transactions whose latency was recorded" },
	{ "min", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_min,
	  "lowest transaction latency" },
	{ "mean", HX_UNIT_NS, HX_METRIC_LATENCY, false, get_mean,
	  "mean transaction latency" },
	{ "p50", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_p50,
	  "median transaction latency" },
	{ "p90", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_p90,
	  "90th percentile transaction latency" },
	{ "p99", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_p99,
	  "99th percentile transaction latency" },
	{ "p99_9", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_p99_9,
	  "99.9th percentile transaction latency" },
	{ "p99_99", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_p99_99,
	  "99.99th percentile transaction latency" },
	{ "max", HX_UNIT_NS, HX_METRIC_LATENCY, true, get_max,
	  "highest transaction latency" },
	/* metrics.bio, when an object step ran */
	{ "requests", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_requests,
	  "HTTP requests object steps sent in the window" },
	{ "extra_requests", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_extra_requests,
	  "requests beyond one per read that missed the buffer" },
	{ "reads", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_reads,
	  "object reads (seek_read, cache_read)" },
	{ "hits", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_hits,
	  "reads served from the reader's buffer or the cache" },
	{ "misses", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_misses,
	  "reads whose bytes had to come from the server" },
	{ "hit_ratio", HX_UNIT_RATIO, HX_METRIC_BIO, false, get_hit_ratio,
	  "hits / reads" },
	{ "seeks_in_buffer", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_seeks_in_buffer,
	  "reader seeks that kept the buffer" },
	{ "seeks_dropped", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_seeks_dropped,
	  "reader seeks that dropped the buffer" },
	{ "bytes_copied", HX_UNIT_BYTES, HX_METRIC_BIO, true, get_bytes_copied,
	  "bytes the reader copied from its buffer to the step's memory" },
	{ "bypass_reads", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_bypass_reads,
	  "reader reads straight into the step's memory" },
	{ "connects", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_connects,
	  "HTTP connections opened" },
	{ "puts_acked", HX_UNIT_COUNT, HX_METRIC_BIO, true, get_puts_acked,
	  "PUTs the server acknowledged" },
	{ "acked_bytes", HX_UNIT_BYTES, HX_METRIC_BIO, true, get_acked_bytes,
	  "bytes of the PUTs the server acknowledged" },
	/* metrics.memory, when every connection was open at once */
	{ "open_conns", HX_UNIT_COUNT, HX_METRIC_MEMORY, true, get_open_conns,
	  "connections open when the memory was sampled (all of the scenario's)" },
	{ "engine_rss_before", HX_UNIT_BYTES, HX_METRIC_MEMORY, false, get_engine_rss_before,
	  "engine process resident set before the first connect" },
	{ "engine_rss_open", HX_UNIT_BYTES, HX_METRIC_MEMORY, false, get_engine_rss_open,
	  "engine process resident set with every connection open" },
	{ "engine_bytes_per_conn", HX_UNIT_BYTES, HX_METRIC_MEMORY, false,
	  get_engine_bytes_per_conn, "engine resident set growth per open connection" },
	{ "sut_rss_before", HX_UNIT_BYTES, HX_METRIC_MEMORY, false, get_sut_rss_before,
	  "SUT process resident set before the first connect (null: SUT elsewhere)" },
	{ "sut_rss_open", HX_UNIT_BYTES, HX_METRIC_MEMORY, false, get_sut_rss_open,
	  "SUT process resident set with every connection open" },
	{ "sut_bytes_per_conn", HX_UNIT_BYTES, HX_METRIC_MEMORY, false, get_sut_bytes_per_conn,
	  "SUT resident set growth per open connection" },
	/* metrics.loop */
	{ "passes", HX_UNIT_COUNT, HX_METRIC_LOOP, true, get_passes,
	  "passes of the engine's loop (a wait on the stack, then the steps)" },
	{ "handed_per_pass", HX_UNIT_COUNT, HX_METRIC_LOOP, false, get_handed_per_pass,
	  "sockets the engine handed the stack per pass: tl_poll's, or its wait set's changes" },
	{ "ready_per_pass", HX_UNIT_COUNT, HX_METRIC_LOOP, false, get_ready_per_pass,
	  "sockets the stack's wait returned ready per pass" },
	{ NULL, HX_UNIT_COUNT, HX_METRIC_RUN, false, NULL, NULL },
};

const struct hx_metric *hx_lang_metrics(void)
{
	return metrics;
}
