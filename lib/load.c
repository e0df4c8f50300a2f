/*
 * The DAG loader: document text -> validated struct dag.  It owns SPEC
 * section 2's rules (keys, types, ids, commands, durations, retry, triggers,
 * pools, defaults), the graph checks of dag.c's model (unknown needs with a
 * suggestion, self-needs, cycles) and the expression checks (compile, and
 * .steps.X only for ancestors).  Every problem is reported, each at its
 * JSON path; nothing stops at the first.
 *
 * Cost: one pass over the tape per step plus O(V + E) graph work and one
 * batched jq compile, so 100,000 steps load in a fraction of a second.
 *
 * Interface: dag.h (dag_load, dag_find, dag_free; dag_emit is
 * normalize.c's).  Long: it is the one place where every field of the
 * format is checked, in the order a document is read; split across files
 * its checks would lose the loader they all share.
 */
#include "compat.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "dag.h"
#include "diag.h"
#include "duration.h"
#include "graph.h"
#include "jdoc.h"
#include "jqexpr.h"
#include "foreach.h"
#include "json.h"
#include "matrix.h"
#include "spell.h"
#include "strbuf.h"
#include "xalloc.h"

const char *const trigger_names[] = { "all_success", "all_done", "all_failed",
    "one_failed", "one_success", "none_failed", NULL };
const char *const on_failure_names[] = { "stop", "continue", "abort", NULL };

static const char *const top_keys[] = { "name", "description", "params",
    "env", "max_parallel", "timeout", "on_failure", "pools", "defaults",
    "steps", "plan", "launcher", "finally", NULL };
static const char *const step_keys[] = { "id", "run", "argv", "transform",
    "needs", "trigger", "when", "input", "output", "check", "env", "cwd",
    "timeout", "kill_grace", "retry", "pool", "allow_failure",
    "description", "launcher", "max_output", "inputs", "outputs", "cache",
    "matrix", "foreach", "foreach_key", "max_parallel", "fail_fast", NULL };
static const char *const retry_keys[] = { "attempts", "delay", "factor",
    "max_delay", "jitter", "exit_codes", "max_duration", NULL };

enum field {
	F_ID, F_RUN, F_ARGV, F_TRANSFORM, F_NEEDS, F_TRIGGER, F_WHEN, F_INPUT,
	F_OUTPUT, F_CHECK, F_ENV, F_CWD, F_TIMEOUT, F_KILL_GRACE, F_RETRY,
	F_POOL, F_ALLOW_FAILURE, F_DESCRIPTION, F_LAUNCHER, F_MAX_OUTPUT,
	F_INPUTS, F_OUTPUTS, F_CACHE, F_MATRIX, F_FOREACH, F_FOREACH_KEY,
	F_MAX_PARALLEL, F_FAIL_FAST
};

struct loader {
	struct dag		*g;
	struct diag		*d;
	const struct jdoc	*j;
	int			 flags;
	uint32_t		 defaults;
	struct step		 def;		/* defaults as a step */
	uint32_t		*needs_node;	/* per step: needs array node */
	uint32_t		 top_launcher;
	uint32_t		 finally;	/* the "finally" array or JNONE */
	uint32_t		 nfinal;	/* steps it names */
	int			 def_env_seen;	/* its templates checked once */
	struct late		*late;		/* reported if they compile */
	size_t			 nlate;
	struct fitem		**combos;	/* per step: its matrix's */
	uint32_t		*ncombo;	/* 0: no matrix */
	uint32_t		 nmatrix;	/* steps with one */
	uint32_t		 nsteps;	/* as written: combos' length */
};

/* A problem of an expression, worth reporting only if it compiles. */
struct late {
	int32_t		 expr;
	char		*path;
	char		*msg;
};

