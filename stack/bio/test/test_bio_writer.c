/* SPDX-License-Identifier: MIT */
/*
 * test_bio_writer.c - unit tests of the buffered writer over the memory and fault-injecting
 * sinks: buffering and bypass counts, close implies flush, each injected error surfacing
 * exactly once, nothing acknowledged lost (always, once, reset mid-flush, short writes), a
 * writer freed without close, and seeded random sequences checked against a model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "bio_test_util.h"
#include "test.h"

#define CAP 4096u

struct fixture {
	struct bio_sink *mem;	/* the real sink, inside the fault wrapper when there is one */
	struct bio_sink *snk;	/* what the writer writes to */
	struct bio_writer *w;
	struct bio_writer_stats st;
};

static int setup(struct fixture *fx, const struct bio_fault *f)
{
	memset(fx, 0, sizeof(*fx));
	fx->mem = bio_mem_sink_create();
	fx->snk = f && fx->mem ? bio_fault_sink_create(fx->mem, f) : fx->mem;
	fx->w = fx->snk ? bio_writer_create(fx->snk, CAP, &fx->st) : NULL;
	return fx->w ? 0 : -1;
}

static void teardown(struct fixture *fx)
{
	bio_writer_free(fx->w);
	bio_sink_free(fx->snk);
}

/* The real sink holds exactly want[0..len). */
static int sink_holds(struct fixture *fx, const uint8_t *want, size_t len)
{
	size_t have;
	const uint8_t *d = bio_mem_sink_data(fx->mem, &have);

	EXPECT_EQ_INT(have, len);
	if (len)
		EXPECT_BYTES(d, want, len);
	return 0;
}

static int test_small_writes_buffered(void)
{
	uint8_t *data = tu_pattern(100000, 1);
	struct fixture fx;
	size_t i;

	EXPECT_EQ_INT(setup(&fx, NULL), 0);
	for (i = 0; i < 100000; i += 100)
		EXPECT_EQ_INT(bio_writer_write(fx.w, data + i, 100), 100);
	EXPECT_EQ_INT(fx.st.sink_writes, 100000 / CAP);
	EXPECT_EQ_INT(fx.st.bytes_copied, 100000);
	EXPECT_EQ_INT(fx.st.bypass_writes, 0);
	EXPECT_EQ_INT(bio_writer_close(fx.w), 0);
	EXPECT_EQ_INT(bio_writer_acked(fx.w), 100000);
	EXPECT_EQ_INT(bio_mem_sink_closes(fx.mem), 1);
	EXPECT_EQ_INT(sink_holds(&fx, data, 100000), 0);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data, 1), -EBADF);
	teardown(&fx);
	EXPECT_EQ_INT(fx.st.dropped, 0);
	free(data);
	return 0;
}

static int test_large_write_bypasses(void)
{
	uint8_t *data = tu_pattern(100000, 2);
	struct fixture fx;

	EXPECT_EQ_INT(setup(&fx, NULL), 0);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data, 10), 10);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data + 10, 50000), 50000);
	EXPECT_EQ_INT(fx.st.bypass_writes, 1);
	EXPECT_EQ_INT(fx.st.bytes_copied, 10);
	EXPECT_EQ_INT(fx.st.sink_writes, 2);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data + 50010, 49990), 49990);
	EXPECT_EQ_INT(fx.st.bytes_copied, 10);
	EXPECT_EQ_INT(bio_writer_flush(fx.w), 0);
	EXPECT_EQ_INT(sink_holds(&fx, data, 100000), 0);
	EXPECT_EQ_INT(bio_writer_close(fx.w), 0);
	teardown(&fx);
	free(data);
	return 0;
}

