/* SPDX-License-Identifier: MIT */
/*
 * test_bio_cache.c - unit tests of the page cache over a store the test controls (loads and
 * write-backs that finish at once, later, or fail): hits and misses, two misses sharing one
 * load, pinned and dirty pages never evicted, a failed write-back keeping its page dirty with
 * the error reported once, both policies behind one ops table, and a seeded random sequence
 * checked against an in-memory model of the object.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bio_cache.h"
#include "bio_test_util.h"
#include "test.h"

#define PG 64u
#define NPAGES 64u

struct store {
	uint8_t backing[NPAGES * PG];	/* the object as the store holds it */
	bool defer;			/* answer -EINPROGRESS, remember the page */
	struct bio_page *pending;
	int fail_store;			/* >0: that many write-backs fail with EIO */
	int fail_load;
	unsigned int loads, stores;
};

static int st_load(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		   uint64_t pgno, uint8_t *data, size_t len)
{
	struct store *s = ctx;

	(void)c, (void)obj;
	s->loads++;
	if (s->fail_load > 0 && s->fail_load--)
		return -EIO;
	memcpy(data, s->backing + pgno * PG, len);
	if (s->defer) {
		s->pending = p;
		return -EINPROGRESS;
	}
	return 0;
}

static int st_store(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		    uint64_t pgno, const uint8_t *data, size_t len)
{
	struct store *s = ctx;

	(void)c, (void)p, (void)obj;
	s->stores++;
	if (s->fail_store > 0 && s->fail_store--)
		return -EIO;
	memcpy(s->backing + pgno * PG, data, len);
	return 0;
}

static const struct bio_cache_store_ops store_ops = {
	.name = "test", .load = st_load, .store = st_store,
};

static struct bio_cache *cache(struct store *s, unsigned int pages, const char *policy)
{
	struct bio_cache_params p = { .page_size = PG, .pages = pages,
				      .policy = bio_policy_find(policy), .store = &store_ops,
				      .store_ctx = s };
	unsigned int i;

	for (i = 0; i < sizeof(s->backing); i++)
		s->backing[i] = (uint8_t)(i * 7);
	return bio_cache_create(&p);
}

static int test_hit_miss(void)
{
	static const char *const names[] = { "lru", "s3fifo" };
	struct store s = { 0 };
	uint8_t buf[PG];
	unsigned int k;

	for (k = 0; k < 2; k++) {
		struct bio_cache *c = cache(&s, 4, names[k]);

		s.loads = 0;
		EXPECT_EQ_INT(bio_cache_read(c, 1, 3, 0, buf, PG), 0);
		EXPECT_BYTES(buf, s.backing + 3 * PG, PG);
		EXPECT_EQ_INT(bio_cache_read(c, 1, 3, 10, buf, 5), 0);
		EXPECT_EQ_INT(bio_cache_stats(c)->hits, 1);
		EXPECT_EQ_INT(bio_cache_stats(c)->misses, 1);
		EXPECT_EQ_INT(s.loads, 1);
		EXPECT_EQ_INT(bio_cache_read(c, 1, 3, 60, buf, 5), -EINVAL);
		bio_cache_free(c);
	}
	EXPECT_TRUE(bio_policy_find("nope") == NULL);
	return 0;
}

static int test_shared_load(void)
{
	struct store s = { .defer = true };
	struct bio_cache *c = cache(&s, 4, "s3fifo");
	struct bio_page *a, *b;

	EXPECT_EQ_INT(bio_cache_get(c, 1, 5, &a), -EINPROGRESS);
	EXPECT_EQ_INT(bio_cache_get(c, 1, 5, &b), -EINPROGRESS);
	EXPECT_TRUE(a == b);
	EXPECT_EQ_INT(s.loads, 1);
	EXPECT_EQ_INT(bio_cache_stats(c)->shared_loads, 1);
	EXPECT_EQ_INT(bio_page_status(a), -EINPROGRESS);
	bio_cache_load_done(c, s.pending, 0);
	EXPECT_EQ_INT(bio_page_status(a), 0);
	EXPECT_BYTES(bio_page_data(a), s.backing + 5 * PG, PG);
	bio_cache_put(c, a);
	bio_cache_put(c, b);
	/* a failed load reaches both waiters, then the frame is free again */
	EXPECT_EQ_INT(bio_cache_get(c, 1, 6, &a), -EINPROGRESS);
	EXPECT_EQ_INT(bio_cache_get(c, 1, 6, &b), -EINPROGRESS);
	bio_cache_load_done(c, s.pending, -EIO);
	EXPECT_EQ_INT(bio_page_status(a), -EIO);
	bio_cache_put(c, a);
	bio_cache_put(c, b);
	s.defer = false;
	EXPECT_EQ_INT(bio_cache_get(c, 1, 6, &a), 0);
	bio_cache_put(c, a);
	bio_cache_free(c);
	return 0;
}