static const char *
path_of(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int check_paths(struct loader *, uint32_t, const char *, int);
static void check_launcher(struct loader *, uint32_t, const char *,
    struct step *);

static const char *
path_of(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/*
 * base.key and base[n] into buf (cut to fit; base may be buf), as path_of
 * would but without printf: the loader makes one per field of every step.
 */
static const char *
path_cat(char *buf, size_t len, const char *base, const char *a,
    size_t na, const char *z)
{
	size_t b = strnlen(base, len - 1), nz = strlen(z);

	memmove(buf, base, b);
	na = na < len - 1 - b ? na : len - 1 - b;
	memcpy(buf + b, a, na);
	b += na;
	nz = nz < len - 1 - b ? nz : len - 1 - b;
	memcpy(buf + b, z, nz);
	buf[b + nz] = '\0';
	return buf;
}

static const char *
path_key(char *buf, size_t len, const char *base, const char *key)
{
	return path_cat(buf, len, base, ".", 1, key);
}

static const char *
path_at(char *buf, size_t len, const char *base, uint32_t n)
{
	char num[16];
	size_t k = 0;

	do
		num[sizeof(num) - 1 - k++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	num[sizeof(num) - 1 - k++] = '[';
	return path_cat(buf, len, base, num + sizeof(num) - k, k, "]");
}

static int
find_name(const char *const *names, const struct jdoc *j, uint32_t key)
{
	const struct jnode *n = &j->n[key];
	const char *k = j->buf + n->off + 1;
	size_t len = n->len - 2;
	int i;

	if (n->kind != J_STR)
		return -1;
	for (i = 0; names[i] != NULL; i++)
		if (n->esc ? jdoc_streq(j, key, names[i]) : names[i][0] == k[0] &&
		    strncmp(names[i], k, len) == 0 && names[i][len] == '\0')
			return i;
	return -1;
}

/* "unknown key "x" (did you mean "y"?)" at the key's own path. */
static void
unknown_key(struct loader *L, const char *base, uint32_t key,
    const char *const *names)
{
	size_t n;
	char *k = jdoc_strdup(L->j, key, NULL), path[400];
	const char *s;

	for (n = 0; names[n] != NULL; n++)
		;
	s = spell_suggest(k, names, n);
	path_of(path, sizeof(path), "%s%s%.100s", base, *base ? "." : "", k);
	if (s != NULL)
		diag_add(L->d, DIAG_ERROR, path,
		    "unknown key \"%.100s\" (did you mean \"%s\"?)", k, s);
	else
		diag_add(L->d, DIAG_ERROR, path, "unknown key \"%.100s\" "
		    "(custom keys must start with \"x-\")", k);
	free(k);
}

static int
is_x_key(const struct jdoc *j, uint32_t key)
{
	const struct jnode *n = &j->n[key];

	return n->len >= 4 && j->buf[n->off + 1] == 'x' &&
	    j->buf[n->off + 2] == '-';
}

/* 1 if string node v decodes to text with a NUL (an escaped \u0000). */
static int
has_nul(const struct jdoc *j, uint32_t v)
{
	const struct jnode *n = &j->n[v];
	const char *p = j->buf + n->off, *end = p + n->len, *hit;
	size_t bs;

	if (!n->esc)
		return 0;
	while ((hit = memmem(p, (size_t)(end - p), "u0000", 5)) != NULL) {
		/* A real escape has an odd run of backslashes before it. */
		for (bs = 0; hit - bs > j->buf + n->off && hit[-1 - (long)bs] ==
		    '\\'; bs++)
			;
		if (bs % 2 == 1)
			return 1;
		p = hit + 5;
	}
	return 0;
}

static int
want_kind(struct loader *L, uint32_t v, enum jkind k, const char *path,
    const char *what)
{
	enum jkind got = L->j->n[v].kind;

	if (got == J_STR && k == J_STR && has_nul(L->j, v))
		return diag_add(L->d, DIAG_ERROR, path, "must not contain a "
		    "NUL character (\\u0000)");
	if (got == k || (k == J_TRUE && got == J_FALSE))
		return 0;
	diag_add(L->d, DIAG_ERROR, path, "must be %s, not %s", what,
	    jkind_article(got));
	return -1;
}

/* A duration: number of seconds or string.  Returns 0 and sets *out. */
static int
get_duration(struct loader *L, uint32_t v, const char *path, double *out,
    int positive)
{
	const char *why;
	char *s;
	double secs;

	if (L->j->n[v].kind == J_NUM) {
		secs = jdoc_num(L->j, v);
		if (!isfinite(secs) || secs > DURATION_MAX)
			return diag_add(L->d, DIAG_ERROR, path,
			    "duration too large (at most 100 years)");
		if (secs < 0)
			return diag_add(L->d, DIAG_ERROR, path,
			    "duration must not be negative");
	} else if (L->j->n[v].kind == J_STR) {
		s = jdoc_strdup(L->j, v, NULL);
		if (duration_parse(s, &secs, &why) == -1) {
			diag_add(L->d, DIAG_ERROR, path, "bad duration "
			    "\"%.100s\": %s", s, why);
			free(s);
			return -1;
		}
		free(s);
	} else
		return diag_add(L->d, DIAG_ERROR, path, "must be a duration "
		    "(seconds, or a string such as \"30s\" or \"1h30m\")");
	if (positive && secs <= 0)
		return diag_add(L->d, DIAG_ERROR, path,
		    "duration must be greater than 0");
	*out = secs;
	return 0;
}

static int
get_int(struct loader *L, uint32_t v, const char *path, double lo, double hi,
    double *out)
{
	double x;

	*out = 0;	/* set on every path: callers read it only on 0 */
	if (want_kind(L, v, J_NUM, path, "an integer") == -1)
		return -1;
	x = jdoc_num(L->j, v);
	if (x != floor(x) || !(x >= lo && x <= hi))
		return diag_add(L->d, DIAG_ERROR, path,
		    "must be an integer from %.0f to %.0f", lo, hi);
	*out = x;
	return 0;
}

/* Registers a jq expression found at node v; returns its index or -1. */
static int32_t
add_expr(struct loader *L, uint32_t v, const char *path)
{
	char *src;
	int32_t i;

	if (want_kind(L, v, J_STR, path, "a jq expression string") == -1)
		return -1;
	src = jdoc_strdup(L->j, v, NULL);
	if (*src == '\0') {
		diag_add(L->d, DIAG_ERROR, path, "empty jq expression");
		free(src);
		return -1;
	}
	i = jqx_add(L->g->jqx, src, path);
	free(src);
	return i;
}

/* 1 if s[0..n) holds "{{". */
static int
has_braces(const char *s, size_t n)
{
	const char *q, *end = s + n;

	while ((q = memchr(s, '{', (size_t)(end - s))) != NULL) {
		if (q + 1 < end && q[1] == '{')
			return 1;
		s = q + 1;
	}
	return 0;
}

/* Parses templates of string node v; NULL when it has none. */
static struct tmpl *
add_tmpl(struct loader *L, uint32_t v, const char *path)
{
	struct tmpl *t;
	const char *why;
	char *s, sub[300];
	size_t i;
	int rc;

	/* Most strings are plain text: no "{{" in the raw JSON, none. */
	if (!L->j->n[v].esc && !has_braces(L->j->buf + L->j->n[v].off,
	    L->j->n[v].len))
		return NULL;
	s = jdoc_strdup(L->j, v, NULL);
	t = xcalloc(1, sizeof(*t));
	rc = tmpl_parse(s, t, &why);
	free(s);
	if (rc != 0) {
		if (rc == -1)
			diag_add(L->d, DIAG_ERROR, path, "%s", why);
		free(t);
		return NULL;
	}
	for (i = 0; i < t->n; i++) {
		if (!t->part[i].is_expr)
			continue;
		path_of(sub, sizeof(sub), "%s{{%zu}}", path, i);
		t->part[i].expr = jqx_add(L->g->jqx, t->part[i].text, path);
	}
	return t;
}

static void
check_retry(struct loader *L, uint32_t v, const char *base, struct step *s)
{
	const struct jdoc *j = L->j;
	char path[256];
	uint32_t k, e;
	double x;
	int f;

	if (want_kind(L, v, J_OBJ, base, "an object") == -1)
		return;
	for (k = v + 1; k < j->n[v].end; k = j->n[k + 1].end) {
		uint32_t val = k + 1;

		if ((f = find_name(retry_keys, j, k)) == -1) {
			if (!is_x_key(j, k))
				unknown_key(L, base, k, retry_keys);
			continue;
		}
		path_of(path, sizeof(path), "%s.%s", base, retry_keys[f]);
		switch (f) {
		case 0:
			if (get_int(L, val, path, 1, 1000, &x) == 0)
				s->pol.attempts = (uint32_t)x;
			break;
		case 1:
			(void)get_duration(L, val, path, &s->pol.delay, 0);
			break;
		case 2:
			if (want_kind(L, val, J_NUM, path, "a number") == 0) {
				x = jdoc_num(j, val);
				if (!(x >= 1 && x <= 1000))
					diag_add(L->d, DIAG_ERROR, path,
					    "must be a number from 1 to 1000");
				else
					s->pol.factor = x;
			}
			break;
		case 3:
			(void)get_duration(L, val, path, &s->pol.max_delay, 0);
			break;
		case 4:
			if (want_kind(L, val, J_TRUE, path, "a boolean") == 0)
				s->pol.jitter = j->n[val].kind == J_TRUE;
			break;
		case 5:
			if (want_kind(L, val, J_ARR, path,
			    "an array of exit statuses") == -1)
				break;
			if (s->pol.exit_codes == NULL || s->pol.exit_codes ==
			    L->def.pol.exit_codes)
				s->pol.exit_codes = xcalloc(256, 1);
			else
				memset(s->pol.exit_codes, 0, 256);
			for (e = val + 1, f = 0; e < j->n[val].end; e = j->n[e].end,
			    f++) {
				char p2[300];

				path_of(p2, sizeof(p2), "%s[%d]", path, f);
				if (get_int(L, e, p2, 0, 255, &x) == 0)
					s->pol.exit_codes[(int)x] = 1;
			}
			break;
		case 6:
			(void)get_duration(L, val, path, &s->pol.max_duration,
			    1);
			break;
		}
	}
}

static void
check_env(struct loader *L, uint32_t v, const char *base)
{
	const struct jdoc *j = L->j;
	char path[512];
	uint32_t k;
	char *name;

	if (want_kind(L, v, J_OBJ, base, "an object of strings") == -1)
		return;
	for (k = v + 1; k < j->n[v].end; k = j->n[k + 1].end) {
		name = jdoc_strdup(j, k, NULL);
		path_of(path, sizeof(path), "%s.%.200s", base, name);
		if (*name == '\0' || strchr(name, '=') != NULL || has_nul(j, k))
			diag_add(L->d, DIAG_ERROR, path, "bad environment "
			    "variable name (empty, or contains '=' or NUL)");
		free(name);
		(void)want_kind(L, k + 1, J_STR, path, "a string");
	}
}

/* A step's matrix: its combinations, for matrix_expand. */
static void
check_matrix(struct loader *L, uint32_t v, const char *path, struct step *s,
    uint32_t idx)
{
	int n;

	if (want_kind(L, v, J_OBJ, path, "an object of lists (\"os\": "
	    "[\"bookworm\", \"trixie\"]), with \"include\" and "
	    "\"exclude\" as GitHub Actions has them") == -1)
		return;
	s->matrix = v;
	if ((n = matrix_combos(L->j, v, path, L->d, &L->combos[idx])) > 0) {
		L->ncombo[idx] = (uint32_t)n;
		L->nmatrix++;
	}
}

/*
 * Checks one step-like object (a step, or defaults when s == &L->def) and
 * fills s.  Fields that only steps may have are refused in defaults.
 * Long: one case of a few lines per field of SPEC section 2.
 */
static void
check_fields(struct loader *L, uint32_t obj, const char *base, struct step *s,
    uint32_t idx)
{
	const struct jdoc *j = L->j;
	int is_def = s == &L->def, ncmd = 0, f;
	char path[300];
	uint32_t k, v;

	for (k = obj + 1; k < j->n[obj].end; k = j->n[k + 1].end) {
		v = k + 1;
		if ((f = find_name(step_keys, j, k)) == -1) {
			if (!is_x_key(j, k))
				unknown_key(L, base, k, step_keys);
			else if (jdoc_streq(j, k, "x-estimate"))
				if (get_duration(L, v, path_of(path,
				    sizeof(path), "%s.x-estimate", base),
				    &s->estimate, 0) == -1)
					s->estimate = -1;
			continue;
		}
		path_key(path, sizeof(path), base, step_keys[f]);
		if (is_def && (f == F_ID || f == F_NEEDS || f == F_RUN ||
		    f == F_ARGV || f == F_TRANSFORM || f == F_MATRIX ||
		    f == F_FOREACH || f == F_FOREACH_KEY)) {
			diag_add(L->d, DIAG_ERROR, path, "not allowed in "
			    "defaults (only in a step)");
			continue;
		}
		switch (f) {
		case F_ID:
		case F_NEEDS:
			break;		/* done by the caller */
		case F_RUN:
		case F_TRANSFORM:
			ncmd++;
			s->kind = f == F_RUN ? CMD_RUN : CMD_TRANSFORM;
			s->cmd = v;
			if (f == F_TRANSFORM) {
				s->transform = add_expr(L, v, path);
				break;
			}
			if (want_kind(L, v, J_STR, path, "a string") == -1)
				break;
			if (j->n[v].len == 2)
				diag_add(L->d, DIAG_ERROR, path,
				    "empty command");
			break;
		case F_ARGV:
			ncmd++;
			s->kind = CMD_ARGV;
			s->cmd = v;
			if (want_kind(L, v, J_ARR, path,
			    "an array of strings") == -1)
				break;
			if (j->n[v].len == 0)
				diag_add(L->d, DIAG_ERROR, path,
				    "must not be empty");
			{
				uint32_t e;
				int n = 0;

				for (e = v + 1; e < j->n[v].end; e = j->n[e].end,
				    n++) {
					char p2[320];

					path_at(p2, sizeof(p2), path,
					    (uint32_t)n);
					(void)want_kind(L, e, J_STR, p2,
					    "a string");
				}
			}
			break;
		case F_TRIGGER:
			if (want_kind(L, v, J_STR, path, "a string") == -1)
				break;
			if ((f = find_name(trigger_names, j, v)) == -1) {
				char *t = jdoc_strdup(j, v, NULL);
				const char *sug = spell_suggest(t,
				    trigger_names, 6);

				diag_add(L->d, DIAG_ERROR, path, "unknown "
				    "trigger \"%.100s\"%s%s%s", t,
				    sug ? " (did you mean \"" : " (one of "
				    "all_success, all_done, all_failed, "
				    "one_failed, one_success, none_failed)",
				    sug ? sug : "", sug ? "\"?)" : "");
				free(t);
			} else
				s->pol.trigger = (uint8_t)f;
			break;
		case F_WHEN:
			s->when = add_expr(L, v, path);
			break;
		case F_INPUT:
			s->input = add_expr(L, v, path);
			break;
		case F_CHECK:
			s->check = add_expr(L, v, path);
			break;
		case F_OUTPUT:
			if (want_kind(L, v, J_STR, path, "a string") == -1)
				break;
			if (jdoc_streq(j, v, "file"))
				s->output = OUT_FILE;
			else if (jdoc_streq(j, v, "stdout"))
				s->output = OUT_STDOUT;
			else
				diag_add(L->d, DIAG_ERROR, path,
				    "must be \"file\" or \"stdout\"");
			break;
		case F_ENV:
			check_env(L, v, path);
			s->env = v;
			break;
		case F_CWD:
			if (want_kind(L, v, J_STR, path, "a string") == 0)
				s->cwd = v;
			break;
		case F_TIMEOUT:
			(void)get_duration(L, v, path, &s->timeout, 1);
			break;
		case F_KILL_GRACE:
			(void)get_duration(L, v, path, &s->kill_grace, 0);
			break;
		case F_RETRY:
			check_retry(L, v, path, s);
			break;
		case F_POOL:
			if (want_kind(L, v, J_STR, path, "a string") == -1)
				break;
			s->pol.pool = -2;	/* resolved below */
			{
				uint32_t p;
				char *name = jdoc_strdup(j, v, NULL);

				for (p = 0; p < L->g->npools; p++)
					if (strcmp(L->g->pool_name[p], name) ==
					    0)
						break;
				if (p < L->g->npools)
					s->pol.pool = (int32_t)p;
				else {
					const char *sug = spell_suggest(name,
					    (const char *const *)
					    L->g->pool_name, L->g->npools);

					diag_add(L->d, DIAG_ERROR, path,
					    "undeclared pool \"%.100s\"%s%s%s",
					    name, sug ? " (did you mean \"" :
					    " (declare it in \"pools\")",
					    sug ? sug : "", sug ? "\"?)" : "");
				}
				free(name);
			}
			break;
		case F_ALLOW_FAILURE:
			if (want_kind(L, v, J_TRUE, path, "a boolean") == 0)
				s->pol.allow_failure = j->n[v].kind == J_TRUE;
			break;
		case F_DESCRIPTION:
			(void)want_kind(L, v, J_STR, path, "a string");
			break;
		case F_LAUNCHER:
			check_launcher(L, v, path, s);
			break;
		case F_MAX_OUTPUT: {
			double x;

			if (get_int(L, v, path, 1, 1073741824.0, &x) == 0)
				s->max_output = (uint32_t)x;
			break;
		}
		case F_INPUTS:
		case F_OUTPUTS:
			if (check_paths(L, v, path, f == F_OUTPUTS) == 0) {
				if (f == F_INPUTS)
					s->inputs = v;
				else
					s->outputs = v;
			}
			break;
		case F_CACHE:
			if (want_kind(L, v, J_TRUE, path, "a boolean") == 0)
				s->cache = j->n[v].kind == J_TRUE ? 2 : 1;
			break;
		case F_MATRIX:
			check_matrix(L, v, path, s, idx);
			break;
		case F_FOREACH:
			s->foreach = add_expr(L, v, path);
			break;
		case F_FOREACH_KEY:
			s->foreach_key = add_expr(L, v, path);
			break;
		case F_MAX_PARALLEL: {
			double x;

			if (get_int(L, v, path, 1, 1e6, &x) == 0)
				s->max_par = (uint32_t)x;
			break;
		}
		case F_FAIL_FAST:
			if (want_kind(L, v, J_TRUE, path, "a boolean") == 0)
				s->pol.fail_fast = j->n[v].kind == J_TRUE;
			break;
		}
	}
	if (!is_def && ncmd != 1)
		diag_add(L->d, DIAG_ERROR, base, ncmd == 0 ?
		    "missing command: a step needs exactly one of \"run\", "
		    "\"argv\" or \"transform\"" :
		    "more than one command: use exactly one of \"run\", "
		    "\"argv\" or \"transform\"");
}

/*
 * "inputs" (paths and globs) or "outputs" (paths): an array of non-empty
 * strings.  A glob that matches nothing is no error here: the files may
 * come later.  Outputs are the paths a step makes, so no glob.
 */
static int
check_paths(struct loader *L, uint32_t v, const char *path, int outputs)
{
	const struct jdoc *j = L->j;
	const struct jnode *x;
	char p2[320], *t;
	uint32_t e;
	int n = 0, rc = 0;

	if (want_kind(L, v, J_ARR, path, "an array of paths") == -1)
		return -1;
	/* Messages are made only for a bad item: 10,000 steps' paths are
	 * checked in every dag-run. */
	for (e = v + 1; e < j->n[v].end; e = j->n[e].end, n++) {
		x = &j->n[e];
		if (x->kind == J_STR && x->len > 2 && !x->esc &&
		    (!outputs || (memchr(j->buf + x->off, '*', x->len) ==
		    NULL && memchr(j->buf + x->off, '?', x->len) == NULL &&
		    memchr(j->buf + x->off, '[', x->len) == NULL)))
			continue;
		(void)snprintf(p2, sizeof(p2), "%s[%d]", path, n);
		if (want_kind(L, e, J_STR, p2, "a string (a path)") == -1) {
			rc = -1;
			continue;
		}
		t = jdoc_strdup(j, e, NULL);
		if (*t == '\0') {
			diag_add(L->d, DIAG_ERROR, p2, "empty path");
			rc = -1;
		} else if (outputs && strpbrk(t, "*?[") != NULL &&
		    strstr(t, "{{") == NULL) {
			diag_add(L->d, DIAG_ERROR, p2, "\"%.100s\" is a glob: "
			    "outputs are the paths a step makes (globs go "
			    "in \"inputs\")", t);
			rc = -1;
		}
		free(t);
	}
	return rc;
}

/* "slurm", or an argv prefix such as ["srun", "--quiet", "--"]. */
static void
check_launcher(struct loader *L, uint32_t v, const char *path,
    struct step *s)
{
	const struct jdoc *j = L->j;
	uint32_t e;
	int n = 0;

	if (j->n[v].kind == J_STR) {
		if (jdoc_streq(j, v, "slurm"))
			s->launcher = v;
		else
			diag_add(L->d, DIAG_ERROR, path, "must be \"slurm\" or "
			    "an array of strings (a command prefix)");
		return;
	}
	if (want_kind(L, v, J_ARR, path, "\"slurm\" or an array of strings") ==
	    -1)
		return;
	if (j->n[v].len == 0) {
		diag_add(L->d, DIAG_ERROR, path, "must not be empty");
		return;
	}
	for (e = v + 1; e < j->n[v].end; e = j->n[e].end, n++) {
		char p2[320];

		(void)snprintf(p2, sizeof(p2), "%s[%d]", path, n);
		if (want_kind(L, e, J_STR, p2, "a string") == -1)
			return;
	}
	s->launcher = v;
}

static int
id_valid(const char *id, size_t len, const char **why)
{
	size_t i;

	if (len == 0) {
		*why = "must not be empty";
		return 0;
	}
	if (len > 100) {
		*why = "longer than 100 characters";
		return 0;
	}
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || id[0] == '.' ||
	    id[0] == '-') {
		*why = "must start with a letter, digit or '_'";
		return 0;
	}
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == '-')) {
			*why = "may contain only letters, digits, '_', '.' "
			    "and '-'";
			return 0;
		}
	}
	return 1;
}

