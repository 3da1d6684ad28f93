/* SPDX-License-Identifier: MIT */
/*
 * bio_cache.h - the page cache (bio_cache_*): fixed-size pages keyed by (object, page
 * number) in front of a store (the thing that loads and writes back pages: an HTTP object,
 * a file, memory), with an eviction policy chosen from one list of policy ops.
 *
 * Call flow: user -> bio_cache_get (hit: the page, pinned; miss: a frame, evicting a clean
 * unpinned page the policy picks, then store->load) ... bio_cache_put (unpin). Writes dirty
 * a page; bio_cache_flush -> store->store per dirty page.
 *
 * Rules: a dirty page is never evicted or freed before its write-back succeeded; a failed
 * write-back leaves it dirty and its error is returned, once, by the next flush; pages being
 * loaded or written back are pinned; two misses on one page share its one load. A store may
 * finish a load or write-back later (return -EINPROGRESS, then call *_done): that is how a
 * second miss can find a load in flight on a single thread.
 *
 * Threading rule: a cache belongs to the thread that created it; *_done run on it too.
 */
#ifndef BIO_CACHE_H
#define BIO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bio_cache;
struct bio_page;

/** Where pages come from and go to. */
struct bio_cache_store_ops {
	const char *name;
	/** Fill @p data (@p len bytes) with the page. 0: done; -EINPROGRESS: bio_cache_load_done
	 * follows; another -errno: failed. */
	int (*load)(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		    uint64_t pgno, uint8_t *data, size_t len);
	/** Write the page back; same returns, bio_cache_store_done when -EINPROGRESS. */
	int (*store)(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		     uint64_t pgno, const uint8_t *data, size_t len);
};

/** An eviction policy over frames 0..capacity-1. Every pointer is mandatory. */
struct bio_policy_ops {
	const char *name;
	const char *description;
	void *(*create)(unsigned int capacity);
	void (*free)(void *pol);
	/** Frame @p frame now holds @p key (a new page). */
	void (*insert)(void *pol, unsigned int frame, uint64_t key);
	/** A hit on @p frame. */
	void (*hit)(void *pol, unsigned int frame);
	/** Pick a frame to evict and forget it; only frames @p ok accepts. -1: none. */
	int (*victim)(void *pol, bool (*ok)(void *arg, unsigned int frame), void *arg);
	/** Forget @p frame (its page went away without an eviction). */
	void (*remove)(void *pol, unsigned int frame);
};

/** The policies, NULL-terminated ("lru", "s3fifo"); find one by name (NULL if none). */
const struct bio_policy_ops *const *bio_policies(void);
const struct bio_policy_ops *bio_policy_find(const char *name);

struct bio_cache_params {
	size_t page_size;
	unsigned int pages;
	const struct bio_policy_ops *policy;	/* NULL: the measured default (README.md) */
	const struct bio_cache_store_ops *store;
	void *store_ctx;
};

struct bio_cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t loads;		/* store loads started */
	uint64_t shared_loads;	/* misses that joined a load in flight */
	uint64_t evictions;
	uint64_t writebacks;	/* write-backs that succeeded */
	uint64_t writeback_errors;
	uint64_t no_frame;	/* gets refused: every frame pinned or dirty */
};

/** Returns NULL and sets errno (EINVAL, ENOMEM). */
struct bio_cache *bio_cache_create(const struct bio_cache_params *p);
/** Free; dirty pages still there are reported on stderr (flush first). Accepts NULL. */
void bio_cache_free(struct bio_cache *c);

/**
 * The page (@p obj, @p pgno), pinned, in *out. Returns 0 (ready), -EINPROGRESS (its load is
 * in flight; see bio_page_status; still pinned), -ENOBUFS (no frame can be freed), or the
 * load's errno (nothing pinned then).
 */
int bio_cache_get(struct bio_cache *c, uint64_t obj, uint64_t pgno, struct bio_page **out);
/** Unpin a page from get. */
void bio_cache_put(struct bio_cache *c, struct bio_page *p);
/** 0 ready, -EINPROGRESS loading, or the failed load's errno. */
int bio_page_status(const struct bio_page *p);
uint8_t *bio_page_data(struct bio_page *p);
/** Mark a pinned, ready page changed. */
void bio_page_mark_dirty(struct bio_cache *c, struct bio_page *p);

/** Copy @p len bytes at @p off of a page in or out (get, copy, put); 0 or -errno. */
int bio_cache_read(struct bio_cache *c, uint64_t obj, uint64_t pgno, size_t off, void *buf,
		   size_t len);
int bio_cache_write(struct bio_cache *c, uint64_t obj, uint64_t pgno, size_t off,
		    const void *buf, size_t len);

/** A store finishing what it answered -EINPROGRESS to. */
void bio_cache_load_done(struct bio_cache *c, struct bio_page *p, int err);
void bio_cache_store_done(struct bio_cache *c, struct bio_page *p, int err);

/**
 * Write back every dirty page. Returns 0; the first failure not yet reported (each once,
 * the page staying dirty for a later flush); or -EINPROGRESS while write-backs are in
 * flight (flush again once they are done).
 */
int bio_cache_flush(struct bio_cache *c);
unsigned int bio_cache_dirty(const struct bio_cache *c);
const struct bio_cache_stats *bio_cache_stats(const struct bio_cache *c);
void bio_cache_dump(const struct bio_cache *c, FILE *f);

#endif /* BIO_CACHE_H */