static int test_pinned_and_dirty_stay(void)
{
	struct store s = { 0 };
	struct bio_cache *c = cache(&s, 2, "lru");
	struct bio_page *a, *b;
	uint8_t x = 0xAB;

	EXPECT_EQ_INT(bio_cache_get(c, 1, 0, &a), 0);		/* pinned */
	EXPECT_EQ_INT(bio_cache_write(c, 1, 1, 0, &x, 1), 0);	/* dirty */
	EXPECT_EQ_INT(bio_cache_get(c, 1, 2, &b), -ENOBUFS);
	EXPECT_EQ_INT(bio_cache_stats(c)->no_frame, 1);
	bio_cache_put(c, a);
	EXPECT_EQ_INT(bio_cache_get(c, 1, 2, &b), 0);		/* evicts page 0, not 1 */
	bio_cache_put(c, b);
	EXPECT_EQ_INT(bio_cache_stats(c)->evictions, 1);
	EXPECT_EQ_INT(bio_cache_dirty(c), 1);
	EXPECT_EQ_INT(bio_cache_flush(c), 0);
	EXPECT_EQ_INT(s.backing[PG], 0xAB);
	EXPECT_EQ_INT(bio_cache_dirty(c), 0);
	bio_cache_free(c);
	return 0;
}

static int test_failed_writeback_stays_dirty(void)
{
	struct store s = { .fail_store = 1 };
	struct bio_cache *c = cache(&s, 4, "s3fifo");
	uint8_t x = 0x5A;

	EXPECT_EQ_INT(bio_cache_write(c, 1, 2, 3, &x, 1), 0);
	EXPECT_EQ_INT(bio_cache_flush(c), -EIO);
	EXPECT_EQ_INT(bio_cache_dirty(c), 1);
	EXPECT_EQ_INT(s.backing[2 * PG + 3], (uint8_t)((2 * PG + 3) * 7));
	EXPECT_EQ_INT(bio_cache_stats(c)->writeback_errors, 1);
	EXPECT_EQ_INT(bio_cache_flush(c), 0);	/* reported once; the retry succeeds */
	EXPECT_EQ_INT(s.backing[2 * PG + 3], 0x5A);
	EXPECT_EQ_INT(bio_cache_dirty(c), 0);
	EXPECT_EQ_INT(bio_cache_flush(c), 0);
	EXPECT_EQ_INT(s.stores, 2);
	bio_cache_free(c);
	return 0;
}

static int test_random_against_model(void)
{
	static const char *const names[] = { "lru", "s3fifo" };
	uint8_t model[NPAGES * PG], buf[PG];
	unsigned int k, i, errors, injected;
	uint64_t r = 5, pg, off, len, we;
	int rc;

	for (k = 0; k < 2; k++) {
		struct store s = { 0 };
		struct bio_cache *c = cache(&s, 8, names[k]);

		memcpy(model, s.backing, sizeof(model));
		errors = injected = 0;
		for (i = 0; i < 20000; i++) {
			pg = tu_rand(&r) % NPAGES;
			off = tu_rand(&r) % PG;
			len = 1 + tu_rand(&r) % (PG - off);
			switch (tu_rand(&r) % 4) {
			case 0:
				rc = bio_cache_write(c, 1, pg, off, buf, len);
				if (rc == 0)
					memcpy(model + pg * PG + off, buf, len);
				EXPECT_TRUE(rc == 0 || rc == -ENOBUFS);
				break;
			case 1:
				if (tu_rand(&r) % 4 == 0) {
					s.fail_store++;
					injected++;
				}
				we = bio_cache_stats(c)->writeback_errors;
				rc = bio_cache_flush(c);
				errors += rc == -EIO;
				/* reported exactly when this flush had a failure */
				EXPECT_EQ_INT(rc, bio_cache_stats(c)->writeback_errors > we ? -EIO : 0);
				break;
			default:
				rc = bio_cache_read(c, 1, pg, off, buf, len);
				EXPECT_TRUE(rc == 0 || rc == -ENOBUFS);
				if (rc == 0)
					EXPECT_BYTES(buf, model + pg * PG + off, len);
				for (off = 0; off < PG; off++)
					buf[off] = (uint8_t)tu_rand(&r);
			}
		}
		while ((rc = bio_cache_flush(c)) != 0)
			errors++;
		EXPECT_EQ_INT(bio_cache_stats(c)->writeback_errors, injected);
		EXPECT_TRUE(errors > 0 && errors <= injected);
		EXPECT_EQ_INT(bio_cache_dirty(c), 0);
		EXPECT_BYTES(s.backing, model, sizeof(model));
		bio_cache_free(c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "hit_miss", test_hit_miss },
		{ "shared_load", test_shared_load },
		{ "pinned_and_dirty_stay", test_pinned_and_dirty_stay },
		{ "failed_writeback_stays_dirty", test_failed_writeback_stays_dirty },
		{ "random_against_model", test_random_against_model },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