uint32_t
dag_id_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

int64_t
dag_find(const struct dag *g, const char *id, size_t len)
{
	size_t k, mask = g->idcap - 1;
	uint32_t e;

	if (g->idcap == 0)
		return -1;
	for (k = dag_id_hash(id, len) & mask; (e = g->idtab[k]) != 0;
	    k = (k + 1) & mask) {
		const char *o = g->s[e - 1].id;

		if (strncmp(o, id, len) == 0 && o[len] == '\0')
			return e - 1;
	}
	return -1;
}

int
dag_lookup(const struct dag *g, const char *name, uint32_t *first,
    uint32_t *n)
{
	int64_t i = dag_find(g, name, strlen(name));
	uint32_t k;

	if (i >= 0) {
		*first = (uint32_t)i;
		*n = 1;
		return 0;
	}
	for (k = 0; k < g->ngroups; k++)
		if (strcmp(g->groups[k].name, name) == 0) {
			*first = g->groups[k].first;
			*n = g->groups[k].n;
			return 0;
		}
	return -1;
}

const struct group *
dag_group_of(const struct dag *g, uint32_t i)
{
	return g->s[i].group != GROUP_NONE ? &g->groups[g->s[i].group] : NULL;
}

void
dag_reindex(struct dag *g)
{
	uint32_t i;

	free(g->idtab);
	for (g->idcap = 16; g->idcap < (size_t)g->n * 2; g->idcap *= 2)
		;
	g->idtab = xcalloc(g->idcap, sizeof(*g->idtab));
	for (i = 0; i < g->n; i++)
		(void)dag_id_insert(g, i);
}

