/* SPDX-License-Identifier: MIT */
/*
 * scenario.c - parser for the scenario language (scenarios/README.md). One pass over the
 * lines: top-level directives fill struct hx_scenario, the client block compiles to hx_op
 * entries (each step parsed by its entry in the step table, lang.h), checks are validated
 * against the metric table. Sizes, times and numbers are read by lang.c's one grammar.
 * Overrides (--set) replace a directive's or a param's value before it is parsed, so an
 * override is checked exactly like the file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "programs.h"
#include "scenario.h"

#define MAX_TOKENS 8
#define MAX_DEPTH 8

enum block {
	BLOCK_CLIENT,
	BLOCK_REPEAT,
	BLOCK_MEASURE,
};

struct parser {
	struct hx_scenario *sc;
	const char *path;
	unsigned int line;
	const struct hx_override *ov;
	unsigned int n_ov;
	bool ov_used[64];
	char *err;
	size_t errlen;
	/* block stack while inside client { ... } */
	enum block blocks[MAX_DEPTH];
	unsigned int block_op[MAX_DEPTH];	/* op index of the loop head */
	unsigned int block_line[MAX_DEPTH];
	unsigned int depth;
	bool in_client;
	bool seen_client;
	bool seen_program;
	unsigned int pacing_line;
};

static const char *const directives =
	"description, program, conns, duration, warmup, pacing, nodelay, impair, param, client, "
	"check";
static const char *const override_keys =
	"conns, duration, warmup, rate, program, nodelay, impair";

static int fail(struct parser *p, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (p->line > 0)
		n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->path, p->line);
	else
		n = (size_t)snprintf(p->err, p->errlen, "%s: ", p->path);
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* ---- overrides ---- */

static const char *override_for(struct parser *p, const char *key)
{
	unsigned int i;

	for (i = 0; i < p->n_ov; i++) {
		if (strcmp(p->ov[i].key, key) == 0) {
			p->ov_used[i] = true;
			return p->ov[i].value;
		}
	}
	return NULL;
}

static const struct hx_param *param_find(const struct hx_scenario *sc, const char *name)
{
	unsigned int i;

	for (i = 0; i < sc->n_params; i++)
		if (strcmp(sc->params[i].name, name) == 0)
			return &sc->params[i];
	return NULL;
}

/* A step argument: a literal, or $name of a param declared above. */
static int resolve(struct parser *p, const char *tok, const char **value)
{
	const struct hx_param *prm;

	if (tok[0] != '$') {
		*value = tok;
		return 0;
	}
	prm = param_find(p->sc, tok + 1);
	if (prm == NULL)
		return fail(p, "unknown param '%s' (declare it above with 'param %s VALUE')",
			    tok, tok + 1);
	*value = prm->value;
	return 0;
}

/* ---- directives ---- */

static int set_program(struct parser *p, const char *v)
{
	char names[HX_TEXT_MAX];

	if (hx_program_find(v) == NULL) {
		hx_program_names(names, sizeof(names));
		return fail(p, "unknown program '%s' (valid: %s)", v, names);
	}
	snprintf(p->sc->program, sizeof(p->sc->program), "%s", v);
	p->seen_program = true;
	return 0;
}

static int set_conns(struct parser *p, const char *v)
{
	uint64_t n;

	if (hx_lang_parse_count(v, 1, 100000, &n) < 0)
		return fail(p, "conns: '%s' is not a count from 1 to 100000", v);
	p->sc->conns = (unsigned int)n;
	return 0;
}

static int set_time(struct parser *p, const char *what, const char *v, int64_t *ns)
{
	if (hx_lang_parse_time(v, ns) < 0)
		return fail(p, "%s: '%s' is not a time (e.g. 10s, 500ms, 100us)", what, v);
	return 0;
}

