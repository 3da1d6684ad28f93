/* SPDX-License-Identifier: MIT */
/*
 * bio.h - the buffered I/O layer (bio_*): readers and writers over pluggable sources and
 * sinks. It sits between a user of objects (a scenario, a SUT program, a test) and the
 * transport API: the user calls bio_reader_* / bio_writer_*, the reader and writer call a
 * source's or sink's ops, and the transport-backed ones (stream, HTTP) call tl_*.
 *
 * Sources and sinks are ops tables with a .name, embedded as the first member of each
 * implementation (as struct tl_stack is): transport stream, local file, memory, HTTP/1.1
 * object (bio_http.h) and a fault injector that wraps any other one (tests).
 *
 * A source serves requests: open(off, len) starts one request for a byte range (one HTTP
 * range GET; a file just moves its offset) and read() returns its bytes in order. The reader
 * counts every open as one request; that count is what the seek rules are checked against.
 *
 * Conventions: 0 or a byte count on success, a negative Linux errno on failure;
 * constructors return NULL and set errno; every *_free accepts NULL.
 *
 * Threading rule: a reader, writer, source or sink belongs to the thread that created it
 * (and, for the transport ones, to the thread that owns the stack instance).
 */
#ifndef BIO_BIO_H
#define BIO_BIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "transport.h"

/** A request length meaning "up to the end of the object". */
#define BIO_TO_END UINT64_MAX

/** The reader's and writer's buffer size when the caller names none (see README.md). */
#define BIO_DEFAULT_BUF_SIZE (256u * 1024u)

struct bio_source;
struct bio_sink;

/** How to read from something. Every pointer is mandatory. */
struct bio_source_ops {
	const char *name;
	/**
	 * Start one request for [off, off + len) (len BIO_TO_END: to the end), abandoning the
	 * one still open. A range past the end is not an error: its reads return 0.
	 * Returns 0, -ESPIPE when the source cannot move there (a stream), or its own errno.
	 */
	int (*open)(struct bio_source *src, uint64_t off, uint64_t len);
	/**
	 * The next bytes of the open request into @p buf (never more than @p len; short reads
	 * are allowed). Returns the count, 0 at the end of the range, or a negative errno
	 * (-EINVAL when no request is open).
	 */
	ssize_t (*read)(struct bio_source *src, void *buf, size_t len);
	/** The object's size in *size; -ESPIPE when it has none (a stream). May ask (HEAD). */
	int (*size)(struct bio_source *src, uint64_t *size);
	void (*free)(struct bio_source *src);
};

/** Every source starts with this header. */
struct bio_source {
	const struct bio_source_ops *ops;
};

/** How to write to something: bytes go at the end of what was written before. */
struct bio_sink_ops {
	const char *name;
	/** Take up to @p len bytes; short writes allowed. Returns the count (>0) or -errno. */
	ssize_t (*write)(struct bio_sink *snk, const void *buf, size_t len);
	/** Make everything written so far as safe as this sink can before close. 0 or -errno. */
	int (*flush)(struct bio_sink *snk);
	/** End the object; 0 means the far end acknowledged all of it. 0 or -errno. */
	int (*close)(struct bio_sink *snk);
	void (*free)(struct bio_sink *snk);
};

/** Every sink starts with this header. */
struct bio_sink {
	const struct bio_sink_ops *ops;
};

/** Free a source (its own ops->free). Accepts NULL. */
void bio_source_free(struct bio_source *src);
/** Free a sink (its own ops->free), without closing it. Accepts NULL. */
void bio_sink_free(struct bio_sink *snk);

/*
 * The sources and sinks of this layer. Constructors return NULL and set errno.
 */