int64_t
dag_id_insert(struct dag *g, uint32_t i)
{
	const char *id = g->s[i].id;
	size_t len = strlen(id), k, mask = g->idcap - 1;
	uint32_t e;

	for (k = dag_id_hash(id, len) & mask; (e = g->idtab[k]) != 0;
	    k = (k + 1) & mask)
		if (strcmp(g->s[e - 1].id, id) == 0)
			return e - 1;
	g->idtab[k] = i + 1;
	return -1;
}

static void
load_pools(struct loader *L, uint32_t v)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	char path[300];
	uint32_t p;
	double x;

	if (want_kind(L, v, J_OBJ, "pools", "an object") == -1)
		return;
	g->pool_name = xcalloc(j->n[v].len + 1, sizeof(*g->pool_name));
	g->pool_cap = xcalloc(j->n[v].len + 1, sizeof(*g->pool_cap));
	for (p = v + 1; p < j->n[v].end; p = j->n[p + 1].end) {
		char *name = jdoc_strdup(j, p, NULL);

		path_of(path, sizeof(path), "pools.%.200s", name);
		if (get_int(L, p + 1, path, 1, 100000, &x) == 0)
			g->pool_cap[g->npools] = (uint32_t)x;
		g->pool_name[g->npools++] = name;
	}
}

static void
check_top(struct loader *L, uint32_t root, uint32_t *steps)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	uint32_t k, v;
	double x;
	int f;

	*steps = JNONE;
	L->defaults = JNONE;
	for (k = root + 1; k < j->n[root].end; k = j->n[k + 1].end) {
		v = k + 1;
		if ((f = find_name(top_keys, j, k)) == -1) {
			if (!is_x_key(j, k))
				unknown_key(L, "", k, top_keys);
			continue;
		}
		switch (f) {
		case 0:
			if (want_kind(L, v, J_STR, "name", "a string") == 0) {
				free(g->name);
				g->name = jdoc_strdup(j, v, NULL);
				if (*g->name == '\0' || strlen(g->name) > 100)
					diag_add(L->d, DIAG_ERROR, "name",
					    "must be 1 to 100 bytes long");
			}
			break;
		case 1:
			(void)want_kind(L, v, J_STR, "description", "a string");
			break;
		case 2:
			if (want_kind(L, v, J_OBJ, "params", "an object") == 0)
				g->params = v;
			break;
		case 3:
			check_env(L, v, "env");
			g->env = v;
			break;
		case 4:
			if (get_int(L, v, "max_parallel", 1, 100000, &x) == 0)
				g->max_parallel = (uint32_t)x;
			break;
		case 5:
			(void)get_duration(L, v, "timeout", &g->timeout, 1);
			break;
		case 6:
			if (want_kind(L, v, J_STR, "on_failure", "a string") ==
			    -1)
				break;
			if ((f = find_name(on_failure_names, j, v)) == -1)
				diag_add(L->d, DIAG_ERROR, "on_failure", "must "
				    "be \"stop\", \"continue\" or \"abort\"");
			else
				g->on_failure = f;
			break;
		case 7:
			load_pools(L, v);
			break;
		case 8:
			if (want_kind(L, v, J_OBJ, "defaults", "an object") ==
			    0)
				L->defaults = v;
			break;
		case 9:
			*steps = v;
			break;
		case 10:
			break;		/* a plan from dag-plan: recomputed */
		case 11:
			L->top_launcher = v;
			break;
		case 12:
			if (want_kind(L, v, J_ARR, "finally", "an array of step "
			    "ids") == 0)
				L->finally = v;
			break;
		}
	}
}

static void
step_init(struct step *s)
{
	memset(s, 0, sizeof(*s));
	s->cmd = s->env = s->env_def = s->cwd = s->launcher = JNONE;
	s->inputs = s->outputs = JNONE;
	s->pol.pool = -1;
	s->pol.attempts = 1;
	s->kill_grace = 5;
	s->pol.delay = 1;
	s->pol.factor = 2;
	s->pol.max_delay = 300;
	s->estimate = -1;
	s->when = s->input = s->check = s->transform = -1;
	s->matrix = JNONE;
	s->group = s->head_of = GROUP_NONE;
	s->foreach = s->foreach_key = -1;
	s->pol.parent = s->pol.pool2 = s->pol.grp = UINT32_MAX;
}

