/* SPDX-License-Identifier: MIT */
/*
 * cache.c - the page cache: frames, a chained hash of (object, page) -> frame, page states
 * (free, loading, ready, writeback, failed), pins, and the sticky write-back error. The
 * policy (policy.c) only orders frames; this file decides which ones may leave: ready,
 * clean and unpinned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bio_cache.h"

#define NIL UINT32_MAX

enum page_state { PG_FREE, PG_LOADING, PG_READY, PG_WRITEBACK, PG_FAILED };

struct bio_page {
	uint64_t obj;
	uint64_t pgno;
	uint8_t *data;
	uint32_t hnext;		/* hash chain */
	uint32_t pins;
	enum page_state state;
	int err;		/* PG_FAILED: the load's errno */
	bool dirty;
	bool redirtied;		/* written to during its write-back */
};

struct bio_cache {
	struct bio_cache_params p;
	const struct bio_policy_ops *pol_ops;
	void *pol;
	struct bio_page *pages;
	uint8_t *mem;
	uint32_t *buckets;
	uint32_t nbuckets;	/* a power of two */
	uint32_t *free_list;
	uint32_t n_free;
	unsigned int n_dirty;
	unsigned int in_flight;	/* write-backs not done */
	int err;		/* a write-back failure not yet reported */
	struct bio_cache_stats st;
};

static uint64_t key_of(uint64_t obj, uint64_t pgno)
{
	return (obj * 0x9e3779b97f4a7c15ull) ^ pgno;
}

static uint32_t bucket(const struct bio_cache *c, uint64_t obj, uint64_t pgno)
{
	uint64_t k = key_of(obj, pgno);

	k ^= k >> 31;
	k *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(k >> 32) & (c->nbuckets - 1);
}

static int alloc_arrays(struct bio_cache *c)
{
	unsigned int i;

	for (c->nbuckets = 1; c->nbuckets < 2 * c->p.pages; c->nbuckets *= 2)
		;
	c->pages = calloc(c->p.pages, sizeof(*c->pages));
	c->mem = malloc(c->p.pages * c->p.page_size);
	c->buckets = malloc(c->nbuckets * sizeof(uint32_t));
	c->free_list = malloc(c->p.pages * sizeof(uint32_t));
	if (!c->pages || !c->mem || !c->buckets || !c->free_list)
		return -ENOMEM;
	for (i = 0; i < c->nbuckets; i++)
		c->buckets[i] = NIL;
	for (i = 0; i < c->p.pages; i++) {
		c->pages[i].data = c->mem + (size_t)i * c->p.page_size;
		c->free_list[i] = c->p.pages - 1 - i;
	}
	c->n_free = c->p.pages;
	return 0;
}

static void free_arrays(struct bio_cache *c)
{
	free(c->pages);
	free(c->mem);
	free(c->buckets);
	free(c->free_list);
}

struct bio_cache *bio_cache_create(const struct bio_cache_params *p)
{
	struct bio_cache *c;

	if (p == NULL || p->page_size == 0 || p->pages == 0 || p->store == NULL) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->p = *p;
	c->pol_ops = p->policy ? p->policy : bio_policy_find("s3fifo");
	if (alloc_arrays(c) < 0)
		goto err_free_arrays;
	c->pol = c->pol_ops->create(p->pages);
	if (c->pol == NULL)
		goto err_free_arrays;
	return c;

err_free_arrays:
	free_arrays(c);
	free(c);
	errno = ENOMEM;
	return NULL;
}

void bio_cache_free(struct bio_cache *c)
{
	if (c == NULL)
		return;
	if (c->n_dirty > 0)
		fprintf(stderr, "bio: page cache freed with %u dirty pages not written back\n",
			c->n_dirty);
	c->pol_ops->free(c->pol);
	free_arrays(c);
	free(c);
}

static uint32_t frame_of(const struct bio_cache *c, const struct bio_page *p)
{
	return (uint32_t)(p - c->pages);
}