static int set_rate(struct parser *p, const char *v)
{
	if (hx_lang_parse_decimal(v, &p->sc->rate) < 0 || p->sc->rate <= 0 || p->sc->rate > 1e9)
		return fail(p, "rate: '%s' is not a rate in transactions/s (e.g. 10000, 10k)", v);
	p->sc->pacing = HX_PACING_OPEN;
	return 0;
}

/* impair SPEC: checked for both sides here, so a bad spec is this line's error; the run
 * hands it to the DPDK sides it names (stack/dpdk/impair_spec.c has the grammar) */
static int set_impair(struct parser *p, const char *v)
{
	struct dpk_impair_spec s;
	char err[256];

	if (dpk_impair_parse(&s, v, TL_ROLE_CLIENT, err, sizeof(err)) < 0 ||
	    dpk_impair_parse(&s, v, TL_ROLE_SERVER, err, sizeof(err)) < 0)
		return fail(p, "impair: %s", err);
	snprintf(p->sc->impair, sizeof(p->sc->impair), "%s", v);
	return 0;
}

static int set_nodelay(struct parser *p, const char *v)
{
	if (parse_bool(v, &p->sc->nodelay) < 0)
		return fail(p, "nodelay: '%s' is not on or off", v);
	return 0;
}

static int parse_pacing(struct parser *p, char **tok, unsigned int n)
{
	if (n == 2 && strcmp(tok[1], "closed") == 0) {
		p->sc->pacing = HX_PACING_CLOSED;
		return 0;
	}
	if (n == 3 && strcmp(tok[1], "open") == 0) {
		p->pacing_line = p->line;
		return set_rate(p, tok[2]);
	}
	return fail(p, "pacing: expected 'closed' or 'open RATE' (e.g. 'pacing open 10k')");
}

static int parse_param(struct parser *p, char **tok, unsigned int n)
{
	struct hx_scenario *sc = p->sc;
	struct hx_param *prm;
	const char *v;

	if (n != 3)
		return fail(p, "param: expected 'param NAME VALUE'");
	if (param_find(sc, tok[1]) != NULL)
		return fail(p, "param '%s' declared twice", tok[1]);
	if (sc->n_params == HX_MAX_PARAMS)
		return fail(p, "more than %d params", HX_MAX_PARAMS);
	if (strlen(tok[1]) >= HX_NAME_MAX || strlen(tok[2]) >= HX_NAME_MAX)
		return fail(p, "param: name or value longer than %d characters", HX_NAME_MAX - 1);
	v = override_for(p, tok[1]);
	prm = &sc->params[sc->n_params++];
	snprintf(prm->name, sizeof(prm->name), "%s", tok[1]);
	snprintf(prm->value, sizeof(prm->value), "%s", v != NULL ? v : tok[2]);
	prm->line = p->line;
	return 0;
}

static int parse_check(struct parser *p, char **tok, unsigned int n)
{
	static const char *const ops[] = { "<", "<=", ">", ">=", "==" };
	struct hx_scenario *sc = p->sc;
	const struct hx_metric *mt;
	struct hx_check *c;
	char names[HX_ERR_MAX / 2];
	const char *v;
	unsigned int i;
	int64_t ns;
	int r;

	if (n != 4)
		return fail(p, "check: expected 'check METRIC OP VALUE' (e.g. 'check p99 < 5ms')");
	r = resolve(p, tok[3], &v);
	if (r < 0)
		return r;
	mt = hx_lang_metric_find(tok[1]);
	if (mt == NULL) {
		hx_lang_metric_names(names, sizeof(names));
		return fail(p, "check: unknown metric '%s' (valid: %s)", tok[1], names);
	}
	if (sc->n_checks == HX_MAX_CHECKS)
		return fail(p, "more than %d checks", HX_MAX_CHECKS);
	c = &sc->checks[sc->n_checks];
	snprintf(c->metric, sizeof(c->metric), "%s", tok[1]);
	for (i = 0; i < 5; i++)
		if (strcmp(ops[i], tok[2]) == 0)
			break;
	if (i == 5)
		return fail(p, "check: unknown comparison '%s' (valid: <, <=, >, >=, ==)", tok[2]);
	c->cmp = (enum hx_cmp)i;
	if (mt->unit == HX_UNIT_NS) {
		if (hx_lang_parse_time(v, &ns) < 0 || !hx_lang_time_has_unit(v))
			return fail(p, "check: '%s' is not a latency with a unit (e.g. 5ms, 200us)",
				    v);
		c->limit = (double)ns;
	} else if (hx_lang_parse_decimal(v, &c->limit) < 0) {
		return fail(p, "check: '%s' is not a number (e.g. 0, 1000, 10k, 1.5g)", v);
	}
	snprintf(c->text, sizeof(c->text), "%s %s %s", tok[1], tok[2], v);
	c->line = p->line;
	sc->n_checks++;
	return 0;
}