struct refctx {
	struct loader	*L;
	uint32_t	 step;
	const char	*path;
	uint32_t	*stamp, *mark;
	int		 no_item;	/* the foreach itself: no .item yet */
};

/*
 * A ".steps.ID" in an expression of step r->step.  Where . may not be the
 * context (certain 0: after a |, in map()...), it may be other data's key:
 * an unknown or non-ancestor ID is then no error, and all ancestors are
 * given, in case it was the context after all.
 */
static void
on_ref(void *arg, const char *id, size_t len, int certain)
{
	struct refctx *r = arg;
	struct dag *g = r->L->g;
	struct step *s = &g->s[r->step];
	int64_t t = dag_find(g, id, len);
	uint32_t i;

	/* A neighbourhood: its ancestors are stand-ins, needed or not. */
	if (t != -1 && (r->L->flags & DAG_PARTIAL))
		goto add;
	if (!certain && (t == -1 || !dag_is_ancestor(g, (uint32_t)t, r->step,
	    r->stamp, r->mark))) {
		s->all_refs = 1;
		return;
	}
	if (t == -1) {
		char *name = xstrndup(id, len);

		diag_add(r->L->d, DIAG_ERROR, r->path, "refers to .steps."
		    "%.100s, but there is no step \"%.100s\"", name, name);
		free(name);
		return;
	}
	if (!dag_is_ancestor(g, (uint32_t)t, r->step, r->stamp, r->mark)) {
		diag_add(r->L->d, DIAG_ERROR, r->path, "refers to .steps.%s, "
		    "which is not an ancestor of \"%s\" (add it to needs)",
		    g->s[t].id, s->id);
		return;
	}
add:
	for (i = 0; i < s->nrefs; i++)
		if (s->refs[i] == (uint32_t)t)
			return;
	s->refs = xreallocarray(s->refs, s->nrefs + 1, sizeof(*s->refs));
	s->refs[s->nrefs++] = (uint32_t)t;
}

/* What a step's context has besides .params, .run, .step and .steps. */
#define CTX_MATRIX	0x1	/* .matrix */
#define CTX_ITEM	0x2	/* .item and .index */
#define CTX_QUIET	0x4	/* some steps' may: not in the message */

/*
 * Expression expr over the context starts by reading a key the context
 * lacks: noted, and reported after compiling if it compiled.  ctx: what
 * else the context has (CTX_*).
 */
static void
check_top_key(struct loader *L, int32_t expr, const char *src,
    const char *path, int tmpl, int ctx)
{
	const char *key;
	size_t len;
	struct late *l;

	static const char *const all[] = { "matrix", "item", "index", NULL };
	const char *more[4] = { NULL };
	const char *has;
	int n = 0;

	if (ctx & CTX_MATRIX)
		more[n++] = all[0];
	if (ctx & CTX_ITEM) {
		more[n++] = all[1];
		more[n++] = all[2];
	}
	if (expr < 0 || !jqx_unknown_top(src, &key, &len, more))
		return;
	has = ctx & CTX_QUIET ? "" : (ctx & CTX_MATRIX) ? ", .matrix" :
	    (ctx & CTX_ITEM) ? ", .item, .index" : "";
	L->late = xreallocarray(L->late, L->nlate + 1, sizeof(*L->late));
	l = &L->late[L->nlate++];
	l->expr = expr;
	l->path = xstrdup(path);
	if (len > 100)
		len = 100;
	l->msg = tmpl ? xasprintf("template {{ %.100s }} reads .%.*s, which "
	    "the context never has (it has .params, .run, .step%s and .steps); "
	    "a literal \"{{\" is written {{ \"{{\" }}", src, (int)len, key,
	    has) :
	    xasprintf("reads .%.*s, which the context never has (it has "
	    ".params, .run, .step%s and .steps)", (int)len, key, has);
}

static void
report_late(struct loader *L)
{
	size_t k;

	/* Readers of a frozen dag.json (no compile) take it as it was run. */
	for (k = 0; k < L->nlate; k++) {
		if (!(L->flags & DAG_NO_EXPR_COMPILE) &&
		    !jqx_failed(L->g->jqx, L->late[k].expr))
			diag_add(L->d, DIAG_ERROR, L->late[k].path, "%s",
			    L->late[k].msg);
		free(L->late[k].path);
		free(L->late[k].msg);
	}
	free(L->late);
	L->late = NULL;
	L->nlate = 0;
}

/* tmpl: 1 a template, 2 one of defaults.env (checked with the first step),
 * 0 a when or input. */
static void
scan_refs(struct refctx *r, int32_t expr, const char *src, const char *path,
    int tmpl)
{
	const struct step *s = &r->L->g->s[r->step];

	if (tmpl != 2 || !r->L->def_env_seen)
		check_top_key(r->L, expr, src, path, tmpl != 0,
		    (s->matrix != JNONE ? CTX_MATRIX : 0) | (s->foreach >= 0 &&
		    !r->no_item ? CTX_ITEM : 0));
	r->path = path;
	if (jqx_step_refs(src, on_ref, r))
		r->L->g->s[r->step].all_refs = 1;
}

static void
scan_tmpl_refs(struct refctx *r, const struct tmpl *t, const char *path,
    int tmpl)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		if (t->part[i].is_expr)
			scan_refs(r, t->part[i].expr, t->part[i].text, path,
			    tmpl);
}

static char *
expr_src(struct loader *L, uint32_t node)
{
	return jdoc_strdup(L->j, node, NULL);
}

/*
 * The templates of the strings of array node arr (argv, launcher), named
 * "steps[i].what[n]": an array of arr's length, or NULL if none has one.
 */
static struct tmpl *
array_tmpls(struct loader *L, struct refctx *r, uint32_t arr,
    const char *what, uint32_t i)
{
	const struct jdoc *j = L->j;
	struct tmpl *v = NULL, *t;
	uint32_t e, n;
	char path[300];

	for (e = arr + 1, n = 0; e < j->n[arr].end; e = j->n[e].end, n++) {
		if (j->n[e].kind != J_STR)
			continue;
		path_key(path, sizeof(path), path_at(path, sizeof(path),
		    "steps", i), what);
		path_at(path, sizeof(path), path, n);
		if ((t = add_tmpl(L, e, path)) == NULL)
			continue;
		if (v == NULL)
			v = xcalloc(j->n[arr].len + 1, sizeof(*v));
		v[n] = *t;
		free(t);
		scan_tmpl_refs(r, &v[n], path, 1);
	}
	return v;
}

/*
 * The templates of step i's effective env: defaults.env entries, then the
 * step's own, in that order (as exec.c renders them).  NULL if none.
 */
static struct tmpl *
env_tmpls(struct loader *L, struct refctx *r, const struct step *s,
    uint32_t i)
{
	const struct jdoc *j = L->j;
	uint32_t objs[2] = { s->env_def, s->env }, o, total = 0, k, n;
	struct tmpl *v = NULL, *t;
	char path[300], *name;
	int w;

	for (w = 0; w < 2; w++)
		if (objs[w] != JNONE && j->n[objs[w]].kind == J_OBJ)
			total += j->n[objs[w]].len;
	for (w = 0, n = 0; w < 2; w++) {
		o = objs[w];
		if (o == JNONE || j->n[o].kind != J_OBJ)
			continue;
		for (k = o + 1; k < j->n[o].end; k = j->n[k + 1].end, n++) {
			if (j->n[k + 1].kind != J_STR)
				continue;
			name = jdoc_strdup(j, k, NULL);
			if (w == 0)
				path_of(path, sizeof(path), "defaults.env.%.100s",
				    name);
			else
				path_of(path, sizeof(path),
				    "steps[%u].env.%.100s", i, name);
			free(name);
			if ((t = add_tmpl(L, k + 1, path)) == NULL)
				continue;
			if (v == NULL)
				v = xcalloc(total, sizeof(*v));
			v[n] = *t;
			free(t);
			scan_tmpl_refs(r, &v[n], path, w == 0 ? 2 : 1);
		}
		if (w == 0)
			L->def_env_seen = 1;
	}
	return v;
}

