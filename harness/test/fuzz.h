/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - the fuzz kit of the fuzz drivers (suite 'fuzz'): a seeded, deterministic mutator
 * over a seed corpus, no external fuzzer. Test code only, header-only (the drivers of
 * harness/, stack/bio/ and stack/dpdk/ include it).
 *
 * A driver has a table of targets; a target takes one input (bytes, any content) and
 * returns NULL when the parser accepted it, or the parser's error text when it refused it.
 * The kit checks every refusal's text: non-empty, one line (no '\n' or '\r' inside). A
 * crash, an out-of-bounds access or undefined behaviour is the sanitizers' to catch (the
 * suite runs under ASan+UBSan, ci/test.sh); a leak is LeakSanitizer's at exit, and every
 * FZ_LEAK_EVERY inputs where the build has LSan.
 *
 * Input i of a target is a function of (seed, i) alone, so one input is rerun alone:
 *   DRIVER                      every target, FZ_DEFAULT_N inputs each (FUZZ_N=, FUZZ_SEED=)
 *   DRIVER TARGET               one target
 *   FUZZ_ONE=I DRIVER TARGET    input I only; it is also written to fuzz-TARGET-I.in
 *   DRIVER TARGET FILE...       the target on these files (a corpus, a saved input)
 * A failing input (a check here, or a sanitizer's report through its death callback) is
 * written to fuzz-TARGET-I.in in the working directory, with the line to rerun it.
 */
#ifndef HX_FUZZ_H
#define HX_FUZZ_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_INPUT 8192	/* longest input the mutator makes */
#define FZ_MAX_SEEDS 512
#define FZ_DEFAULT_SEED 20261205u
#define FZ_LEAK_EVERY 5000

struct fz_target {
	const char *name;
	/* NULL: accepted; else the error text of the refusal */
	const char *(*run)(const uint8_t *data, size_t len);
	const char *const *seeds;	/* built-in seeds, NULL-terminated (or NULL) */
	const char *seed_dir;		/* files of seeds: a directory (or NULL) ... */
	const char *seed_ext;		/* ... its files ending so (NULL: every file) */
	const char *const *dict;	/* the grammar's words, NULL-terminated */
	unsigned long n;		/* inputs (0: FZ_DEFAULT_N) */
};

#ifndef FZ_DEFAULT_N
#define FZ_DEFAULT_N 100000ul
#endif

/* Sanitizer hooks, where the build has them (weak: absent in a plain build). */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

struct fz_seed {
	uint8_t *data;
	size_t len;
};

static struct {
	const struct fz_target *t;
	unsigned long iter;
	unsigned long long seed;
	const uint8_t *in;
	size_t len;
	struct fz_seed seeds[FZ_MAX_SEEDS];
	unsigned int n_seeds;
	unsigned long refused;
	const char *file;	/* the input's file (DRIVER TARGET FILE...), else NULL */
} fz;

static inline uint64_t fz_mix(uint64_t x)	/* splitmix64's finaliser */
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct fz_rng {
	uint64_t s;
};

static inline uint64_t fz_next(struct fz_rng *r)
{
	r->s = fz_mix(r->s);
	return r->s;
}

/* 0 .. n-1 (n > 0) */
static inline size_t fz_below(struct fz_rng *r, size_t n)
{
	return (size_t)(fz_next(r) % n);
}

static void fz_save(const char *why)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "fuzz-%s-%lu.in", fz.t ? fz.t->name : "x", fz.iter);
	f = fz.file != NULL ? NULL : fopen(path, "wb");
	if (f != NULL) {
		fwrite(fz.in, 1, fz.len, f);
		fclose(f);
	}
	if (fz.file != NULL)
		fprintf(stderr, "fuzz: %s: target %s, file %s\n", why, fz.t ? fz.t->name : "?",
			fz.file);
	else
		fprintf(stderr, "fuzz: %s: target %s, input %lu of seed %llu (%zu bytes) written "
			"to %s; rerun: FUZZ_SEED=%llu FUZZ_ONE=%lu DRIVER %s\n", why,
			fz.t ? fz.t->name : "?", fz.iter, fz.seed, fz.len, path, fz.seed, fz.iter,
			fz.t ? fz.t->name : "?");
}

