/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the fault injector: a source or sink wrapped so that it fails on purpose (always,
 * once, or by a connection reset after some bytes) and moves short counts. Tests put it
 * between a reader or writer and a real source or sink; every injected error is counted,
 * so a test can check that each one surfaced exactly once.
 */
#include <errno.h>
#include <stdlib.h>

#include "bio.h"

struct fault {
	struct bio_fault cfg;
	uint64_t passed;	/* bytes moved through so far */
	uint64_t injected;
	uint64_t rng;
	bool fired;		/* ONCE: done */
	bool reset;		/* RESET: the connection is gone */
};

struct fault_source {
	struct bio_source base;
	struct bio_source *inner;
	struct fault f;
};

struct fault_sink {
	struct bio_sink base;
	struct bio_sink *inner;
	struct fault f;
};

static void fault_init(struct fault *f, const struct bio_fault *cfg)
{
	f->cfg = *cfg;
	if (f->cfg.err == 0)
		f->cfg.err = EIO;
	f->rng = cfg->seed * 2654435761u + 1;
}

static size_t short_len(struct fault *f, size_t len)
{
	if (f->cfg.max_io == 0 || len <= 1)
		return len;
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	len = len < f->cfg.max_io ? len : f->cfg.max_io;
	return 1 + (size_t)(f->rng % len);
}

static int inject(struct fault *f, int err)
{
	f->injected++;
	return -err;
}

/* Before a transfer of *len bytes: 0 to go on with *len (maybe cut), or the error. */
static int before_io(struct fault *f, size_t *len)
{
	uint64_t left = f->cfg.after_bytes > f->passed ? f->cfg.after_bytes - f->passed : 0;

	if (f->reset)
		return inject(f, ECONNRESET);
	switch (f->cfg.mode) {
	case BIO_FAULT_ALWAYS:
		return inject(f, f->cfg.err);
	case BIO_FAULT_ONCE:
		if (!f->fired && left == 0) {
			f->fired = true;
			return inject(f, f->cfg.err);
		}
		break;
	case BIO_FAULT_RESET:
		if (left == 0) {
			f->reset = true;
			return inject(f, ECONNRESET);
		}
		break;
	case BIO_FAULT_NONE:
		break;
	}
	if (f->cfg.mode != BIO_FAULT_NONE && f->cfg.mode != BIO_FAULT_ALWAYS && !f->fired &&
	    left < *len)
		*len = (size_t)left;	/* land the fault exactly at after_bytes */
	*len = short_len(f, *len);
	return 0;
}

/* A control call (open, flush, close): fails when everything does. */
static int control(struct fault *f)
{
	if (f->reset)
		return inject(f, ECONNRESET);
	if (f->cfg.mode == BIO_FAULT_ALWAYS)
		return inject(f, f->cfg.err);
	return 0;
}

static int fsrc_open(struct bio_source *src, uint64_t off, uint64_t len)
{
	struct fault_source *fs = (struct fault_source *)src;
	int rc = control(&fs->f);

	return rc < 0 ? rc : fs->inner->ops->open(fs->inner, off, len);
}

static ssize_t fsrc_read(struct bio_source *src, void *buf, size_t len)
{
	struct fault_source *fs = (struct fault_source *)src;
	ssize_t n;
	int rc;

	if (len == 0)
		return fs->inner->ops->read(fs->inner, buf, 0);
	rc = before_io(&fs->f, &len);
	if (rc < 0)
		return rc;
	n = fs->inner->ops->read(fs->inner, buf, len);
	if (n > 0)
		fs->f.passed += (uint64_t)n;
	return n;
}

static int fsrc_size(struct bio_source *src, uint64_t *size)
{
	struct fault_source *fs = (struct fault_source *)src;

	return fs->inner->ops->size(fs->inner, size);
}

static void fsrc_free(struct bio_source *src)
{
	bio_source_free(((struct fault_source *)src)->inner);
	free(src);
}

static const struct bio_source_ops fault_source_ops = {
	.name = "fault",
	.open = fsrc_open,
	.read = fsrc_read,
	.size = fsrc_size,
	.free = fsrc_free,
};

struct bio_source *bio_fault_source_create(struct bio_source *inner, const struct bio_fault *f)
{
	struct fault_source *fs;

	if (inner == NULL || f == NULL) {
		errno = EINVAL;
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL)
		return NULL;
	fs->base.ops = &fault_source_ops;
	fs->inner = inner;
	fault_init(&fs->f, f);
	return &fs->base;
}

uint64_t bio_fault_injected_source(const struct bio_source *src)
{
	if (src->ops != &fault_source_ops)
		return 0;
	return ((const struct fault_source *)src)->f.injected;
}

static ssize_t fsnk_write(struct bio_sink *snk, const void *buf, size_t len)
{
	struct fault_sink *fs = (struct fault_sink *)snk;
	ssize_t n;
	int rc;

	rc = before_io(&fs->f, &len);
	if (rc < 0)
		return rc;
	n = fs->inner->ops->write(fs->inner, buf, len);
	if (n > 0)
		fs->f.passed += (uint64_t)n;
	return n;
}

static int fsnk_flush(struct bio_sink *snk)
{
	struct fault_sink *fs = (struct fault_sink *)snk;
	int rc = control(&fs->f);

	return rc < 0 ? rc : fs->inner->ops->flush(fs->inner);
}

static int fsnk_close(struct bio_sink *snk)
{
	struct fault_sink *fs = (struct fault_sink *)snk;
	int rc = control(&fs->f);

	return rc < 0 ? rc : fs->inner->ops->close(fs->inner);
}

static void fsnk_free(struct bio_sink *snk)
{
	bio_sink_free(((struct fault_sink *)snk)->inner);
	free(snk);
}

static const struct bio_sink_ops fault_sink_ops = {
	.name = "fault",
	.write = fsnk_write,
	.flush = fsnk_flush,
	.close = fsnk_close,
	.free = fsnk_free,
};

struct bio_sink *bio_fault_sink_create(struct bio_sink *inner, const struct bio_fault *f)
{
	struct fault_sink *fs;

	if (inner == NULL || f == NULL) {
		errno = EINVAL;
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL)
		return NULL;
	fs->base.ops = &fault_sink_ops;
	fs->inner = inner;
	fault_init(&fs->f, f);
	return &fs->base;
}

uint64_t bio_fault_injected_sink(const struct bio_sink *snk)
{
	if (snk->ops != &fault_sink_ops)
		return 0;
	return ((const struct fault_sink *)snk)->f.injected;
}