/* The .steps references of the jq expression at step i's key. */
static void
expr_refs(struct loader *L, struct refctx *r, uint32_t i, int32_t expr,
    const char *key)
{
	char path[300], *src;
	uint32_t k;

	if (expr < 0 || (k = jdoc_get(L->j, L->g->s[i].node, key)) == JNONE)
		return;
	src = expr_src(L, k);
	scan_refs(r, expr, src, path_of(path, sizeof(path), "steps[%u].%s",
	    i, key), 0);
	free(src);
}

/* Templates and .steps references of step i: needs the graph. */
static void
check_exprs(struct loader *L, uint32_t i, uint32_t *stamp, uint32_t *mark)
{
	const struct jdoc *j = L->j;
	struct step *s = &L->g->s[i];
	struct refctx r = { L, i, NULL, stamp, mark, 1 };
	struct step_tmpl tp;
	char path[300];

	memset(&tp, 0, sizeof(tp));
	expr_refs(L, &r, i, s->foreach, "foreach");
	r.no_item = 0;		/* the rest is per instance */
	expr_refs(L, &r, i, s->when, "when");
	expr_refs(L, &r, i, s->input, "input");
	if (s->kind == CMD_RUN && s->cmd != JNONE && j->n[s->cmd].kind == J_STR) {
		path_of(path, sizeof(path), "steps[%u].run", i);
		if ((tp.run = add_tmpl(L, s->cmd, path)) != NULL) {
			size_t bad;
			const char *why;

			scan_tmpl_refs(&r, tp.run, path, 1);
			if (tmpl_shell_places(tp.run, &bad, &why) == -1)
				diag_add(L->d, DIAG_ERROR, path, "template {{ %s }} "
				    "%s cannot be quoted for the "
				    "shell: pass it through env (\"env\": {\"V\": "
				    "\"{{ ... }}\"}) and write \"$V\"",
				    tp.run->part[bad].text, why);
		}
	}
	if (s->kind == CMD_ARGV && s->cmd != JNONE && j->n[s->cmd].kind == J_ARR)
		tp.argv = array_tmpls(L, &r, s->cmd, "argv", i);
	if (s->launcher != JNONE && j->n[s->launcher].kind == J_ARR)
		tp.launcher = array_tmpls(L, &r, s->launcher, "launcher", i);
	if (s->cwd != JNONE) {
		path_of(path, sizeof(path), "steps[%u].cwd", i);
		if ((tp.cwd = add_tmpl(L, s->cwd, path)) != NULL)
			scan_tmpl_refs(&r, tp.cwd, path, 1);
	}
	tp.env = env_tmpls(L, &r, s, i);
	if (s->inputs != JNONE)
		tp.inputs = array_tmpls(L, &r, s->inputs, "inputs", i);
	if (s->outputs != JNONE)
		tp.outputs = array_tmpls(L, &r, s->outputs, "outputs", i);
	/* A transform's files are hashed before its evaluator runs. */
	if (s->kind == CMD_TRANSFORM && (tp.inputs != NULL ||
	    tp.outputs != NULL))
		diag_add(L->d, DIAG_ERROR, path_of(path, sizeof(path),
		    "steps[%u].%s", i, tp.inputs != NULL ? "inputs" :
		    "outputs"), "a transform's files cannot have templates "
		    "(write the paths, or use a run step)");
	if (tp.run != NULL || tp.argv != NULL || tp.launcher != NULL ||
	    tp.cwd != NULL || tp.env != NULL || tp.inputs != NULL ||
	    tp.outputs != NULL) {
		s->tp = xmalloc(sizeof(*s->tp));
		*s->tp = tp;
	}
	/* Templates in the top-level env see each step's context too. */
	if (L->g->env_has_tmpl)
		s->all_refs = 1;
}

/*
 * Edit distances "did you mean" may compute in all: each unknown need costs
 * one per step, and a document of typos must still load in bounded time.
 */
#define SPELL_BUDGET	(20 * 1000 * 1000)

/* mark: per step, i + 1 once step i needs it (duplicates in O(1)). */
static void
check_needs(struct loader *L, uint32_t i, uint32_t arr, uint32_t *cnt,
    uint32_t *mark, const char ***ids, size_t *budget)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	char path[300];
	uint32_t e, n, m;
	int64_t t;

	if (want_kind(L, arr, J_ARR, path_of(path, sizeof(path),
	    "steps[%u].needs", i), "an array of step ids") == -1)
		return;
	for (e = arr + 1, n = 0; e < j->n[arr].end; e = j->n[e].end, n++) {
		path_at(path, sizeof(path), path_key(path, sizeof(path),
		    path_at(path, sizeof(path), "steps", i), "needs"), n);
		if (want_kind(L, e, J_STR, path, "a step id string") == -1)
			continue;
		t = j->n[e].esc ? -1 : dag_find(g, j->buf + j->n[e].off + 1,
		    j->n[e].len - 2);
		if (t == -1) {
			char *name = jdoc_strdup(j, e, NULL);
			const char *sug = NULL;

			if (*budget >= g->n) {
				*budget -= g->n;
				if (*ids == NULL) {
					*ids = xreallocarray(NULL, g->n,
					    sizeof(**ids));
					for (m = 0; m < g->n; m++)
						(*ids)[m] = g->s[m].id;
				}
				sug = spell_suggest(name, *ids, g->n);
			}
			if (sug != NULL)
				diag_add(L->d, DIAG_ERROR, path, "unknown step "
				    "\"%.100s\" (did you mean \"%s\"?)", name,
				    sug);
			else
				diag_add(L->d, DIAG_ERROR, path,
				    "unknown step \"%.100s\"", name);
			free(name);
			continue;
		}
		if ((uint32_t)t == i) {
			diag_add(L->d, DIAG_ERROR, path, "step \"%s\" needs "
			    "itself", g->s[i].id);
			continue;
		}
		if (mark[t] == i + 1) {
			diag_add(L->d, DIAG_WARNING, path, "\"%s\" is listed "
			    "twice", g->s[t].id);
			continue;
		}
		if (g->s[t].final && !g->s[i].final) {
			diag_add(L->d, DIAG_ERROR, path, "\"%s\" is in "
			    "\"finally\": it runs after every other step, so "
			    "\"%s\" cannot need it (drop the need, or add \"%s\" "
			    "to \"finally\")", g->s[t].id, g->s[i].id,
			    g->s[i].id);
			continue;
		}
		mark[t] = i + 1;
		g->need[g->need_off[i] + cnt[i]++] = (uint32_t)t;
	}
}

static void
build_graph(struct loader *L)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	uint32_t i, total = 0, *cnt, *mark, k, w;
	const char **ids = NULL;
	size_t budget = SPELL_BUDGET;

	g->need_off = xcalloc(g->n + 1, sizeof(*g->need_off));
	for (i = 0; i < g->n; i++) {
		g->need_off[i] = total;
		if (L->needs_node[i] != JNONE &&
		    j->n[L->needs_node[i]].kind == J_ARR)
			total += j->n[L->needs_node[i]].len;
		if (g->s[i].final)
			total += g->n - L->nfinal;
	}
	g->need_off[g->n] = total;
	g->need = xcalloc(total + 1, sizeof(*g->need));
	cnt = xcalloc(g->n + 1, sizeof(*cnt));
	mark = xcalloc(g->n + 1, sizeof(*mark));
	for (i = 0; i < g->n; i++) {
		if (L->needs_node[i] != JNONE)
			check_needs(L, i, L->needs_node[i], cnt, mark, &ids,
			    &budget);
		/* A finally step needs every other step, as all_done. */
		for (k = 0; k < g->n && g->s[i].final; k++)
			if (!g->s[k].final && mark[k] != i + 1)
				g->need[g->need_off[i] + cnt[i]++] = k;
	}
	free(mark);
	free(ids);
	/* Compact: drop the slots of bad or duplicate needs. */
	for (i = 0, w = 0; i < g->n; i++) {
		uint32_t from = g->need_off[i];

		g->need_off[i] = w;
		for (k = 0; k < cnt[i]; k++)
			g->need[w++] = g->need[from + k];
	}
	g->need_off[g->n] = w;
	g->nedges = w;
	free(cnt);
	graph_build_deps(g);
}