/* ---- the client block ---- */

static struct hx_op *emit(struct parser *p, enum hx_opcode code, uint64_t arg)
{
	struct hx_scenario *sc = p->sc;
	struct hx_op *op;

	if (sc->n_ops == HX_MAX_OPS - 1) {	/* keep room for HX_OP_DONE */
		fail(p, "client script longer than %d steps", HX_MAX_OPS - 1);
		return NULL;
	}
	op = &sc->ops[sc->n_ops++];
	memset(op, 0, sizeof(*op));
	op->code = code;
	op->arg = arg;
	op->line = p->line;
	return op;
}

static int push_block(struct parser *p, enum block b)
{
	if (p->depth == MAX_DEPTH)
		return fail(p, "blocks nested deeper than %d", MAX_DEPTH);
	p->blocks[p->depth] = b;
	p->block_op[p->depth] = p->sc->n_ops;
	p->block_line[p->depth] = p->line;
	p->depth++;
	return 0;
}

static bool inside(const struct parser *p, enum block b)
{
	unsigned int i;

	for (i = 0; i < p->depth; i++)
		if (p->blocks[i] == b)
			return true;
	return false;
}

/* A block step's line, parsed into @p op (LOOP or MEASURE_BEGIN): open its block. */
static int open_block(struct parser *p, const struct hx_op *op)
{
	bool loop = op->code == HX_OP_LOOP;
	struct hx_op *o;

	if (loop && p->sc->n_loops == HX_MAX_LOOPS)
		return fail(p, "more than %d repeat blocks", HX_MAX_LOOPS);
	if (!loop && inside(p, BLOCK_MEASURE))
		return fail(p, "measure blocks cannot nest");
	if (push_block(p, loop ? BLOCK_REPEAT : BLOCK_MEASURE) < 0)
		return -EINVAL;
	o = emit(p, op->code, op->arg);
	if (o == NULL)
		return -EINVAL;
	if (loop)
		o->loop = p->sc->n_loops++;
	else
		p->sc->has_measure = true;
	return 0;
}

static int close_block(struct parser *p)
{
	struct hx_scenario *sc = p->sc;
	struct hx_op *head, *tail;

	if (p->depth == 0)
		return fail(p, "'}' without an open block");
	p->depth--;
	switch (p->blocks[p->depth]) {
	case BLOCK_CLIENT:
		p->in_client = false;
		if (sc->n_ops == 0)
			return fail(p, "client block has no steps");
		return emit(p, HX_OP_DONE, 0) ? 0 : -EINVAL;
	case BLOCK_MEASURE:
		return emit(p, HX_OP_MEASURE_END, 0) ? 0 : -EINVAL;
	case BLOCK_REPEAT:
		head = &sc->ops[p->block_op[p->depth]];
		if (sc->n_ops == p->block_op[p->depth] + 1)
			return fail(p, "repeat block opened at line %u has no steps",
				    p->block_line[p->depth]);
		tail = emit(p, HX_OP_NEXT, 0);
		if (tail == NULL)
			return -EINVAL;
		tail->jump = p->block_op[p->depth];
		tail->loop = head->loop;
		head->jump = sc->n_ops;
		return 0;
	}
	return -EINVAL;
}