/* A check of a driver's own failed on the current input: save it and stop. */
static inline void fz_abort(const char *why)
{
	if (fz.in != NULL)
		fz_save(why);
	abort();
}

static void fz_died(void)
{
	if (fz.in != NULL)
		fz_save("sanitizer report");
}

static void fz_add_seed(const void *data, size_t len)
{
	struct fz_seed *s;

	if (fz.n_seeds == FZ_MAX_SEEDS)
		return;
	if (len > FZ_MAX_INPUT)
		len = FZ_MAX_INPUT;
	s = &fz.seeds[fz.n_seeds];
	s->data = malloc(len ? len : 1);
	if (s->data == NULL)
		return;
	memcpy(s->data, data, len);
	s->len = len;
	fz.n_seeds++;
}

static int fz_read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0, got;
	uint8_t *b = malloc(cap), *nb;

	if (f == NULL || b == NULL) {
		if (f != NULL)
			fclose(f);
		free(b);
		return -1;
	}
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			nb = realloc(b, cap * 2);
			if (nb == NULL)
				break;
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*data = b;
	*len = n;
	return 0;
}

static void fz_load_dir(const char *dir, const char *ext)
{
	struct dirent **names;
	char path[4096];
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t l = strlen(nm), el = ext ? strlen(ext) : 0;
		uint8_t *d;
		size_t len;

		if (nm[0] != '.' && (ext == NULL || (l > el && strcmp(nm + l - el, ext) == 0))) {
			snprintf(path, sizeof(path), "%s/%s", dir, nm);
			if (fz_read_file(path, &d, &len) == 0) {
				fz_add_seed(d, len);
				free(d);
			}
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* Mutations: each edits buf[0, *len) in place, within cap bytes. */
static void fz_insert(uint8_t *buf, size_t *len, size_t cap, size_t at, const void *s,
		      size_t n)
{
	if (*len + n > cap)
		n = cap - *len;
	memmove(buf + at + n, buf + at, *len - at);
	memcpy(buf + at, s, n);
	*len += n;
}

static void fz_mutate_once(struct fz_rng *r, uint8_t *buf, size_t *len, size_t cap,
			   const char *const *dict)
{
	static const char *const bytes[] = {
		"\n", "\r\n", "\0", " ", "\t", "#", "=", ":", ",", ";", "%", "/", "-", "~", "(",
		")", "{", "}", "$", "\"", ".", "*", "\xff", "0", "1", "9", "18446744073709551615",
		"99999999999999999999", "4294967296", "-1", "1e308", "0.000001", "nan",
	};
	size_t n_dict = 0, at, n, k;
	const char *w;
	uint8_t tmp[64];

	while (dict != NULL && dict[n_dict] != NULL)
		n_dict++;
	at = fz_below(r, *len + 1);
	switch (fz_below(r, 11)) {
	case 0:		/* flip a bit */
		if (*len)
			buf[at % *len] ^= (uint8_t)(1u << fz_below(r, 8));
		break;
	case 1:		/* a random byte */
		if (*len)
			buf[at % *len] = (uint8_t)fz_next(r);
		break;
	case 2:		/* insert random bytes */
		n = 1 + fz_below(r, 8);
		for (k = 0; k < n; k++)
			tmp[k] = (uint8_t)fz_next(r);
		fz_insert(buf, len, cap, at, tmp, n);
		break;
	case 3:		/* delete a range */
		if (at < *len) {
			n = 1 + fz_below(r, *len - at < 32 ? *len - at : 32);
			memmove(buf + at, buf + at + n, *len - at - n);
			*len -= n;
		}
		break;
	case 4:		/* duplicate a range */
		if (at < *len) {
			n = 1 + fz_below(r, *len - at < 64 ? *len - at : 64);
			memcpy(tmp, buf + at, n);
			fz_insert(buf, len, cap, fz_below(r, *len + 1), tmp, n);
		}
		break;
	case 5:		/* splice: a piece of another seed */
		if (fz.n_seeds) {
			const struct fz_seed *s = &fz.seeds[fz_below(r, fz.n_seeds)];

			if (s->len) {
				k = fz_below(r, s->len);
				n = 1 + fz_below(r, s->len - k < 256 ? s->len - k : 256);
				fz_insert(buf, len, cap, at, s->data + k, n);
			}
		}
		break;
	case 6:		/* truncate */
		*len = at;
		break;
	case 7:		/* a grammar word inserted */
	case 8:		/* a grammar word over a word of the input */
		if (n_dict == 0)
			break;
		w = dict[fz_below(r, n_dict)];
		if (fz_below(r, 2) == 0 && at < *len) {
			size_t e = at;	/* replace the token at @at */

			while (e < *len && buf[e] > ' ')
				e++;
			memmove(buf + at, buf + e, *len - e);
			*len -= e - at;
		}
		fz_insert(buf, len, cap, at, w, strlen(w));
		break;
	case 9:		/* a byte the grammars care about, or a boundary number */
		w = bytes[fz_below(r, sizeof(bytes) / sizeof(bytes[0]))];
		fz_insert(buf, len, cap, at, w, w[0] ? strlen(w) : 1);
		break;
	default:	/* swap two lines (or the halves) */
		if (*len > 1) {
			uint8_t *nl = memchr(buf + at % *len, '\n', *len - at % *len);
			size_t cut = nl ? (size_t)(nl - buf) + 1 : *len / 2, rest = *len - cut;
			uint8_t *t2 = malloc(*len);

			if (t2 != NULL) {
				memcpy(t2, buf + cut, rest);
				memcpy(t2 + rest, buf, cut);
				memcpy(buf, t2, *len);
				free(t2);
			}
		}
		break;
	}
}

/* Input @i of target @t into buf (FZ_MAX_INPUT bytes): a seed, mutated 1 to 8 times. */
static size_t fz_make(const struct fz_target *t, unsigned long i, uint8_t *buf)
{
	struct fz_rng r = { fz_mix(fz.seed ^ fz_mix(i)) };
	size_t len = 0;
	unsigned int k, n;

	if (fz.n_seeds) {
		const struct fz_seed *s = &fz.seeds[i < fz.n_seeds ? i : fz_below(&r, fz.n_seeds)];

		memcpy(buf, s->data, s->len);
		len = s->len;
		if (i < fz.n_seeds)
			return len;	/* every seed once as it is */
	}
	n = 1 + (unsigned int)fz_below(&r, 8);
	for (k = 0; k < n; k++)
		fz_mutate_once(&r, buf, &len, FZ_MAX_INPUT, t->dict);
	return len;
}

/* One input through the target, and the check of a refusal's text. 0 or 1 (failed). */
static int fz_one(const struct fz_target *t, unsigned long i, const uint8_t *in, size_t len)
{
	const char *err;

	fz.iter = i;
	fz.in = in;
	fz.len = len;
	err = t->run(in, len);
	fz.refused += err != NULL;
	if (err != NULL && (err[0] == '\0' || strchr(err, '\n') || strchr(err, '\r'))) {
		fprintf(stderr, "fuzz: %s: error text not one non-empty line: \"", t->name);
		for (; *err; err++)
			fprintf(stderr, *err == '\n' ? "\\n" : *err == '\r' ? "\\r" : "%c", *err);
		fprintf(stderr, "\"\n");
		fz_save("bad error text");
		fz.in = NULL;
		return 1;
	}
	fz.in = NULL;
	return 0;
}

static void fz_free_seeds(void)
{
	while (fz.n_seeds)
		free(fz.seeds[--fz.n_seeds].data);
}

static int fz_target_run(const struct fz_target *t, char **files, int n_files)
{
	static uint8_t buf[FZ_MAX_INPUT];
	const char *one = getenv("FUZZ_ONE"), *nv = getenv("FUZZ_N");
	unsigned long n = nv ? strtoul(nv, NULL, 10) : t->n ? t->n : FZ_DEFAULT_N, i;
	int failed = 0, f;

	fz.t = t;
	fz.refused = 0;
	if (n_files > 0) {
		for (f = 0; f < n_files; f++) {
			uint8_t *d;
			size_t len;

			if (fz_read_file(files[f], &d, &len) < 0) {
				fprintf(stderr, "fuzz: %s: cannot read\n", files[f]);
				return 1;
			}
			fz.file = files[f];
			failed |= fz_one(t, (unsigned long)f, d, len);
			fz.file = NULL;
			free(d);
		}
		return failed;
	}
	for (i = 0; t->seeds != NULL && t->seeds[i] != NULL; i++)
		fz_add_seed(t->seeds[i], strlen(t->seeds[i]));
	if (t->seed_dir != NULL)
		fz_load_dir(t->seed_dir, t->seed_ext);
#ifdef FZ_CORPUS	/* the driver's regression inputs: FZ_CORPUS/TARGET/ * */
	{
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/%s", FZ_CORPUS, t->name);
		fz_load_dir(dir, NULL);
	}
#endif
	if (one != NULL) {
		i = strtoul(one, NULL, 10);
		fz.len = fz_make(t, i, buf);
		fz.in = buf;
		fz.iter = i;
		fz_save("input");
		fz.in = NULL;
		failed = fz_one(t, i, buf, fz_make(t, i, buf));
	} else {
		for (i = 0; i < n && !failed; i++) {
			failed = fz_one(t, i, buf, fz_make(t, i, buf));
			if (__lsan_do_recoverable_leak_check && (i + 1) % FZ_LEAK_EVERY == 0 &&
			    __lsan_do_recoverable_leak_check()) {
				fprintf(stderr, "fuzz: %s: a leak in inputs %lu to %lu (seed %llu); "
					"FUZZ_ONE=I reruns one\n", t->name,
					i + 1 - FZ_LEAK_EVERY, i, fz.seed);
				failed = 1;
			}
		}
		printf("%s %s: %lu inputs (%lu refused, %u seeds), seed %llu\n",
		       failed ? "FAIL" : "ok  ", t->name, i, fz.refused, fz.n_seeds, fz.seed);
	}
	fz_free_seeds();
	return failed;
}

/* main() of a driver: argv as described at the top. */
/*
 * libFuzzer's entry (-DHX_LIBFUZZER): @p data through the target FUZZ_TARGET names, or
 * through every one; a rejected input's error must be one non-empty line, else abort.
 */
static inline int fz_libfuzzer(const struct fz_target *targets, unsigned int n,
			       const uint8_t *data, size_t size)
{
	const char *name = getenv("FUZZ_TARGET"), *e;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (name == NULL || strcmp(name, targets[i].name) == 0) {
			e = targets[i].run(data, size);
			if (e != NULL && (e[0] == '\0' || strchr(e, '\n') || strchr(e, '\r')))
				abort();
			if (name != NULL)
				break;
		}
	return 0;
}

static inline int fz_main(const struct fz_target *t, unsigned int n_t, int argc, char **argv)
{
	const char *sv = getenv("FUZZ_SEED");
	unsigned int i, ran = 0;
	int failed = 0;

	fz.seed = sv ? strtoull(sv, NULL, 10) : FZ_DEFAULT_SEED;
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(fz_died);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n_t; i++) {
		if (argc >= 2 && strcmp(argv[1], t[i].name) != 0)
			continue;
		ran++;
		failed |= fz_target_run(&t[i], argv + 2, argc > 2 ? argc - 2 : 0);
	}
	if (ran == 0) {
		fprintf(stderr, "no target named %s\n", argv[1]);
		return 1;
	}
	return failed;
}

#endif /* HX_FUZZ_H */