/** A connected transport socket, read as one stream (open succeeds only where it is). */
struct bio_source *bio_stream_source_create(struct tl_stack *st, int s);
/** A connected transport socket; flush is a no-op, close is shutdown(SHUT_WR). */
struct bio_sink *bio_stream_sink_create(struct tl_stack *st, int s);
/** A local file read with pread. */
struct bio_source *bio_file_source_create(const char *path);
/** A local file written with pwrite from offset 0 (created or truncated); close fsyncs. */
struct bio_sink *bio_file_sink_create(const char *path);
/** @p len bytes at @p data, not copied: they must outlive the source. */
struct bio_source *bio_mem_source_create(const void *data, size_t len);
/** A growing memory object; bio_mem_sink_data shows what it holds. */
struct bio_sink *bio_mem_sink_create(void);
/** What a memory sink holds (its bytes and count); NULL for another kind of sink. */
const uint8_t *bio_mem_sink_data(const struct bio_sink *snk, size_t *len);
/** How many times a memory sink was closed successfully. */
unsigned int bio_mem_sink_closes(const struct bio_sink *snk);

/*
 * Fault injection: a source or sink wrapped so that it fails on purpose. Part of the test
 * seam: the wrapped object is real, only the failures are made up.
 */
enum bio_fault_mode {
	BIO_FAULT_NONE,		/**< only the short reads/writes of max_io, if set */
	BIO_FAULT_ALWAYS,	/**< every call fails with err */
	BIO_FAULT_ONCE,		/**< the first call once after_bytes have passed fails, once */
	BIO_FAULT_RESET,	/**< after after_bytes, a short transfer, then -ECONNRESET forever */
};

struct bio_fault {
	enum bio_fault_mode mode;
	int err;		/**< positive errno to inject (ALWAYS, ONCE); 0: EIO */
	uint64_t after_bytes;	/**< ONCE, RESET: bytes that pass before the fault */
	size_t max_io;		/**< >0: each transfer moves 1..max_io bytes (seeded) */
	uint64_t seed;		/**< for the short lengths */
};

/** Wrap @p inner (owned from now on, freed with the wrapper). */
struct bio_source *bio_fault_source_create(struct bio_source *inner, const struct bio_fault *f);
struct bio_sink *bio_fault_sink_create(struct bio_sink *inner, const struct bio_fault *f);
/** Faults injected so far (errors returned, not short transfers). */
uint64_t bio_fault_injected_source(const struct bio_source *src);
uint64_t bio_fault_injected_sink(const struct bio_sink *snk);

/*
 * The reader.
 */

/** Counters a reader keeps, for tests and the result JSON. */
struct bio_reader_stats {
	uint64_t requests;	/**< source opens: one per ranged request */
	uint64_t source_reads;	/**< source read calls that returned bytes */
	uint64_t source_bytes;	/**< bytes received from the source (into buffer or caller) */
	uint64_t bytes_copied;	/**< bytes memcpy'd from the buffer to a caller */
	uint64_t bypass_reads;	/**< reads served straight into the caller's memory */
	uint64_t fills;		/**< buffer refills */
	uint64_t seeks_in_buffer;	/**< seeks that kept the buffer */
	uint64_t seeks_dropped;	/**< seeks that dropped it */
};

struct bio_reader;

/**
 * A reader over @p src (not owned) with a buffer of @p buf_size bytes (0: the default).
 * Returns NULL and sets errno (ENOMEM, EINVAL).
 */
struct bio_reader *bio_reader_create(struct bio_source *src, size_t buf_size);
void bio_reader_free(struct bio_reader *r);

/**
 * Up to @p len bytes at the current position. Returns what is buffered when anything is
 * (short reads are normal); otherwise a read of at least the buffer's size goes straight
 * into @p dst, a smaller one refills the buffer first. Returns the count, 0 at the end, or
 * the source's negative errno.
 */
ssize_t bio_reader_read(struct bio_reader *r, void *dst, size_t len);
/** Exactly @p len bytes: 0, -ENODATA when the object ends first (what was read is consumed),
 * or the source's errno. */
