/* SPDX-License-Identifier: MIT */
/*
 * impair_spec.c - the setting impair=SPEC -> struct dpk_impair_spec for one side. Read by
 * settings.c (a DPDK side's create and check) and by the harness (`tcplab run --impair`, the
 * scenario's `impair` directive), so the one grammar lives here (stack/dpdk/README.md):
 *
 *   SPEC := PART (';' PART)*
 *   PART := seed=N | [engine: | sut:] [tx: | rx:] KIND (',' KIND)*
 *   KIND := loss=P% | loss=ge(p=P%,r=P%[,h=P%][,k=P%]) | dup=P% | corrupt=P%
 *         | reorder=P%/N | delay=TIME[~TIME] | rate=Nbit|Nkbit|Nmbit|Ngbit[/BYTES]
 *         | rate=Nfps[/FRAMES]
 *
 * A part with no side is for both sides, with no direction for both directions. A kind
 * given twice for one side and direction is refused (rate: once per unit, bits and frames).
 * No DPDK here: the harness links this file alone.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impair.h"

#define N_ROLES 2

enum kind {
	K_LOSS, K_DUP, K_CORRUPT, K_REORDER, K_DELAY, K_RATE_BITS, K_RATE_FRAMES, K__COUNT,
};

/* What a part applies to, and what was set where (a kind given twice is refused). */
struct parse {
	struct dpk_impair_spec spec[N_ROLES];	/* by enum tl_role */
	unsigned int seen[N_ROLES][DPK_IMPAIR__DIRS];
	bool side[N_ROLES];
	bool dir[DPK_IMPAIR__DIRS];
	const char *item;			/* the KIND being read, for messages */
	bool seed_seen;
	char *err;
	size_t len;
};

const char *dpk_quote(char *buf, size_t len, const char *text)
{
	size_t n = 0;

	if (len == 0)
		return buf;
	for (; *text != '\0' && n + 5 < len; text++) {
		unsigned char c = (unsigned char)*text;

		if (c >= 0x20 && c != 0x7f)
			buf[n++] = (char)c;
		else if (c == '\n' || c == '\t')
			n += (size_t)snprintf(buf + n, len - n, "\\%c", c == '\n' ? 'n' : 't');
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
	}
	buf[n < len ? n : len - 1] = '\0';
	return buf;
}

static int bad(struct parse *ps, const char *what)
{
	char q[DPK_IMPAIR_SPEC_MAX];

	snprintf(ps->err, ps->len, "'%s': %s", dpk_quote(q, sizeof(q), ps->item), what);
	return -EINVAL;
}

/* A decimal number as the scenario language's NUMBER (digits and one '.': no sign, space,
 * exponent or hex), and where it ends. */
static int number(const char *s, double *v, const char **end)
{
	const char *p = s;
	char *e;

	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	if (p == s)
		return -EINVAL;
	*v = strtod(s, &e);
	if (e != p || !isfinite(*v))
		return -EINVAL;
	*end = e;
	return 0;
}

/* P% in [0%, 100%] as a probability */
static int pct(const char *s, size_t n, double *p)
{
	const char *end;
	double v;

	if (number(s, &v, &end) < 0 || (size_t)(end - s) + 1 != n || *end != '%' || v > 100)
		return -EINVAL;
	*p = v / 100;
	return 0;
}

/* TIME: a number and ns, us, ms or s; at most 10 s */
static int duration(const char *s, size_t n, uint64_t *ns)
{
	static const struct { const char *unit; double scale; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
	};
	const char *end;
	unsigned int i;
	double v;

	if (number(s, &v, &end) < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].unit) == n - (size_t)(end - s) &&
		    strncmp(end, units[i].unit, n - (size_t)(end - s)) == 0) {
			v *= units[i].scale;
			if (v > (double)DPK_IMPAIR_DELAY_MAX_NS)
				return -EINVAL;
			*ns = (uint64_t)llround(v);
			return 0;
		}
	return -EINVAL;
}