/*
 * A step: its entry in the step table parses the words, $params resolved, into one op; a
 * block step opens its block.
 */
static int parse_step(struct parser *p, char **tok, unsigned int n)
{
	const char *words[MAX_TOKENS];
	char msg[HX_ERR_MAX / 2];
	struct hx_step_args a = { .w = words, .n = n, .err = msg, .errlen = sizeof(msg) };
	const struct hx_step *st;
	struct hx_op op = { 0 }, *o;
	unsigned int i;

	if (strcmp(tok[0], "}") == 0)
		return n == 1 ? close_block(p) : fail(p, "'}' must stand alone on its line");
	st = hx_lang_step_find(tok[0]);
	if (st == NULL) {
		hx_lang_step_names(msg, sizeof(msg));
		return fail(p, "unknown step '%s' (valid: %s, })", tok[0], msg);
	}
	for (i = 0; i < n; i++)
		if (resolve(p, tok[i], &words[i]) < 0)
			return -EINVAL;
	op.code = st->code;
	if (st->parse(st, &a, &op) < 0)
		return fail(p, "%s", msg);
	if (st->block)
		return open_block(p, &op);
	o = emit(p, op.code, op.arg);
	if (o == NULL)
		return -EINVAL;
	o->arg2 = op.arg2;
	o->arg3 = op.arg3;
	return 0;
}

/* ---- top level ---- */

static int directive_value(struct parser *p, char **tok, unsigned int n, const char **v)
{
	const char *o = override_for(p, tok[0]);

	if (n != 2)
		return fail(p, "%s: expected one value", tok[0]);
	*v = o != NULL ? o : tok[1];
	return 0;
}

static int parse_directive(struct parser *p, char **tok, unsigned int n)
{
	struct hx_scenario *sc = p->sc;
	const char *d = tok[0], *v;

	if (strcmp(d, "param") == 0)
		return parse_param(p, tok, n);
	if (strcmp(d, "check") == 0)
		return parse_check(p, tok, n);
	if (strcmp(d, "pacing") == 0)
		return parse_pacing(p, tok, n);
	if (strcmp(d, "client") == 0) {
		if (n != 2 || strcmp(tok[1], "{") != 0)
			return fail(p, "client: expected 'client {'");
		if (p->seen_client)
			return fail(p, "a second client block");
		p->in_client = p->seen_client = true;
		return push_block(p, BLOCK_CLIENT);
	}
	if (strcmp(d, "program") == 0)
		return directive_value(p, tok, n, &v) ?: set_program(p, v);
	if (strcmp(d, "conns") == 0)
		return directive_value(p, tok, n, &v) ?: set_conns(p, v);
	if (strcmp(d, "duration") == 0)
		return directive_value(p, tok, n, &v) ?: set_time(p, d, v, &sc->duration_ns);
	if (strcmp(d, "warmup") == 0)
		return directive_value(p, tok, n, &v) ?: set_time(p, d, v, &sc->warmup_ns);
	if (strcmp(d, "nodelay") == 0)
		return directive_value(p, tok, n, &v) ?: set_nodelay(p, v);
	if (strcmp(d, "impair") == 0)
		return directive_value(p, tok, n, &v) ?: set_impair(p, v);
	return fail(p, "unknown directive '%s' (valid: %s)", d, directives);
}