static struct bio_page *lookup(struct bio_cache *c, uint64_t obj, uint64_t pgno)
{
	uint32_t f;

	for (f = c->buckets[bucket(c, obj, pgno)]; f != NIL; f = c->pages[f].hnext)
		if (c->pages[f].obj == obj && c->pages[f].pgno == pgno)
			return &c->pages[f];
	return NULL;
}

static void unhash(struct bio_cache *c, struct bio_page *p)
{
	uint32_t *link = &c->buckets[bucket(c, p->obj, p->pgno)], f = frame_of(c, p);

	while (*link != f)
		link = &c->pages[*link].hnext;
	*link = p->hnext;
}

static bool evictable(void *arg, unsigned int frame)
{
	const struct bio_page *p = &((struct bio_cache *)arg)->pages[frame];

	return p->state == PG_READY && p->pins == 0 && !p->dirty;
}

/* A frame for a new page: a free one, or one the policy gives up. NIL if none. */
static uint32_t take_frame(struct bio_cache *c)
{
	int f;

	if (c->n_free > 0)
		return c->free_list[--c->n_free];
	f = c->pol_ops->victim(c->pol, evictable, c);
	if (f < 0)
		return NIL;
	unhash(c, &c->pages[f]);
	c->pages[f].state = PG_FREE;
	c->st.evictions++;
	return (uint32_t)f;
}

static void release_frame(struct bio_cache *c, struct bio_page *p)
{
	unhash(c, p);
	c->pol_ops->remove(c->pol, frame_of(c, p));
	p->state = PG_FREE;
	c->free_list[c->n_free++] = frame_of(c, p);
}

static int start_load(struct bio_cache *c, uint64_t obj, uint64_t pgno, struct bio_page **out)
{
	uint32_t f = take_frame(c), b;
	struct bio_page *p;
	int rc;

	if (f == NIL) {
		c->st.no_frame++;
		return -ENOBUFS;
	}
	p = &c->pages[f];
	b = bucket(c, obj, pgno);
	*p = (struct bio_page){ .obj = obj, .pgno = pgno, .data = p->data, .hnext = c->buckets[b],
				.pins = 1, .state = PG_LOADING };
	c->buckets[b] = f;
	c->pol_ops->insert(c->pol, f, key_of(obj, pgno));
	c->st.loads++;
	*out = p;
	rc = c->p.store->load(c->p.store_ctx, c, p, obj, pgno, p->data, c->p.page_size);
	if (rc != -EINPROGRESS)
		bio_cache_load_done(c, p, rc);
	if (rc < 0 && rc != -EINPROGRESS) {
		bio_cache_put(c, p);	/* the last pin: the frame goes back */
		*out = NULL;
	}
	return rc;
}

int bio_cache_get(struct bio_cache *c, uint64_t obj, uint64_t pgno, struct bio_page **out)
{
	struct bio_page *p = lookup(c, obj, pgno);

	*out = NULL;
	if (p == NULL) {
		c->st.misses++;
		return start_load(c, obj, pgno, out);
	}
	if (p->state == PG_FAILED)
		return p->err;
	p->pins++;
	*out = p;
	if (p->state == PG_LOADING) {
		c->st.misses++;
		c->st.shared_loads++;
		return -EINPROGRESS;
	}
	c->st.hits++;
	c->pol_ops->hit(c->pol, frame_of(c, p));
	return 0;
}

void bio_cache_put(struct bio_cache *c, struct bio_page *p)
{
	if (p == NULL || p->pins == 0)
		return;
	if (--p->pins == 0 && p->state == PG_FAILED)
		release_frame(c, p);
}

int bio_page_status(const struct bio_page *p)
{
	if (p->state == PG_LOADING)
		return -EINPROGRESS;
	return p->state == PG_FAILED ? p->err : 0;
}

uint8_t *bio_page_data(struct bio_page *p)
{
	return p->data;
}

