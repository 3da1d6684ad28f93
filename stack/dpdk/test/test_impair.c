/* SPDX-License-Identifier: MIT */
/*
 * test_impair.c - impair.c and impair_spec.c with no DPDK: frames of the test's own (an id,
 * a copy mark, 64 or more bytes) through a stage with a fixed seed, on a clock the test
 * moves (1 cycle = 1 ns). Each kind's decisions on a fixed frame sequence are checked
 * exactly (which frames, in which order, when, which bit); the Gilbert-Elliott model's
 * long-run loss against its stationary value; the SPEC grammar, good and bad. Every test
 * ends with no frame left alive.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impair.h"
#include "test.h"

#define HZ 1000000000ull
#define US 1000ull
#define MS 1000000ull

struct frame {
	unsigned int id;
	bool copy;
	uint32_t len;
	uint8_t b[128];
};

struct pool {
	long live;
};

static void *f_copy(void *ctx, void *frame)
{
	struct pool *p = ctx;
	struct frame *c = malloc(sizeof(*c));

	if (c == NULL)
		return NULL;
	*c = *(struct frame *)frame;
	c->copy = true;
	p->live++;
	return c;
}

static void f_free(void *ctx, void *frame)
{
	((struct pool *)ctx)->live--;
	free(frame);
}

static uint8_t *f_bytes(void *ctx, void *frame, uint32_t *len)
{
	(void)ctx;
	*len = ((struct frame *)frame)->len;
	return ((struct frame *)frame)->b;
}

static const struct dpk_impair_frame_ops ops = { f_copy, f_free, f_bytes };

static struct frame *frame_new(struct pool *p, unsigned int id, uint32_t len)
{
	struct frame *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->id = id;
		f->len = len;
		p->live++;
	}
	return f;
}

/* A stage for tx of the engine's side of @p spec. */
static struct dpk_impair_stage *stage(struct pool *p, const char *spec)
{
	struct dpk_impair_spec s;
	char err[256];

	if (dpk_impair_parse(&s, spec, TL_ROLE_CLIENT, err, sizeof(err)) < 0) {
		fprintf(stderr, "spec '%s': %s\n", spec, err);
		return NULL;
	}
	return dpk_impair_stage_create(&s.dir[DPK_IMPAIR_TX], s.seed, 0, HZ, &ops, p);
}

/* Frames 0..n-1 of @p len bytes in at @p now, one each @p step cycles. */
static void feed(struct dpk_impair_stage *st, struct pool *p, unsigned int n, uint32_t len,
		 uint64_t now, uint64_t step)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		dpk_impair_stage_in(st, frame_new(p, i, len), now + i * step);
}

/* Everything out at @p now as "id id' ..." (' a copy), the frames freed. */
static unsigned int drain(struct dpk_impair_stage *st, struct pool *p, uint64_t now, char *ids,
			  size_t len)
{
	void *out[64];
	unsigned int n, i, total = 0;
	size_t k = 0;

	ids[0] = '\0';
	while ((n = dpk_impair_stage_out(st, now, out, 64)) > 0) {
		for (i = 0; i < n; i++) {
			struct frame *f = out[i];

			k += (size_t)snprintf(ids + k, k < len ? len - k : 0, "%s%u%s",
					      k ? " " : "", f->id, f->copy ? "'" : "");
			f_free(p, f);
		}
		total += n;
	}
	return total;
}