int bio_reader_read_exact(struct bio_reader *r, void *dst, size_t len);
/**
 * Everything from the position to the end, into a malloc'd buffer the caller frees
 * (allocated once when the size is known). 0 with *out and *len set, or -errno (*out NULL).
 */
int bio_reader_read_to_end(struct bio_reader *r, uint8_t **out, size_t *len);
/**
 * The buffered bytes at the position, refilling when none are: *data points into the
 * buffer, valid until the next call on @p r. Returns their count, 0 at the end, or -errno.
 */
ssize_t bio_reader_fill(struct bio_reader *r, const uint8_t **data);
/** Skip @p n bytes of what fill returned (n larger than that is clamped). */
void bio_reader_consume(struct bio_reader *r, size_t n);
/**
 * Move to @p off from SEEK_SET, SEEK_CUR or SEEK_END (which asks the source's size). A
 * target inside the buffer keeps it; another one drops it, and the next read opens one
 * request there. Returns the new position, or -EINVAL (bad whence or before 0), or the
 * errno of the size query.
 */
int64_t bio_reader_seek(struct bio_reader *r, int64_t off, int whence);
/**
 * Forget the buffered bytes (the object may have changed on the far side): the next read at
 * any position issues a request. The position stays.
 */
void bio_reader_drop(struct bio_reader *r);
/** The current position. */
uint64_t bio_reader_tell(const struct bio_reader *r);
const struct bio_reader_stats *bio_reader_stats(const struct bio_reader *r);
/** One line of state and counters on @p f, for debugging. */
void bio_reader_dump(const struct bio_reader *r, FILE *f);

/*
 * The writer.
 */

/** Counters a writer keeps. dropped counts writers freed without close. */
struct bio_writer_stats {
	uint64_t sink_writes;	/**< sink write calls that took bytes */
	uint64_t sink_bytes;	/**< bytes the sink took */
	uint64_t bytes_copied;	/**< bytes memcpy'd into the buffer */
	uint64_t bypass_writes;	/**< writes sent straight from the caller's memory */
	uint64_t errors;	/**< sink errors seen (each reported once) */
	uint64_t dropped;	/**< writers freed without close (also logged on stderr) */
};

struct bio_writer;

/**
 * A writer into @p snk (not owned) with a @p buf_size byte buffer (0: the default).
 * @p stats: where counters go, shared and outliving the writer (so that a drop is still
 * counted after the free); NULL: the writer's own.
 */
struct bio_writer *bio_writer_create(struct bio_sink *snk, size_t buf_size,
				     struct bio_writer_stats *stats);
/**
 * Free; a writer not closed is reported (stats->dropped and a line on stderr) after one
 * attempt to flush what it still holds, so nothing goes silently.
 */
void bio_writer_free(struct bio_writer *w);

/**
 * Take @p len bytes. Small writes are buffered; a write of at least the buffer's size goes
 * straight to the sink once the buffer is out. Returns the count taken: short when the sink
 * failed part way (the failure then waits for flush or close). -ECANCELED when a failure is
 * pending and nothing was taken; -EBADF after close.
 */
ssize_t bio_writer_write(struct bio_writer *w, const void *buf, size_t len);
/**
 * Send everything buffered and flush the sink. Returns 0, or the pending failure: each sink
 * error is returned exactly once, by the first flush or close after it. Bytes the sink did
 * not take stay buffered, so a later flush retries them.
 */
int bio_writer_flush(struct bio_writer *w);
/** Flush, then close the sink. 0 means the sink acknowledged every byte written. */
int bio_writer_close(struct bio_writer *w);
/** Bytes written and acknowledged by a successful flush or close so far. */
uint64_t bio_writer_acked(const struct bio_writer *w);
const struct bio_writer_stats *bio_writer_stats(const struct bio_writer *w);
void bio_writer_dump(const struct bio_writer *w, FILE *f);

#endif /* BIO_BIO_H */