/* An integer in [lo, hi], the whole of s[0..n) */
static int whole(const char *s, size_t n, unsigned long lo, unsigned long hi,
		 unsigned long *v)
{
	char buf[24], *e;

	if (n == 0 || n >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtoul(buf, &e, 10);
	return errno == 0 && *e == '\0' && *v >= lo && *v <= hi ? 0 : -EINVAL;
}

/* @p v's kind @p k onto every side and direction the part names; a second one is refused. */
static int set(struct parse *ps, enum kind k, const struct dpk_impair_dir_spec *v)
{
	unsigned int r, d;

	for (r = 0; r < N_ROLES; r++)
		for (d = 0; d < DPK_IMPAIR__DIRS; d++) {
			struct dpk_impair_dir_spec *ds = &ps->spec[r].dir[d];

			if (!ps->side[r] || !ps->dir[d])
				continue;
			if (ps->seen[r][d] & (1u << k)) {
				char q[DPK_IMPAIR_SPEC_MAX];

				snprintf(ps->err, ps->len, "'%s': given twice for %s%s",
					 dpk_quote(q, sizeof(q), ps->item),
					 r == TL_ROLE_CLIENT ? "the engine's " : "the SUT's ",
					 d == DPK_IMPAIR_TX ? "tx" : "rx");
				return -EINVAL;
			}
			ps->seen[r][d] |= 1u << k;
			ds->on = true;
			switch (k) {
			case K_LOSS:
				ds->loss = v->loss;
				ds->ge = v->ge;
				ds->ge_p = v->ge_p;
				ds->ge_r = v->ge_r;
				ds->ge_h = v->ge_h;
				ds->ge_k = v->ge_k;
				break;
			case K_DUP: ds->dup = v->dup; break;
			case K_CORRUPT: ds->corrupt = v->corrupt; break;
			case K_REORDER:
				ds->reorder = v->reorder;
				ds->reorder_n = v->reorder_n;
				break;
			case K_DELAY:
				ds->delay_ns = v->delay_ns;
				ds->jitter_ns = v->jitter_ns;
				break;
			case K_RATE_BITS:
				ds->rate_bps = v->rate_bps;
				ds->burst_bits = v->burst_bits;
				break;
			case K_RATE_FRAMES:
				ds->rate_fps = v->rate_fps;
				ds->burst_frames = v->burst_frames;
				break;
			case K__COUNT:
				break;
			}
		}
	return 0;
}

/* ge(p=P%,r=P%[,h=P%][,k=P%]): h, k default 0% and 100% (Gilbert's: the bad state loses
 * every frame, the good none) */
static int gilbert_elliott(struct parse *ps, const char *s, size_t n,
			   struct dpk_impair_dir_spec *v)
{
	static const char *const want = "expected ge(p=P%,r=P%[,h=P%][,k=P%])";
	double *field[] = { &v->ge_p, &v->ge_r, &v->ge_h, &v->ge_k };
	unsigned int seen = 0;
	const char *p = s + 3, *e;

	if (n < 4 || strncmp(s, "ge(", 3) != 0 || s[n - 1] != ')')
		return bad(ps, want);
	v->ge = true;
	v->ge_k = 1;
	for (; p < s + n - 1; p = e + 1) {
		const char *names = "prhk", *c;

		e = memchr(p, ',', (size_t)(s + n - 1 - p));
		if (e == NULL)
			e = s + n - 1;
		c = e - p > 2 && p[1] == '=' ? strchr(names, p[0]) : NULL;
		if (c == NULL || *c == '\0' || (seen & (1u << (c - names))) ||
		    pct(p + 2, (size_t)(e - p - 2), field[c - names]) < 0)
			return bad(ps, want);
		seen |= 1u << (c - names);
	}
	return (seen & 3u) == 3u ? 0 : bad(ps, "ge( needs p= and r=, e.g. ge(p=1%,r=25%)");
}

/* rate=N(bit|kbit|mbit|gbit|fps)[/BURST]: bytes for a bit rate, frames for fps. The default
 * depth is 10 ms at the rate, and at least one 9000-byte frame (one frame for fps). */
static int rate(struct parse *ps, const char *s, size_t n)
{
	static const struct { const char *unit; double scale; } units[] = {
		{ "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 }, { "fps", 1 },
	};
	struct dpk_impair_dir_spec v = { 0 };
	const char *end, *slash = memchr(s, '/', n);
	size_t un;
	unsigned long burst = 0;
	unsigned int i;
	double r;

	if (number(s, &r, &end) < 0 || r <= 0)
		goto err;
	un = (size_t)((slash ? slash : s + n) - end);
	if (slash != NULL && whole(slash + 1, (size_t)(s + n - slash - 1), 1, 1ul << 30,
				   &burst) < 0)
		goto err;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].unit) != un || strncmp(end, units[i].unit, un) != 0)
			continue;
		if (i == 4) {
			v.rate_fps = r;
			v.burst_frames = burst ? (double)burst : fmax(1, floor(r / 100));
			return set(ps, K_RATE_FRAMES, &v);
		}
		v.rate_bps = r * units[i].scale;
		v.burst_bits = burst ? 8.0 * (double)burst : fmax(8 * 9014, v.rate_bps / 100);
		return set(ps, K_RATE_BITS, &v);
	}