#define EXPECT_STR_EQ(a, b) do {						\
	if (strcmp((a), (b)) != 0) {						\
		fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n",		\
			__FILE__, __LINE__, (b), (a));				\
		return 1;							\
	}									\
} while (0)

#define COUNT(st, c) dpk_impair_stage_count(st, DPK_IMPAIR_C_##c)

static int test_loss_drops_these_frames(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:loss=30%;seed=7");
	char ids[512];

	EXPECT_TRUE(st != NULL);
	feed(st, &p, 20, 64, 0, 0);
	EXPECT_EQ_INT(drain(st, &p, 0, ids, sizeof(ids)), 20 - COUNT(st, DROPPED));
	EXPECT_STR_EQ(ids, "0 1 2 3 4 6 7 8 10 11 14 15 16 17 18 19");
	EXPECT_EQ_INT(COUNT(st, DELAYED), 0);
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* The same seed gives the same decisions; another seed, others. */
static int test_seed_reproduces(void)
{
	struct pool p = { 0 };
	char a[512], b[512], c[512];
	struct dpk_impair_stage *st;

	st = stage(&p, "loss=50%;seed=3");
	feed(st, &p, 40, 64, 0, 0);
	drain(st, &p, 0, a, sizeof(a));
	dpk_impair_stage_free(st);
	st = stage(&p, "loss=50%;seed=3");
	feed(st, &p, 40, 64, 0, 0);
	drain(st, &p, 0, b, sizeof(b));
	dpk_impair_stage_free(st);
	st = stage(&p, "loss=50%;seed=4");
	feed(st, &p, 40, 64, 0, 0);
	drain(st, &p, 0, c, sizeof(c));
	dpk_impair_stage_free(st);
	EXPECT_STR_EQ(a, b);
	EXPECT_TRUE(strcmp(a, c) != 0);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* A direct stage (a filter: loss and corruption only) keeps what stage_in/out would pass, the
 * same frames in the same order for the same seed; a stage that holds frames is not direct. */
static int test_direct_keeps_what_the_line_passes(void)
{
	const char *spec = "tx:loss=ge(p=5%,r=30%),corrupt=10%;seed=9";
	struct pool p = { 0 };
	struct dpk_impair_stage *line = stage(&p, spec), *direct = stage(&p, spec), *held;
	char a[1024], b[1024];
	unsigned int i;
	size_t k = 0;

	EXPECT_TRUE(line != NULL && direct != NULL);
	EXPECT_TRUE(dpk_impair_stage_direct(direct));
	feed(line, &p, 60, 64, 0, 0);
	drain(line, &p, 0, a, sizeof(a));
	b[0] = '\0';
	for (i = 0; i < 60; i++) {
		struct frame *f = frame_new(&p, i, 64);

		if (!dpk_impair_stage_keep(direct, f))
			continue;
		k += (size_t)snprintf(b + k, sizeof(b) - k, "%s%u", k ? " " : "", i);
		f_free(&p, f);
	}
	EXPECT_STR_EQ(b, a);
	EXPECT_EQ_INT(COUNT(direct, DROPPED), COUNT(line, DROPPED));
	EXPECT_EQ_INT(COUNT(direct, CORRUPTED), COUNT(line, CORRUPTED));
	EXPECT_TRUE(COUNT(direct, DROPPED) > 0);
	dpk_impair_stage_free(line);
	dpk_impair_stage_free(direct);
	held = stage(&p, "tx:loss=1%,delay=1us");
	EXPECT_TRUE(held != NULL && !dpk_impair_stage_direct(held));
	dpk_impair_stage_free(held);
	held = stage(&p, "tx:dup=1%");
	EXPECT_TRUE(held != NULL && !dpk_impair_stage_direct(held));
	dpk_impair_stage_free(held);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* A stage that decides nothing is idle (the port skips it); any decision makes it not. */
static int test_idle_only_when_nothing_is_decided(void)
{
	static const char *const busy[] = { "tx:loss=0.001%", "tx:corrupt=1%",
					    "tx:loss=ge(p=1%,r=30%)", "tx:delay=1us", "tx:dup=1%" };
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:loss=0%");
	unsigned int i;

	EXPECT_TRUE(st != NULL && dpk_impair_stage_idle(st) && dpk_impair_stage_direct(st));
	dpk_impair_stage_free(st);
	for (i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
		st = stage(&p, busy[i]);
		EXPECT_TRUE(st != NULL && !dpk_impair_stage_idle(st));
		dpk_impair_stage_free(st);
	}
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

static int test_dup_sends_a_copy_behind(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:dup=25%");
	char ids[512];

	feed(st, &p, 16, 64, 0, 0);
	EXPECT_EQ_INT(drain(st, &p, 0, ids, sizeof(ids)), 16 + COUNT(st, DUPLICATED));
	EXPECT_STR_EQ(ids, "0 1 2 2' 3 4 4' 5 6 7 7' 8 8' 9 9' 10 11 12 12' 13 14 15");
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* reorder=P%/2: a chosen frame leaves behind the next two; the last one held leaves at the
 * latest DPK_IMPAIR_HOLD_NS after it came, with no frame behind it. */
static int test_reorder_holds_behind_the_next_n(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:reorder=20%/2;seed=3");
	char ids[512], rest[64];

	feed(st, &p, 20, 64, 0, 0);
	drain(st, &p, 0, ids, sizeof(ids));
	EXPECT_STR_EQ(ids, "0 1 2 3 4 5 6 7 8 9 11 12 10 13 15 16 14 18");
	EXPECT_EQ_INT(COUNT(st, REORDERED), 4);
	EXPECT_EQ_INT(drain(st, &p, DPK_IMPAIR_HOLD_NS - 1, rest, sizeof(rest)), 0);
	EXPECT_EQ_INT(drain(st, &p, DPK_IMPAIR_HOLD_NS, rest, sizeof(rest)), 2);
	EXPECT_STR_EQ(rest, "17 19");
	EXPECT_EQ_INT(dpk_impair_stage_held(st), 0);
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* delay=1ms~500us, a frame each 100 us: each leaves at its own time, within D +- J of its
 * entry unless the frame ahead leaves later (then with it), never before the frame ahead. */
static int test_delay_with_jitter_keeps_order(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:delay=1ms~500us");
	uint64_t t, left[10], prev = 0;
	char times[256];
	void *out[16];
	unsigned int n, i, got = 0;
	size_t k = 0;

	feed(st, &p, 10, 64, 0, 100 * US);
	EXPECT_EQ_INT(COUNT(st, DELAYED), 10);
	for (t = 0; t <= 3 * MS && got < 10; t += US) {
		n = dpk_impair_stage_out(st, t, out, 16);
		for (i = 0; i < n; i++) {
			struct frame *f = out[i];

			EXPECT_EQ_INT(f->id, got);
			left[got++] = t;
			f_free(&p, f);
		}
	}
	EXPECT_EQ_INT(got, 10);
	for (i = 0; i < 10; i++) {
		uint64_t in = i * 100 * US;

		EXPECT_TRUE(left[i] >= prev);
		EXPECT_TRUE(left[i] <= in + 1500 * US || left[i] == prev);
		EXPECT_TRUE(left[i] + US > in + 500 * US);
		prev = left[i];
		k += (size_t)snprintf(times + k, sizeof(times) - k, "%s%llu", i ? " " : "",
				      (unsigned long long)(left[i] / US));
	}
	EXPECT_STR_EQ(times, "951 951 1398 1398 1398 1493 1493 1867 2238 2238");
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* rate=800kbit/1000: 100 000 bytes/s, a bucket of 1000 bytes: ten 100-byte frames at once,
 * then one a millisecond. */
static int test_rate_token_bucket(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:rate=800kbit/1000");
	char ids[512];
	unsigned int ms;

	feed(st, &p, 20, 100, 0, 0);
	EXPECT_EQ_INT(drain(st, &p, 0, ids, sizeof(ids)), 10);
	EXPECT_STR_EQ(ids, "0 1 2 3 4 5 6 7 8 9");
	EXPECT_EQ_INT(COUNT(st, RATE_QUEUED), 10);
	EXPECT_EQ_INT(drain(st, &p, MS - 1, ids, sizeof(ids)), 0);
	for (ms = 1; ms <= 10; ms++) {
		EXPECT_EQ_INT(drain(st, &p, ms * MS, ids, sizeof(ids)), 1);
		EXPECT_EQ_INT(atoi(ids), 9 + ms);
	}
	EXPECT_EQ_INT(COUNT(st, RATE_QUEUED), 10);
	/* a full queue drops, counted */
	feed(st, &p, DPK_IMPAIR_RATE_SLOTS + 50, 100, 20 * MS, 0);
	dpk_impair_stage_out(st, 20 * MS, (void *[1]){ NULL }, 0);
	EXPECT_EQ_INT(COUNT(st, RATE_DROPPED), 50);
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

static int test_rate_in_frames(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:rate=1000fps/4");
	char ids[512];

	feed(st, &p, 8, 1500, 0, 0);
	EXPECT_EQ_INT(drain(st, &p, 0, ids, sizeof(ids)), 4);
	EXPECT_EQ_INT(drain(st, &p, 2 * MS, ids, sizeof(ids)), 2);
	EXPECT_STR_EQ(ids, "4 5");
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* corrupt=100%: one bit of each frame, past the 14-byte Ethernet header */
static int test_corrupt_flips_one_bit(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:corrupt=100%");
	char where[256];
	void *out[4];
	unsigned int i, j, bits;
	size_t k = 0;

	feed(st, &p, 4, 64, 0, 0);
	EXPECT_EQ_INT(dpk_impair_stage_out(st, 0, out, 4), 4);
	for (i = 0; i < 4; i++) {
		struct frame *f = out[i];

		for (j = 0, bits = 0; j < f->len; j++) {
			bits += (unsigned int)__builtin_popcount(f->b[j]);
			if (f->b[j] != 0)
				k += (size_t)snprintf(where + k, sizeof(where) - k, "%s%u:%02x",
						      k ? " " : "", j, f->b[j]);
			EXPECT_TRUE(j >= 14 || f->b[j] == 0);
		}
		EXPECT_EQ_INT(bits, 1);
		f_free(&p, f);
	}
	EXPECT_STR_EQ(where, "19:40 23:02 46:10 51:08");
	EXPECT_EQ_INT(COUNT(st, CORRUPTED), 4);
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/* The delay line is bounded: what does not fit is dropped, counted; at free what is held
 * is freed and counted. */
static int test_line_is_bounded_and_freed(void)
{
	struct pool p = { 0 };
	struct dpk_impair_stage *st = stage(&p, "tx:delay=1s");

	feed(st, &p, DPK_IMPAIR_LINE_SLOTS + 100, 64, 0, 0);
	EXPECT_EQ_INT(COUNT(st, LINE_DROPPED), 100);
	EXPECT_EQ_INT(dpk_impair_stage_held(st), DPK_IMPAIR_LINE_SLOTS);
	EXPECT_EQ_INT(p.live, DPK_IMPAIR_LINE_SLOTS);
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(p.live, 0);
	return 0;
}

/*
 * Gilbert-Elliott over 10^6 frames: the loss rate against the stationary
 * pi_B (1 - h) + pi_G (1 - k), pi_B = p / (p + r), within 5 standard deviations of a
 * two-state chain's mean (variance inflated by (1 + lambda) / (1 - lambda), lambda =
 * 1 - p - r, the chain's second eigenvalue); and the mean loss burst 1 / r when h = 0,
 * k = 100%.
 */
static int ge_run(const char *spec, double p, double r, double h, double k, bool bursts)
{
	struct pool pl = { 0 };
	struct dpk_impair_stage *st = stage(&pl, spec);
	const unsigned int n = 1000000;
	double pib = p / (p + r), want = pib * (1 - h) + (1 - pib) * (1 - k);
	double lambda = 1 - p - r, sd, got;
	uint64_t dropped = 0, runs = 0, before;
	void *out[1];
	unsigned int i;
	bool last = false;

	EXPECT_TRUE(st != NULL);
	for (i = 0; i < n; i++) {
		before = COUNT(st, DROPPED);
		dpk_impair_stage_in(st, frame_new(&pl, i, 64), 0);
		if (dpk_impair_stage_out(st, 0, out, 1) == 1)
			f_free(&pl, out[0]);
		dropped = COUNT(st, DROPPED);
		runs += dropped > before && !last;
		last = dropped > before;
	}
	got = (double)dropped / n;
	sd = sqrt(want * (1 - want) / n * (1 + lambda) / (1 - lambda));
	if (fabs(got - want) > 5 * sd) {
		fprintf(stderr, "%s: loss %.5f, expected %.5f +- %.5f\n", spec, got, want, 5 * sd);
		return 1;
	}
	if (bursts && fabs((double)dropped / (double)runs - 1 / r) > 0.1 / r) {
		fprintf(stderr, "%s: mean burst %.3f, expected %.3f\n", spec,
			(double)dropped / (double)runs, 1 / r);
		return 1;
	}
	dpk_impair_stage_free(st);
	EXPECT_EQ_INT(pl.live, 0);
	return 0;
}

static int test_gilbert_elliott_long_run(void)
{
	if (ge_run("loss=ge(p=1%,r=25%)", 0.01, 0.25, 0, 1, true) != 0)
		return 1;
	if (ge_run("loss=ge(p=5%,r=50%,h=20%,k=99%);seed=11", 0.05, 0.5, 0.2, 0.99, false) != 0)
		return 1;
	return ge_run("loss=ge(r=10%,p=0.5%,k=100%,h=0%);seed=12", 0.005, 0.1, 0, 1, true);
}

/* ---- the grammar ---- */

static int parse(const char *spec, enum tl_role role, struct dpk_impair_spec *s, char *err)
{
	err[0] = '\0';
	return dpk_impair_parse(s, spec, role, err, 256);
}

static int test_spec_good(void)
{
	struct dpk_impair_spec s;
	char err[256];
	const struct dpk_impair_dir_spec *tx = &s.dir[DPK_IMPAIR_TX], *rx = &s.dir[DPK_IMPAIR_RX];

	EXPECT_EQ_INT(parse("tx:loss=1%,delay=5ms~1ms;rx:dup=0.5%;seed=7", TL_ROLE_CLIENT, &s,
			    err), 0);
	EXPECT_EQ_INT(s.seed, 7);
	EXPECT_TRUE(tx->on && rx->on);
	EXPECT_TRUE(fabs(tx->loss - 0.01) < 1e-12 && fabs(rx->dup - 0.005) < 1e-12);
	EXPECT_EQ_INT(tx->delay_ns, 5000000);
	EXPECT_EQ_INT(tx->jitter_ns, 1000000);
	EXPECT_TRUE(rx->loss == 0 && tx->dup == 0);
	/* sides: engine is the client, sut the server; no side: both */
	EXPECT_EQ_INT(parse("sut:rx:loss=2%;engine:corrupt=1%", TL_ROLE_SERVER, &s, err), 0);
	EXPECT_TRUE(rx->on && !tx->on && s.seed == 1 && rx->corrupt == 0);
	EXPECT_EQ_INT(parse("sut:rx:loss=2%;engine:corrupt=1%", TL_ROLE_CLIENT, &s, err), 0);
	EXPECT_TRUE(tx->on && rx->on && tx->corrupt == 0.01 && rx->loss == 0);
	EXPECT_EQ_INT(parse("sut:loss=1%", TL_ROLE_CLIENT, &s, err), 0);
	EXPECT_TRUE(!dpk_impair_on(&s));
	EXPECT_EQ_INT(parse("loss=ge(p=1%,r=25%,k=99%),reorder=5%/3,rate=10mbit,rate=500fps/8",
			    TL_ROLE_CLIENT, &s, err), 0);
	EXPECT_TRUE(rx->ge && rx->ge_p == 0.01 && rx->ge_r == 0.25 && rx->ge_h == 0 &&
		    rx->ge_k == 0.99);
	EXPECT_TRUE(rx->reorder == 0.05 && rx->reorder_n == 3);
	EXPECT_TRUE(rx->rate_bps == 1e7 && rx->burst_bits == 1e5);
	EXPECT_TRUE(rx->rate_fps == 500 && rx->burst_frames == 8);
	EXPECT_EQ_INT(parse("rate=1kbit/2000,delay=1.5us", TL_ROLE_SERVER, &s, err), 0);
	EXPECT_TRUE(tx->burst_bits == 16000 && tx->delay_ns == 1500);
	return 0;
}

static int bad(const char *spec, const char *msg)
{
	struct dpk_impair_spec s;
	char err[256];

	EXPECT_EQ_INT(parse(spec, TL_ROLE_CLIENT, &s, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, msg);
	EXPECT_TRUE(strchr(err, '\n') == NULL);
	return 0;
}

static int test_spec_bad_names_the_part(void)
{
	return bad("", "expected a spec of 1 to") ||
	       bad("loss=1", "'loss=1': expected P% from 0% to 100%") ||
	       bad("loss=101%", "'loss=101%': expected P%") ||
	       bad("loss=-1%", "'loss=-1%'") ||
	       bad("loss=0x10%", "'loss=0x10%'") ||
	       bad("loss=1e1%", "'loss=1e1%'") ||
	       bad("delay=1.2.3ms", "'delay=1.2.3ms'") ||
	       bad("tx:loss=1%,lose=2%", "'lose=2%': unknown kind") ||
	       bad("loss", "'loss': expected KIND=VALUE") ||
	       bad("loss=1%,", "an empty kind") ||
	       bad("loss=1%;;dup=1%", "an empty part between ';'") ||
	       bad("loss=1%;tx:loss=2%", "'loss=2%': given twice for the engine's tx") ||
	       bad("sut:loss=1%;sut:rx:loss=2%", "given twice for the SUT's rx") ||
	       bad("loss=ge(p=1%)", "ge( needs p= and r=") ||
	       bad("loss=ge(p=1%,r=2%,x=3%)", "expected ge(p=P%,r=P%[,h=P%][,k=P%])") ||
	       bad("loss=ge(p=1%,r=2%", "expected ge(") ||
	       bad("reorder=5%", "expected reorder=P%/N") ||
	       bad("reorder=5%/65", "N from 1 to 64") ||
	       bad("delay=5", "expected delay=TIME[~TIME]") ||
	       bad("delay=11s", "at most 10s") ||
	       bad("delay=5ms~x", "'delay=5ms~x'") ||
	       bad("rate=10mbps", "expected rate=Nkbit") ||
	       bad("rate=0fps", "expected rate=") ||
	       bad("rate=1mbit,rate=2mbit", "given twice") ||
	       bad("seed=x", "expected seed=N") ||
	       bad("seed=1;seed=2", "seed given twice") ||
	       bad("up:loss=1%", "'up:loss=1%': unknown kind");
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "loss_drops_these_frames", test_loss_drops_these_frames },
		{ "seed_reproduces", test_seed_reproduces },
		{ "direct_keeps_what_the_line_passes", test_direct_keeps_what_the_line_passes },
		{ "idle_only_when_nothing_is_decided", test_idle_only_when_nothing_is_decided },
		{ "dup_sends_a_copy_behind", test_dup_sends_a_copy_behind },
		{ "reorder_holds_behind_the_next_n", test_reorder_holds_behind_the_next_n },
		{ "delay_with_jitter_keeps_order", test_delay_with_jitter_keeps_order },
		{ "rate_token_bucket", test_rate_token_bucket },
		{ "rate_in_frames", test_rate_in_frames },
		{ "corrupt_flips_one_bit", test_corrupt_flips_one_bit },
		{ "line_is_bounded_and_freed", test_line_is_bounded_and_freed },
		{ "gilbert_elliott_long_run", test_gilbert_elliott_long_run },
		{ "spec_good", test_spec_good },
		{ "spec_bad_names_the_part", test_spec_bad_names_the_part },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