static void
load_steps(struct loader *L, uint32_t steps)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	const char *why;
	char path[300];
	uint32_t e, i, idn;
	int64_t other;

	if (steps == JNONE) {
		diag_add(L->d, DIAG_ERROR, "steps", "missing: a DAG needs a "
		    "non-empty \"steps\" array");
		return;
	}
	if (want_kind(L, steps, J_ARR, "steps", "an array of steps") == -1)
		return;
	if (j->n[steps].len == 0) {
		diag_add(L->d, DIAG_ERROR, "steps", "must not be empty");
		return;
	}
	g->n = j->n[steps].len;
	g->s = xcalloc(g->n, sizeof(*g->s));
	L->needs_node = xcalloc(g->n, sizeof(*L->needs_node));
	L->nsteps = g->n;
	L->combos = xcalloc(g->n, sizeof(*L->combos));
	L->ncombo = xcalloc(g->n, sizeof(*L->ncombo));
	for (g->idcap = 16; g->idcap < (size_t)g->n * 2; g->idcap *= 2)
		;
	g->idtab = xcalloc(g->idcap, sizeof(*g->idtab));
	for (e = steps + 1, i = 0; e < j->n[steps].end; e = j->n[e].end, i++) {
		struct step *s = &g->s[i];
		size_t len;

		*s = L->def;
		s->node = e;
		L->needs_node[i] = JNONE;
		if (L->def.pol.exit_codes != NULL) {
			s->pol.exit_codes = xmalloc(256);
			memcpy(s->pol.exit_codes, L->def.pol.exit_codes, 256);
		}
		path_at(path, sizeof(path), "steps", i);
		if (want_kind(L, e, J_OBJ, path, "an object") == -1) {
			s->id = xasprintf("#%u", i);
			continue;
		}
		idn = jdoc_get(j, e, "id");
		L->needs_node[i] = jdoc_get(j, e, "needs");
		check_fields(L, e, path, s, i);
		path_key(path, sizeof(path), path, "id");
		if (idn == JNONE) {
			diag_add(L->d, DIAG_ERROR, path_of(path, sizeof(path),
			    "steps[%u]", i), "missing \"id\"");
			s->id = xasprintf("#%u", i);
			continue;
		}
		if (want_kind(L, idn, J_STR, path, "a string") == -1) {
			s->id = xasprintf("#%u", i);
			continue;
		}
		s->id = jdoc_strdup(j, idn, &len);
		if (strlen(s->id) != len || !id_valid(s->id, len, &why)) {
			if (strlen(s->id) != len)
				why = "must not contain NUL";
			diag_add(L->d, DIAG_ERROR, path, "bad id \"%.100s%s\": "
			    "%s", s->id, len > 100 ? "..." : "", why);
			free(s->id);
			s->id = xasprintf("#%u", i);
			continue;
		}
		if ((other = dag_id_insert(g, i)) != -1)
			diag_add(L->d, DIAG_ERROR, path, "duplicate id \"%s\" "
			    "(first used by steps[%lld])", s->id,
			    (long long)other);
	}
}

/*
 * "finally": steps that run after every other step, whatever happened
 * (DAGMan's FINAL, GitHub's if: always()).  Each is an all_done exit
 * handler that needs every step outside the list; build_graph adds those
 * needs, so the plan, the scheduler and the exports order them last with
 * no case of their own.
 */
static void
load_finally(struct loader *L)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	uint32_t e, k, tn;
	int64_t t;
	char path[300];

	if (L->finally == JNONE)
		return;
	for (e = L->finally + 1, k = 0; e < j->n[L->finally].end;
	    e = j->n[e].end, k++) {
		path_of(path, sizeof(path), "finally[%u]", k);
		if (want_kind(L, e, J_STR, path, "a step id") == -1)
			continue;
		t = j->n[e].esc ? -1 : dag_find(g, j->buf + j->n[e].off + 1,
		    j->n[e].len - 2);
		if (t == -1) {
			char *name = jdoc_strdup(j, e, NULL);

			diag_add(L->d, DIAG_ERROR, path, "unknown step "
			    "\"%.100s\"", name);
			free(name);
			continue;
		}
		if (g->s[t].final) {
			diag_add(L->d, DIAG_WARNING, path, "\"%s\" is listed "
			    "twice", g->s[t].id);
			continue;
		}
		g->s[t].final = 1;
		L->nfinal++;
		tn = j->n[g->s[t].node].kind == J_OBJ ? jdoc_get(j,
		    g->s[t].node, "trigger") : JNONE;
		if (g->s[t].pol.trigger != TRIG_ALL_DONE && (tn != JNONE ||
		    g->s[t].pol.trigger != TRIG_ALL_SUCCESS))
			diag_add(L->d, DIAG_ERROR, path, "step \"%s\" has "
			    "trigger %s%s, but a finally step runs whatever "
			    "happened: %s", g->s[t].id,
			    trigger_names[g->s[t].pol.trigger], tn == JNONE ?
			    " (from defaults)" : "", tn == JNONE ? "give it "
			    "\"trigger\": \"all_done\"" : "drop its "
			    "\"trigger\" or make it \"all_done\"");
		g->s[t].pol.trigger = TRIG_ALL_DONE;
	}
	if (L->nfinal == g->n)
		diag_add(L->d, DIAG_ERROR, "finally", "names every step: "
		    "finally steps run after the others, so at least one "
		    "step must be outside it");
}

static void
load_top_env_tmpl(struct loader *L)
{
	const struct jdoc *j = L->j;
	struct dag *g = L->g;
	uint32_t k, n;
	size_t p;
	char path[300];

	if (g->env == JNONE || j->n[g->env].kind != J_OBJ)
		return;
	g->env_tmpl = xcalloc(j->n[g->env].len + 1, sizeof(*g->env_tmpl));
	for (k = g->env + 1, n = 0; k < j->n[g->env].end;
	    k = j->n[k + 1].end, n++) {
		struct tmpl *t;
		char *name;

		if (j->n[k + 1].kind != J_STR)
			continue;
		name = jdoc_strdup(j, k, NULL);
		path_of(path, sizeof(path), "env.%.100s", name);
		free(name);
		if ((t = add_tmpl(L, k + 1, path)) != NULL) {
			for (p = 0; p < t->n; p++)
				if (t->part[p].is_expr)
					check_top_key(L, t->part[p].expr,
					    t->part[p].text, path, 1,
					    CTX_MATRIX | CTX_ITEM | CTX_QUIET);
			g->env_tmpl[n] = *t;
			g->env_has_tmpl = 1;
			free(t);
		}
	}
}

int
dag_name_ok(const char *s)
{
	size_t len = strlen(s), i, n;

	if (len == 0 || len > 100)
		return 0;
	for (i = 0; i < len; i += n)
		if ((n = strbuf_utf8_len((const unsigned char *)s + i,
		    len - i)) == 0)
			return 0;
	return 1;
}

/*
 * The name from the file's: its base name without the extension, a byte
 * that is not UTF-8 as "_", cut to 100 bytes; "dag" when nothing is left.
 * It must pass as a "name" in the dag.json of the run.
 */
static char *
base_name(const char *display)
{
	const char *b = strrchr(display, '/');
	char *name, *dot;
	size_t len, i, o, n;

	if (strcmp(display, "-") == 0 || strcmp(display, "<stdin>") == 0)
		return xstrdup("dag");
	name = xstrdup(b != NULL ? b + 1 : display);
	if ((dot = strrchr(name, '.')) != NULL && dot != name)
		*dot = '\0';
	len = strlen(name);
	for (i = o = 0; i < len; i += n) {
		if ((n = strbuf_utf8_len((unsigned char *)name + i,
		    len - i)) == 0) {
			n = 1;
			name[i] = '_';
		}
		if (o + n > 100)
			break;
		memmove(name + o, name + i, n);
		o += n;
	}
	name[o] = '\0';
	if (o == 0) {
		free(name);
		return xstrdup("dag");
	}
	return name;
}