void bio_page_mark_dirty(struct bio_cache *c, struct bio_page *p)
{
	if (p->state == PG_WRITEBACK)
		p->redirtied = true;
	if (!p->dirty)
		c->n_dirty++;
	p->dirty = true;
}

void bio_cache_load_done(struct bio_cache *c, struct bio_page *p, int err)
{
	(void)c;
	p->state = err < 0 ? PG_FAILED : PG_READY;
	p->err = err < 0 ? err : 0;
}

static int get_ready(struct bio_cache *c, uint64_t obj, uint64_t pgno, size_t off, size_t len,
		     struct bio_page **p)
{
	int rc;

	if (off > c->p.page_size || len > c->p.page_size - off)
		return -EINVAL;
	rc = bio_cache_get(c, obj, pgno, p);
	if (rc == -EINPROGRESS) {
		bio_cache_put(c, *p);	/* an asynchronous store: the caller comes back later */
		*p = NULL;
	}
	return rc;
}

int bio_cache_read(struct bio_cache *c, uint64_t obj, uint64_t pgno, size_t off, void *buf,
		   size_t len)
{
	struct bio_page *p;
	int rc = get_ready(c, obj, pgno, off, len, &p);

	if (rc < 0)
		return rc;
	memcpy(buf, p->data + off, len);
	bio_cache_put(c, p);
	return 0;
}

int bio_cache_write(struct bio_cache *c, uint64_t obj, uint64_t pgno, size_t off,
		    const void *buf, size_t len)
{
	struct bio_page *p;
	int rc = get_ready(c, obj, pgno, off, len, &p);

	if (rc < 0)
		return rc;
	memcpy(p->data + off, buf, len);
	bio_page_mark_dirty(c, p);
	bio_cache_put(c, p);
	return 0;
}

void bio_cache_store_done(struct bio_cache *c, struct bio_page *p, int err)
{
	c->in_flight--;
	p->state = PG_READY;
	if (err < 0) {
		c->st.writeback_errors++;
		if (c->err == 0)
			c->err = err;	/* the page stays dirty: a later flush retries */
	} else if (!p->redirtied) {
		c->st.writebacks++;
		p->dirty = false;
		c->n_dirty--;
	} else {
		c->st.writebacks++;
	}
	p->redirtied = false;
	bio_cache_put(c, p);
}

static void write_back(struct bio_cache *c, struct bio_page *p)
{
	int rc;

	p->pins++;
	p->state = PG_WRITEBACK;
	p->redirtied = false;
	c->in_flight++;
	rc = c->p.store->store(c->p.store_ctx, c, p, p->obj, p->pgno, p->data, c->p.page_size);
	if (rc != -EINPROGRESS)
		bio_cache_store_done(c, p, rc);
}

int bio_cache_flush(struct bio_cache *c)
{
	unsigned int i;
	int err;

	if (c->err == 0) {
		for (i = 0; i < c->p.pages; i++)
			if (c->pages[i].dirty && c->pages[i].state == PG_READY)
				write_back(c, &c->pages[i]);
	}
	err = c->err;
	c->err = 0;
	if (err == 0 && c->in_flight > 0)
		return -EINPROGRESS;
	return err;
}

unsigned int bio_cache_dirty(const struct bio_cache *c)
{
	return c->n_dirty;
}

const struct bio_cache_stats *bio_cache_stats(const struct bio_cache *c)
{
	return &c->st;
}

void bio_cache_dump(const struct bio_cache *c, FILE *f)
{
	fprintf(f, "bio_cache policy=%s pages=%u page_size=%zu free=%u dirty=%u in_flight=%u "
		"err=%d hits=%llu misses=%llu shared=%llu evictions=%llu\n", c->pol_ops->name,
		c->p.pages, c->p.page_size, c->n_free, c->n_dirty, c->in_flight, c->err,
		(unsigned long long)c->st.hits, (unsigned long long)c->st.misses,
		(unsigned long long)c->st.shared_loads, (unsigned long long)c->st.evictions);
}
