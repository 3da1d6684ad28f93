/* SPDX-License-Identifier: MIT */
/*
 * bench_bio_cache.c - hit ratios of every eviction policy side by side, through the real
 * page cache (bio_cache_get/put) over a store that loads at once: a Zipf workload
 * (alpha 0.99 over 100k pages) and a scan-heavy one (the same Zipf, with a scan of 20k
 * pages never seen again after every 20k accesses). Cache sizes 1%, 5% and 10% of the
 * pages. Seeded, so a run is reproducible. A meson benchmark(), never a timed test.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bio_cache.h"
#include "bio_test_util.h"

#define KEYS 100000u
#define ACCESSES 2000000u

static int load_now(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		    uint64_t pgno, uint8_t *data, size_t len)
{
	(void)ctx, (void)c, (void)p, (void)obj, (void)len;
	data[0] = (uint8_t)pgno;
	return 0;
}

static int store_now(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		     uint64_t pgno, const uint8_t *data, size_t len)
{
	(void)ctx, (void)c, (void)p, (void)obj, (void)pgno, (void)data, (void)len;
	return 0;
}

static const struct bio_cache_store_ops store = {
	.name = "bench", .load = load_now, .store = store_now,
};

static double *zipf_cdf(unsigned int n, double alpha)
{
	double *cdf = malloc(n * sizeof(double)), sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += 1.0 / pow(i + 1, alpha);
	for (i = 0; i < n; i++)
		cdf[i] = (i ? cdf[i - 1] : 0) + 1.0 / pow(i + 1, alpha) / sum;
	return cdf;
}

static uint64_t zipf(const double *cdf, unsigned int n, uint64_t *s)
{
	double u = (double)(tu_rand(s) >> 11) / 9007199254740992.0;
	unsigned int lo = 0, hi = n - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint64_t)lo * 2654435761u % 1000003u;	/* popularity not in key order */
}

static double run(const struct bio_policy_ops *pol, unsigned int pages, const double *cdf,
		  bool scans, double *mops)
{
	struct bio_cache_params p = { .page_size = 64, .pages = pages, .policy = pol,
				      .store = &store };
	struct bio_cache *c = bio_cache_create(&p);
	uint64_t s = 42, scan_key = 10000000, i, j, key;
	struct bio_page *pg;
	struct timespec t0, t1;
	double hits;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ACCESSES; i++) {
		key = zipf(cdf, KEYS, &s);
		if (scans && i % 20000 == 19999)
			for (j = 0; j < 20000; j++, i++)
				if (bio_cache_get(c, 1, scan_key++, &pg) == 0)
					bio_cache_put(c, pg);
		if (bio_cache_get(c, 1, key, &pg) == 0)
			bio_cache_put(c, pg);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*mops = (double)ACCESSES / ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
	hits = (double)bio_cache_stats(c)->hits;
	hits /= (double)(bio_cache_stats(c)->hits + bio_cache_stats(c)->misses);
	bio_cache_free(c);
	return hits;
}

int main(void)
{
	static const unsigned int sizes[] = { KEYS / 100, KEYS / 20, KEYS / 10 };
	const struct bio_policy_ops *const *pol = bio_policies();
	double *cdf = zipf_cdf(KEYS, 0.99), mops;
	unsigned int w, i, k;

	printf("%-12s %-8s", "workload", "cache");
	for (k = 0; pol[k] != NULL; k++)
		printf(" %10s", pol[k]->name);
	printf("   (hit ratio; Mops/s in brackets)\n");
	for (w = 0; w < 2; w++)
		for (i = 0; i < 3; i++) {
			printf("%-12s %-8u", w ? "zipf+scans" : "zipf", sizes[i]);
			for (k = 0; pol[k] != NULL; k++) {
				double h = run(pol[k], sizes[i], cdf, w == 1, &mops);

				printf(" %6.4f[%.0f]", h, mops);
			}
			printf("\n");
		}
	free(cdf);
	return 0;
}