static unsigned int tokenize(char *line, char **tok, const char **rest)
{
	unsigned int n = 0;
	char *s = line;

	*rest = "";
	while (n < MAX_TOKENS) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		tok[n++] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (n == 1) {
			const char *r = s;

			while (isspace((unsigned char)*r))
				r++;
			*rest = r;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
	return n;
}

static int parse_description(struct parser *p, const char *line)
{
	const char *s = line;
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	s += strlen("description");
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return fail(p, "description: expected a one-line text");
	if (len >= sizeof(p->sc->description))
		return fail(p, "description longer than %zu characters",
			    sizeof(p->sc->description) - 1);
	memcpy(p->sc->description, s, len);
	p->sc->description[len] = '\0';
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *tok[MAX_TOKENS];
	const char *rest;
	unsigned int n;
	size_t skip = strspn(line, " \t");

	if (strlen(line) >= 1024)
		return fail(p, "line longer than 1023 characters");
	/* description keeps its text whole, '#' included */
	if (!p->in_client && strncmp(line + skip, "description", 11) == 0 &&
	    (line[skip + 11] == '\0' || isspace((unsigned char)line[skip + 11])))
		return parse_description(p, line);
	n = tokenize(line, tok, &rest);
	if (n == 0)
		return 0;
	if (n == MAX_TOKENS)
		return fail(p, "too many words on one line");
	if (p->in_client)
		return parse_step(p, tok, n);
	return parse_directive(p, tok, n);
}

/* Overrides that name a directive the file left at its default still apply. */
static int apply_overrides(struct parser *p)
{
	unsigned int i;
	int r = 0;

	p->line = 0;
	for (i = 0; i < p->n_ov && r == 0; i++) {
		const char *k = p->ov[i].key, *v = p->ov[i].value;

		if (p->ov_used[i] && strcmp(k, "rate") != 0)
			continue;
		p->ov_used[i] = true;
		if (strcmp(k, "conns") == 0)
			r = set_conns(p, v);
		else if (strcmp(k, "duration") == 0)
			r = set_time(p, k, v, &p->sc->duration_ns);
		else if (strcmp(k, "warmup") == 0)
			r = set_time(p, k, v, &p->sc->warmup_ns);
		else if (strcmp(k, "rate") == 0)
			r = set_rate(p, v);
		else if (strcmp(k, "program") == 0)
			r = set_program(p, v);
		else if (strcmp(k, "nodelay") == 0)
			r = set_nodelay(p, v);
		else if (strcmp(k, "impair") == 0)
			r = set_impair(p, v);
		else
			r = fail(p, "--set %s: unknown key (valid: %s%s)", k, override_keys,
				 p->sc->n_params ? ", or a param of this scenario" : "");
	}
	return r;
}

static int finish(struct parser *p, unsigned int last_line)
{
	struct hx_scenario *sc = p->sc;

	if (p->depth > 0) {
		p->line = last_line;
		return fail(p, "end of file inside the block opened at line %u (missing '}')",
			    p->block_line[p->depth - 1]);
	}
	p->line = 0;
	if (!p->seen_program)
		return fail(p, "no 'program' line (valid programs: see 'tcplab list')");
	if (!p->seen_client)
		return fail(p, "no 'client { ... }' block");
	if (apply_overrides(p) < 0)
		return -EINVAL;
	if (sc->duration_ns <= 0)
		return fail(p, "duration must be more than 0");
	if (sc->pacing == HX_PACING_OPEN && !sc->has_measure) {
		p->line = p->pacing_line;	/* 0 when --rate asked for it */
		return fail(p, "open pacing needs a 'measure { ... }' section to schedule");
	}
	return 0;
}

static void defaults(struct hx_scenario *sc, const char *name, const char *path)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->name, sizeof(sc->name), "%s", name);
	snprintf(sc->path, sizeof(sc->path), "%s", path);
	sc->conns = 1;
	sc->duration_ns = 10 * INT64_C(1000000000);
	sc->warmup_ns = INT64_C(1000000000);
	sc->pacing = HX_PACING_CLOSED;
	sc->nodelay = true;
}

/* No space or control character in @p s (a file's token never has one). */
static bool one_word(const char *s)
{
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return false;
	return true;
}