static int test_fail_always(void)
{
	struct bio_fault f = { .mode = BIO_FAULT_ALWAYS, .err = ENOSPC };
	uint8_t data[100] = { 0 };
	struct fixture fx;
	uint64_t seen = 0;

	EXPECT_EQ_INT(setup(&fx, &f), 0);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data, 100), 100);	/* buffered */
	EXPECT_EQ_INT(bio_writer_flush(fx.w), -ENOSPC);
	seen++;
	EXPECT_EQ_INT(bio_writer_close(fx.w), -ENOSPC);	/* a new attempt, a new failure */
	seen++;
	EXPECT_EQ_INT(bio_fault_injected_sink(fx.snk), seen);
	EXPECT_EQ_INT(fx.st.errors, seen);
	EXPECT_EQ_INT(bio_writer_acked(fx.w), 0);
	teardown(&fx);	/* not closed: reported, one more attempt, one more failure */
	EXPECT_EQ_INT(fx.st.dropped, 1);
	return 0;
}

static int test_fail_once_then_succeed(void)
{
	struct bio_fault f = { .mode = BIO_FAULT_ONCE, .err = EIO, .after_bytes = 10000 };
	uint8_t *data = tu_pattern(30000, 3);
	struct fixture fx;
	int errors = 0, rc;
	ssize_t n;
	size_t i;

	EXPECT_EQ_INT(setup(&fx, &f), 0);
	for (i = 0; i < 30000; ) {
		n = bio_writer_write(fx.w, data + i, 30000 - i < 700 ? 30000 - i : 700);
		if (n == -ECANCELED) {
			rc = bio_writer_flush(fx.w);
			EXPECT_EQ_INT(rc, -EIO);
			errors++;
			continue;
		}
		EXPECT_TRUE(n > 0);
		i += (size_t)n;
	}
	rc = bio_writer_close(fx.w);
	if (rc < 0) {
		EXPECT_EQ_INT(rc, -EIO);
		errors++;
		EXPECT_EQ_INT(bio_writer_close(fx.w), 0);
	}
	EXPECT_EQ_INT(errors, 1);
	EXPECT_EQ_INT(bio_fault_injected_sink(fx.snk), 1);
	EXPECT_EQ_INT(sink_holds(&fx, data, 30000), 0);
	teardown(&fx);
	free(data);
	return 0;
}

static int test_reset_mid_flush(void)
{
	struct bio_fault f = { .mode = BIO_FAULT_RESET, .after_bytes = 9000 };
	uint8_t *data = tu_pattern(20000, 4);
	uint64_t acked = 0, taken = 0;
	struct fixture fx;
	size_t have;
	ssize_t n;
	int rc = 0;

	EXPECT_EQ_INT(setup(&fx, &f), 0);
	while (taken < 20000 && rc == 0) {
		n = bio_writer_write(fx.w, data + taken, 3000);
		if (n > 0)
			taken += (uint64_t)n;
		rc = bio_writer_flush(fx.w);
		if (rc == 0)
			acked = taken;
	}
	EXPECT_EQ_INT(rc, -ECONNRESET);
	EXPECT_EQ_INT(acked, 9000);
	EXPECT_EQ_INT(bio_writer_acked(fx.w), acked);
	/* acknowledged bytes are in the sink; the reset cut the flush after them */
	bio_mem_sink_data(fx.mem, &have);
	EXPECT_TRUE(have >= acked);
	EXPECT_EQ_INT(sink_holds(&fx, data, have), 0);
	EXPECT_EQ_INT(bio_writer_close(fx.w), -ECONNRESET);
	EXPECT_EQ_INT(bio_fault_injected_sink(fx.snk), 2);
	EXPECT_EQ_INT(fx.st.errors, 2);
	teardown(&fx);
	free(data);
	return 0;
}

static int test_short_writes(void)
{
	struct bio_fault f = { .mode = BIO_FAULT_NONE, .max_io = 13, .seed = 5 };
	uint8_t *data = tu_pattern(50000, 5);
	struct fixture fx;

	EXPECT_EQ_INT(setup(&fx, &f), 0);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data, 1000), 1000);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data + 1000, 49000), 49000);
	EXPECT_EQ_INT(bio_writer_close(fx.w), 0);
	EXPECT_EQ_INT(sink_holds(&fx, data, 50000), 0);
	EXPECT_TRUE(fx.st.sink_writes > 50000 / 13);
	teardown(&fx);
	free(data);
	return 0;
}