err:
	return bad(ps, "expected rate=Nkbit|Nmbit|Ngbit|Nbit[/BYTES] or rate=Nfps[/FRAMES]");
}

/* reorder=P%/N */
static int reorder(struct parse *ps, const char *s, size_t n)
{
	struct dpk_impair_dir_spec v = { 0 };
	const char *slash = memchr(s, '/', n);
	unsigned long k;

	if (slash == NULL || pct(s, (size_t)(slash - s), &v.reorder) < 0 ||
	    whole(slash + 1, (size_t)(s + n - slash - 1), 1, DPK_IMPAIR_REORDER_MAX, &k) < 0)
		return bad(ps, "expected reorder=P%/N, N from 1 to 64 (the frames it waits "
			   "behind)");
	v.reorder_n = (unsigned int)k;
	return set(ps, K_REORDER, &v);
}

/* delay=TIME[~TIME] */
static int delay(struct parse *ps, const char *s, size_t n)
{
	struct dpk_impair_dir_spec v = { 0 };
	const char *tilde = memchr(s, '~', n);

	if (duration(s, tilde ? (size_t)(tilde - s) : n, &v.delay_ns) < 0 ||
	    (tilde && duration(tilde + 1, (size_t)(s + n - tilde - 1), &v.jitter_ns) < 0))
		return bad(ps, "expected delay=TIME[~TIME], TIME a number and ns, us, ms or s "
			   "(at most 10s), e.g. delay=5ms~1ms");
	return set(ps, K_DELAY, &v);
}

static int probability(struct parse *ps, enum kind k, const char *s, size_t n)
{
	struct dpk_impair_dir_spec v = { 0 };
	double p;

	if (pct(s, n, &p) < 0)
		return bad(ps, "expected P% from 0% to 100%, e.g. 1% or 0.5%");
	if (k == K_LOSS)
		v.loss = p;
	else if (k == K_DUP)
		v.dup = p;
	else
		v.corrupt = p;
	return set(ps, k, &v);
}

/* One KIND=VALUE of a part. */
static int kind(struct parse *ps, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	size_t kl = eq ? (size_t)(eq - s) : n, vl = eq ? n - kl - 1 : 0;
	const char *v = s + kl + 1;
	struct dpk_impair_dir_spec ge = { 0 };

	if (eq == NULL || vl == 0)
		return bad(ps, "expected KIND=VALUE (KIND one of loss, dup, corrupt, reorder, "
			   "delay, rate)");
	if (kl == 4 && strncmp(s, "loss", 4) == 0)
		return strncmp(v, "ge(", 3) == 0 ? (gilbert_elliott(ps, v, vl, &ge) ?:
						    set(ps, K_LOSS, &ge))
						 : probability(ps, K_LOSS, v, vl);
	if (kl == 3 && strncmp(s, "dup", 3) == 0)
		return probability(ps, K_DUP, v, vl);
	if (kl == 7 && strncmp(s, "corrupt", 7) == 0)
		return probability(ps, K_CORRUPT, v, vl);
	if (kl == 7 && strncmp(s, "reorder", 7) == 0)
		return reorder(ps, v, vl);
	if (kl == 5 && strncmp(s, "delay", 5) == 0)
		return delay(ps, v, vl);
	if (kl == 4 && strncmp(s, "rate", 4) == 0)
		return rate(ps, v, vl);
	return bad(ps, "unknown kind (valid: loss, dup, corrupt, reorder, delay, rate; "
		   "a part may start with engine: or sut:, then tx: or rx:)");
}