int hx_scenario_parse(struct hx_scenario *sc, const char *name, const char *path,
		      const char *text, const struct hx_override *ov, unsigned int n,
		      char *err, size_t errlen)
{
	struct parser p = { .sc = sc, .path = path, .ov = ov, .n_ov = n, .err = err,
			    .errlen = errlen };
	char *buf, *line, *next;
	unsigned int i;
	int r = 0;

	if (n > sizeof(p.ov_used)) {
		snprintf(err, errlen, "too many overrides (at most %zu)", sizeof(p.ov_used));
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		/* a value is one word, as in the file: messages quote it on their one line */
		if (!one_word(ov[i].key) || !one_word(ov[i].value)) {
			snprintf(err, errlen, "--set: override %u has a space or control character "
				 "in its key or value (each is one word, as in the file)", i + 1);
			return -EINVAL;
		}
	}
	defaults(sc, name, path);
	buf = strdup(text);
	if (buf == NULL)
		return -ENOMEM;
	for (line = buf; line != NULL && r == 0; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else if (*line == '\0')
			break;	/* the text ended with a newline */
		p.line++;
		r = parse_line(&p, line);
	}
	free(buf);
	if (r == 0)
		r = finish(&p, p.line);
	return r;
}

int hx_scenario_load(struct hx_scenario *sc, const char *name, const char *path,
		     const struct hx_override *ov, unsigned int n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long len;
	int r;

	if (f == NULL) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    len > (1 << 20)) {
		fclose(f);
		snprintf(err, errlen, "%s: unreadable or larger than 1 MiB", path);
		return -EINVAL;
	}
	text = malloc((size_t)len + 1);
	if (text == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	text[fread(text, 1, (size_t)len, f)] = '\0';
	fclose(f);
	r = hx_scenario_parse(sc, name, path, text, ov, n, err, errlen);
	free(text);
	return r;
}

bool hx_check_passes(const struct hx_check *c, double v)
{
	switch (c->cmp) {
	case HX_CMP_LT: return v < c->limit;
	case HX_CMP_LE: return v <= c->limit;
	case HX_CMP_GT: return v > c->limit;
	case HX_CMP_GE: return v >= c->limit;
	case HX_CMP_EQ: return v == c->limit;
	}
	return false;
}

const char *hx_cmp_str(enum hx_cmp cmp)
{
	static const char *const s[] = { "<", "<=", ">", ">=", "==" };

	return s[cmp];
}

/* An op's name in the plan: its step's, or for the ops a block's end compiles to, this. */
static const char *op_name(enum hx_opcode code)
{
	const struct hx_step *st = hx_lang_step_of(code);

	if (st != NULL)
		return st->name;
	switch (code) {
	case HX_OP_NEXT: return "}repeat";
	case HX_OP_MEASURE_END: return "}measure";
	case HX_OP_DONE: return "done";
	default: return "?";
	}
}

void hx_scenario_dump(const struct hx_scenario *sc, FILE *f)
{
	const struct hx_op *op;
	unsigned int i;

	fprintf(f, "scenario %s (%s): program %s conns %u duration %lldns warmup %lldns %s",
		sc->name, sc->path, sc->program, sc->conns, (long long)sc->duration_ns,
		(long long)sc->warmup_ns, sc->pacing == HX_PACING_OPEN ? "open" : "closed");
	if (sc->pacing == HX_PACING_OPEN)
		fprintf(f, " %.0f/s", sc->rate);
	fputc('\n', f);
	for (i = 0; i < sc->n_ops; i++) {
		op = &sc->ops[i];
		fprintf(f, "  %3u  %-10s arg %llu", i, op_name(op->code),
			(unsigned long long)op->arg);
		if (op->arg2 != 0 || op->arg3 != 0)
			fprintf(f, " arg2 %llu arg3 %llu", (unsigned long long)op->arg2,
				(unsigned long long)op->arg3);
		fprintf(f, " jump %u loop %u  (line %u)\n", op->jump, op->loop, op->line);
	}
	for (i = 0; i < sc->n_checks; i++)
		fprintf(f, "  check %s\n", sc->checks[i].text);
}