/*
 * A step has a matrix or a foreach, not both; foreach_key, max_parallel
 * and fail_fast go with one.  max_parallel is a pool of the step's own.
 */
static void
check_groups(struct loader *L)
{
	struct dag *g = L->g;
	char path[300];
	uint32_t i;

	for (i = 0; i < g->n; i++) {
		struct step *s = &g->s[i];
		int grp = s->matrix != JNONE || s->foreach >= 0;

		path_at(path, sizeof(path), "steps", i);
		if (s->matrix != JNONE && s->foreach >= 0)
			diag_add(L->d, DIAG_ERROR, path, "has both \"matrix\" "
			    "and \"foreach\": keep one");
		if (s->foreach_key >= 0 && s->foreach < 0)
			diag_add(L->d, DIAG_ERROR, path, "has \"foreach_key\" "
			    "but no \"foreach\"");
		if (!grp && (s->max_par > 0 || s->pol.fail_fast))
			diag_add(L->d, DIAG_ERROR, path, "has \"%s\", which "
			    "is for the instances of a \"matrix\" or a "
			    "\"foreach\" (the run's limit is the top-level "
			    "max_parallel)", s->max_par > 0 ? "max_parallel" :
			    "fail_fast");
		if (s->max_par == 0 || !grp)
			continue;
		g->pool_name = xreallocarray(g->pool_name, g->npools + 1,
		    sizeof(*g->pool_name));
		g->pool_cap = xreallocarray(g->pool_cap, g->npools + 1,
		    sizeof(*g->pool_cap));
		g->pool_name[g->npools] = xasprintf("%s[*]", s->id);
		g->pool_cap[g->npools] = s->max_par;
		s->pol.pool2 = g->npools++;
	}
}

static void
loader_release(struct loader *L)
{
	uint32_t i;

	for (i = 0; L->combos != NULL && i < L->nsteps; i++)
		foreach_items_free(L->combos[i], L->ncombo[i]);
	free(L->combos);
	free(L->ncombo);
	free(L->needs_node);
	free(L->def.pol.exit_codes);
}

struct dag *
dag_load_buf(char *buf, size_t len, const char *display, const char *name,
    int flags, struct diag *d)
{
	struct loader L;
	struct dag *g = xcalloc(1, sizeof(*g));
	uint32_t steps, i, *stamp = NULL, *mark = NULL;

	memset(&L, 0, sizeof(L));
	g->buf = buf;
	g->len = len;
	g->file = xstrdup(display);
	g->name = name != NULL ? xstrdup(name) : base_name(display);
	g->params = g->env = JNONE;
	g->jqx = jqx_new();
	L.g = g;
	L.d = d;
	L.j = &g->doc;
	L.flags = flags;
	if (jdoc_parse(&g->doc, buf, len, d) == -1)
		goto fail;
	if (g->doc.n[0].kind != J_OBJ) {
		diag_add(d, DIAG_ERROR, NULL, "the document must be a JSON "
		    "object with a \"steps\" array, not %s",
		    jkind_article(g->doc.n[0].kind));
		goto fail;
	}
	L.top_launcher = L.finally = JNONE;
	check_top(&L, 0, &steps);
	step_init(&L.def);
	if (L.top_launcher != JNONE)
		check_launcher(&L, L.top_launcher, "launcher", &L.def);
	if (L.defaults != JNONE) {
		check_fields(&L, L.defaults, "defaults", &L.def, 0);
		L.def.env_def = L.def.env;
		L.def.env = JNONE;
	}
	load_top_env_tmpl(&L);
	load_steps(&L, steps);
	if (g->n == 0)
		goto fail;
	load_finally(&L);
	check_groups(&L);
	build_graph(&L);
	(void)graph_order(g, d);
	/* Expressions are checked even when the graph has errors, so one
	 * run of dag-validate reports everything. */
	stamp = xcalloc(1, sizeof(*stamp));
	mark = xcalloc(g->n, sizeof(*mark));
	for (i = 0; i < g->n; i++)
		if (g->doc.n[g->s[i].node].kind == J_OBJ)
			check_exprs(&L, i, stamp, mark);
	free(stamp);
	free(mark);
	if (flags & DAG_CHECK_ONLY)
		(void)jqx_check(g->jqx, d);
	else if (!(flags & DAG_NO_EXPR_COMPILE))
		(void)jqx_compile(g->jqx, d);
	report_late(&L);
	if (d->nerr == 0 && L.nmatrix > 0)
		matrix_expand(g, L.combos, L.ncombo, d);
	g->nstatic = g->n;
	loader_release(&L);
	if (d->nerr > 0)
		goto fail_late;
	return g;
fail:
	report_late(&L);
	loader_release(&L);
fail_late:
	dag_free(g);
	return NULL;
}

struct dag *
dag_load(const char *path, const char *display, int flags, struct diag *d)
{
	char *buf;
	size_t len;

	if (json_read_file(path, &buf, &len, d) == -1)
		return NULL;
	return dag_load_buf(buf, len, display, NULL, flags, d);
}

static void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	tmpl_release(t);
	free(t);
}

void
dag_free(struct dag *g)
{
	uint32_t i, k, n;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		struct step *s = &g->s[i];

		free(s->id);
		free(s->item);
		if (s->shared)
			continue;
		free(s->pol.exit_codes);
		free(s->refs);
		if (s->tp != NULL) {
			tmpl_free(s->tp->run);
			tmpl_free(s->tp->cwd);
			if (s->tp->argv != NULL) {
				n = g->doc.n[s->cmd].len;
				for (k = 0; k < n; k++)
					tmpl_release(&s->tp->argv[k]);
			}
			if (s->tp->env != NULL) {
				n = 0;	/* as env_tmpls counted them */
				if (s->env_def != JNONE &&
				    g->doc.n[s->env_def].kind == J_OBJ)
					n += g->doc.n[s->env_def].len;
				if (s->env != JNONE &&
				    g->doc.n[s->env].kind == J_OBJ)
					n += g->doc.n[s->env].len;
				for (k = 0; k < n; k++)
					tmpl_release(&s->tp->env[k]);
			}
			if (s->tp->launcher != NULL) {
				n = g->doc.n[s->launcher].len;
				for (k = 0; k < n; k++)
					tmpl_release(&s->tp->launcher[k]);
			}
			if (s->tp->inputs != NULL)
				for (k = 0; k < g->doc.n[s->inputs].len; k++)
					tmpl_release(&s->tp->inputs[k]);
			if (s->tp->outputs != NULL)
				for (k = 0; k < g->doc.n[s->outputs].len; k++)
					tmpl_release(&s->tp->outputs[k]);
			free(s->tp->inputs);
			free(s->tp->outputs);
			free(s->tp->argv);
			free(s->tp->env);
			free(s->tp->launcher);
			free(s->tp);
		}
	}
	if (g->env_tmpl != NULL) {
		for (k = 0; k < g->doc.n[g->env].len; k++)
			tmpl_release(&g->env_tmpl[k]);
		free(g->env_tmpl);
	}
	for (i = 0; i < g->ngroups; i++) {
		free(g->groups[i].name);
		free(g->groups[i].member);
	}
	free(g->groups);
	for (i = 0; i < g->npools; i++)
		free(g->pool_name[i]);
	free(g->pool_name);
	free(g->pool_cap);
	free(g->s);
	free(g->need_off);
	free(g->need);
	free(g->dep_off);
	free(g->dep);
	free(g->idtab);
	free(g->order);
	jqx_free(g->jqx);
	jdoc_release(&g->doc);
	free(g->buf);
	free(g->file);
	free(g->name);
	free(g);
}