/* A prefix word and ':' at *s: moves past it and returns true. */
static bool prefix(char **s, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(*s, word, n) != 0 || (*s)[n] != ':')
		return false;
	*s += n + 1;
	return true;
}

static int seed(struct parse *ps, char *part)
{
	unsigned long long v;
	char *e;

	ps->item = part;
	errno = 0;
	v = strtoull(part + 5, &e, 10);
	if (ps->seed_seen)
		return bad(ps, "seed given twice");
	if (part[5] < '0' || part[5] > '9' || *e != '\0' || errno != 0)
		return bad(ps, "expected seed=N, a decimal integer");
	ps->seed_seen = true;
	ps->spec[0].seed = ps->spec[1].seed = v;
	return 0;
}

/* [SIDE:][DIR:]KIND(,KIND)*, commas inside ge(...) not splitting */
static int part(struct parse *ps, char *s)
{
	bool engine = prefix(&s, "engine"), sut = !engine && prefix(&s, "sut");
	bool tx = prefix(&s, "tx"), rx = !tx && prefix(&s, "rx");
	char *k = s;
	int depth = 0, r = 0;

	ps->side[TL_ROLE_CLIENT] = !sut;
	ps->side[TL_ROLE_SERVER] = !engine;
	ps->dir[DPK_IMPAIR_TX] = !rx;
	ps->dir[DPK_IMPAIR_RX] = !tx;
	for (; r == 0; s++) {
		depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
		if (*s != '\0' && (*s != ',' || depth > 0))
			continue;
		ps->item = k;
		if (s == k) {
			ps->item = "";
			return bad(ps, "an empty kind (expected KIND=VALUE)");
		}
		ps->item = strndup(k, (size_t)(s - k));
		r = ps->item ? kind(ps, k, (size_t)(s - k)) : -ENOMEM;
		free((char *)ps->item);
		if (*s == '\0')
			break;
		k = s + 1;
	}
	return r;
}

int dpk_impair_parse(struct dpk_impair_spec *s, const char *text, enum tl_role role,
		     char *err, size_t len)
{
	struct parse ps = { .err = err, .len = len };
	char buf[DPK_IMPAIR_SPEC_MAX], *p, *save = NULL;
	int r = 0;

	if (strlen(text) >= sizeof(buf) || text[0] == '\0') {
		snprintf(err, len, "expected a spec of 1 to %d characters, e.g. "
			 "tx:loss=1%%,delay=5ms~1ms;rx:dup=0.5%%;seed=7", DPK_IMPAIR_SPEC_MAX - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	ps.spec[0].seed = ps.spec[1].seed = 1;
	if (buf[0] == ';' || buf[strlen(buf) - 1] == ';' || strstr(buf, ";;") != NULL) {
		char q[DPK_IMPAIR_SPEC_MAX];

		snprintf(err, len, "'%s': an empty part between ';'", dpk_quote(q, sizeof(q), text));
		return -EINVAL;
	}
	for (p = strtok_r(buf, ";", &save); p != NULL && r == 0; p = strtok_r(NULL, ";", &save))
		r = strncmp(p, "seed=", 5) == 0 ? seed(&ps, p) : part(&ps, p);
	if (r == 0)
		*s = ps.spec[role];
	return r;
}

bool dpk_impair_on(const struct dpk_impair_spec *s)
{
	return s->dir[DPK_IMPAIR_TX].on || s->dir[DPK_IMPAIR_RX].on;
}