static int test_free_without_close_reported(void)
{
	uint8_t *data = tu_pattern(1000, 6);
	struct fixture fx;

	EXPECT_EQ_INT(setup(&fx, NULL), 0);
	EXPECT_EQ_INT(bio_writer_write(fx.w, data, 1000), 1000);
	bio_writer_free(fx.w);
	fx.w = NULL;
	EXPECT_EQ_INT(fx.st.dropped, 1);
	EXPECT_EQ_INT(sink_holds(&fx, data, 1000), 0);	/* flushed, not silently lost */
	teardown(&fx);
	free(data);
	return 0;
}

/* One seeded run: random writes, flushes and a close, through short writes and one
 * injected failure; the model is the bytes taken. Each injection surfaces exactly once. */
static int random_run(uint64_t seed, const uint8_t *data, size_t size)
{
	uint64_t s = seed, taken = 0, errors = 0;
	struct bio_fault f = { .mode = seed % 2 ? BIO_FAULT_ONCE : BIO_FAULT_RESET,
			       .after_bytes = tu_rand(&s) % size, .max_io = 1 + tu_rand(&s) % 9000,
			       .seed = seed };
	struct fixture fx;
	size_t len, have;
	int rc, tries;
	ssize_t n;

	EXPECT_EQ_INT(setup(&fx, &f), 0);
	while (taken < size) {
		len = (size_t)(tu_rand(&s) % 4 ? tu_rand(&s) % 600 : tu_rand(&s) % 20000);
		len = len < size - taken ? len : size - taken;
		n = bio_writer_write(fx.w, data + taken, len);
		EXPECT_TRUE(n == -ECANCELED || (n >= 0 && (size_t)n <= len));
		if (n > 0)
			taken += (uint64_t)n;
		if (n == -ECANCELED || tu_rand(&s) % 10 == 0) {
			rc = bio_writer_flush(fx.w);
			errors += rc < 0;
			if (rc < 0 && f.mode == BIO_FAULT_RESET)
				break;
		}
	}
	for (tries = 0; tries < 10; tries++) {
		rc = bio_writer_close(fx.w);
		if (rc == 0)
			break;
		errors++;
	}
	EXPECT_EQ_INT(errors, bio_fault_injected_sink(fx.snk));
	bio_mem_sink_data(fx.mem, &have);
	EXPECT_TRUE(have >= bio_writer_acked(fx.w));
	EXPECT_EQ_INT(sink_holds(&fx, data, have), 0);
	if (f.mode == BIO_FAULT_ONCE) {
		EXPECT_EQ_INT(rc, 0);
		EXPECT_EQ_INT(have, size);
		EXPECT_EQ_INT(bio_writer_acked(fx.w), size);
	}
	teardown(&fx);
	return 0;
}

static int test_random_against_model(void)
{
	size_t size = 200000;
	uint8_t *data = tu_pattern(size, 8);
	uint64_t seed;

	for (seed = 1; seed <= 40; seed++)
		if (random_run(seed, data, size) != 0) {
			fprintf(stderr, "random_against_model: seed %llu\n",
				(unsigned long long)seed);
			return 1;
		}
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "small_writes_buffered", test_small_writes_buffered },
		{ "large_write_bypasses", test_large_write_bypasses },
		{ "fail_always", test_fail_always },
		{ "fail_once_then_succeed", test_fail_once_then_succeed },
		{ "reset_mid_flush", test_reset_mid_flush },
		{ "short_writes", test_short_writes },
		{ "free_without_close_reported", test_free_without_close_reported },
		{ "random_against_model", test_random_against_model },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
