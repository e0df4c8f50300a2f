/*
 * Compiled jq expressions.  libjq 1.6 re-binds every builtin on each
 * jq_compile (about 20 ms here), so compiling one state per expression
 * would make a DAG of 1,000 conditions take 20 s to load.  Instead the
 * distinct sources are compiled in batches of up to BATCH into one program
 *
 *	.[0] as $__i | .[1] | if $__i < 4 then (if $__i < 2 ...) else ... end
 *
 * whose leaves are the user's expressions, each wrapped in "(\n...\n)" so a
 * trailing comment cannot swallow the parenthesis.  Evaluation passes
 * [slot, input] and costs a few comparisons more.  A batch that fails to
 * compile is split in halves until each bad expression is alone, so errors
 * land on the right JSON path and the cost stays on the error path.
 *
 * It also owns the state-hygiene rules of LIBJQ.md (callbacks set, library
 * path empty, never start a failed compile) and the {{ }} templates.
 */
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <jq.h>

#include "diag.h"
#include "jqexpr.h"
#include "strbuf.h"
#include "xalloc.h"

#define BATCH	400

struct expr {
	char		*src;
	char		*path;
	uint32_t	 uniq;		/* index into jqx.u */
};

struct uniq {
	const char	*src;		/* borrowed from the first expr */
	const char	*path;
	int		 batch;		/* -1: did not compile */
	int		 slot;
	uint32_t	 hash;
	char		*err;		/* compile error, reported in order */
	int		 failed;	/* err was reported */
};

struct jqx {
	struct expr	*e;
	size_t		 ne, cape;
	struct uniq	*u;
	size_t		 nu, capu;
	uint32_t	*tab;		/* open addressing: uniq index + 1 */
	size_t		 tabcap;
	jq_state	**b;
	size_t		 nb;
	size_t		 ncompiled;	/* uniq entries handled so far */
	struct strbuf	 err;		/* first compile error message */
};

const char *
jqx_src(const struct jqx *x, int i)
{
	return x->e[i].src;
}

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct jqx *
jqx_new(void)
{
	return xcalloc(1, sizeof(struct jqx));
}

void
jqx_free(struct jqx *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->ne; i++) {
		free(x->e[i].src);
		free(x->e[i].path);
	}
	for (i = 0; i < x->nb; i++)
		if (x->b[i] != NULL)
			jq_teardown(&x->b[i]);
	free(x->e);
	free(x->u);
	free(x->tab);
	free(x->b);
	strbuf_release(&x->err);
	free(x);
}

static void
tab_grow(struct jqx *x)
{
	size_t i, j, cap = x->tabcap ? x->tabcap * 2 : 256;
	uint32_t *t = xcalloc(cap, sizeof(*t));

	for (i = 0; i < x->nu; i++) {
		for (j = x->u[i].hash & (cap - 1); t[j] != 0; j = (j + 1) &
		    (cap - 1))
			;
		t[j] = (uint32_t)i + 1;
	}
	free(x->tab);
	x->tab = t;
	x->tabcap = cap;
}

int
jqx_add(struct jqx *x, const char *src, const char *path)
{
	struct expr *e;
	uint32_t h = hash_str(src);
	size_t j;

	if (x->ne == x->cape) {
		x->cape = x->cape ? x->cape * 2 : 64;
		x->e = xreallocarray(x->e, x->cape, sizeof(*x->e));
	}
	e = &x->e[x->ne];
	e->src = xstrdup(src);
	e->path = xstrdup(path);
	if ((x->nu + 1) * 2 > x->tabcap)
		tab_grow(x);
	for (j = h & (x->tabcap - 1); x->tab[j] != 0; j = (j + 1) &
	    (x->tabcap - 1)) {
		struct uniq *u = &x->u[x->tab[j] - 1];

		if (u->hash == h && strcmp(u->src, src) == 0)
			break;
	}
	if (x->tab[j] == 0) {
		if (x->nu == x->capu) {
			x->capu = x->capu ? x->capu * 2 : 64;
			x->u = xreallocarray(x->u, x->capu, sizeof(*x->u));
		}
		x->u[x->nu] = (struct uniq){ e->src, e->path, -1, 0, h, NULL,
		    0 };
		x->tab[j] = (uint32_t)++x->nu;
	}
	e->uniq = x->tab[j] - 1;
	return (int)x->ne++;
}

/* The error callback: keep the first message, cleaned to one line. */
static void
on_error(void *arg, jv msg)
{
	struct jqx *x = arg;
	const char *m, *nl, *at;
	size_t n;

	if (jv_get_kind(msg) != JV_KIND_STRING) {
		msg = jv_dump_string(msg, 0);
	}
	m = jv_string_value(msg);
	if (x->err.len == 0 && strncmp(m, "jq: ", 4) == 0 &&
	    strstr(m, "compile error") != NULL && strchr(m, '\n') == NULL &&
	    strncmp(m, "jq: error", 9) != 0) {
		jv_free(msg);
		return;		/* "jq: 1 compile error" summary */
	}
	if (x->err.len == 0) {
		if (strncmp(m, "jq: error: ", 11) == 0)
			m += 11;
		n = (nl = strchr(m, '\n')) != NULL ? (size_t)(nl - m) :
		    strlen(m);
		if ((at = strstr(m, " at <top-level>")) != NULL &&
		    (size_t)(at - m) < n)
			n = (size_t)(at - m);
		if ((at = strstr(m, " (Unix shell quoting issues?)")) != NULL &&
		    (size_t)(at - m) < n)
			n = (size_t)(at - m);
		strbuf_add(&x->err, m, n);
	}
	jv_free(msg);
}

static void
noop_debug(void *arg, jv msg)
{
	(void)arg;
	jv_free(msg);
}

static jq_state *
state_new(struct jqx *x)
{
	jq_state *jq;

	if ((jq = jq_init()) == NULL)
		return NULL;
	jq_set_error_cb(jq, on_error, x);
	/* libjq 1.6 leaves these uninitialised (LIBJQ.md pitfall 1). */
	jq_set_input_cb(jq, NULL, NULL);
	jq_set_debug_cb(jq, noop_debug, NULL);
	/* Without it, "import" aborts the process (pitfall 2). */
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
	return jq;
}

static void
emit_tree(struct jqx *x, struct strbuf *sb, const size_t *idx, size_t lo,
    size_t hi)
{
	size_t mid;

	if (hi - lo == 1) {
		strbuf_adds(sb, "(\n");
		strbuf_adds(sb, x->u[idx[lo]].src);
		strbuf_adds(sb, "\n)");
		return;
	}
	mid = lo + (hi - lo) / 2;
	strbuf_addf(sb, "if $__i < %zu then ", mid);
	emit_tree(x, sb, idx, lo, mid);
	strbuf_adds(sb, " else ");
	emit_tree(x, sb, idx, mid, hi);
	strbuf_adds(sb, " end");
}

/* Compiles uniq entries idx[0..n) as one state; NULL if it fails. */
static jq_state *
compile_set(struct jqx *x, const size_t *idx, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	jq_state *jq;

	if ((jq = state_new(x)) == NULL)
		return NULL;
	strbuf_adds(&sb, ".[0] as $__i | .[1] | ");
	emit_tree(x, &sb, idx, 0, n);
	strbuf_reset(&x->err);
	if (!jq_compile_args(jq, sb.buf, jv_object()))
		jq_teardown(&jq);
	strbuf_release(&sb);
	return jq;
}

static void
add_batch(struct jqx *x, jq_state *jq, const size_t *idx, size_t n)
{
	size_t i;

	x->b = xreallocarray(x->b, x->nb + 1, sizeof(*x->b));
	x->b[x->nb] = jq;
	for (i = 0; i < n; i++) {
		x->u[idx[i]].batch = (int)x->nb;
		x->u[idx[i]].slot = (int)i;
	}
	x->nb++;
}

static size_t skip_string(const char *, size_t, int *);

/* 1 if src ends inside a string literal. */
static int
open_string(const char *src)
{
	size_t i = 0;
	int ok = 1;

	while (src[i] != '\0') {
		if (src[i] == '"') {
			i = skip_string(src, i, &ok);
			if (!ok && src[i] == '\0')
				return 1;
			ok = 1;
			continue;
		}
		if (src[i] == '#') {
			while (src[i] != '\0' && src[i] != '\n')
				i++;
			continue;
		}
		i++;
	}
	return 0;
}

/*
 * Compiles a set; on failure, bisects.  Each bad expression ends up alone
 * and is reported with jq's own message.  O(k log n) compiles for k errors.
 */
static int
compile_bisect(struct jqx *x, const size_t *idx, size_t n)
{
	jq_state *jq;
	size_t half;
	int a, b;

	if (n == 0)
		return 0;
	if (n > 1 || jqx_balanced(x->u[idx[0]].src)) {
		if ((jq = compile_set(x, idx, n)) != NULL) {
			add_batch(x, jq, idx, n);
			return 0;
		}
	}
	if (n == 1 && open_string(x->u[idx[0]].src)) {
		/* libjq 1.6 leaks the token of an unterminated string on
		 * this error path (found by fuzzing): say it ourselves. */
		x->u[idx[0]].err = xstrdup("syntax error, unterminated string "
		    "literal");
		return -1;
	}
	if (n == 1) {
		/* Alone and unwrapped, jq reports the user's own text. */
		if ((jq = state_new(x)) != NULL) {
			strbuf_reset(&x->err);
			if (jq_compile_args(jq, x->u[idx[0]].src, jv_object()))
				strbuf_adds(&x->err, "unbalanced brackets");
			jq_teardown(&jq);
		}
		x->u[idx[0]].err = xstrdup(x->err.len ? x->err.buf :
		    "syntax error");
		return -1;
	}
	half = n / 2;
	a = compile_bisect(x, idx, half);
	b = compile_bisect(x, idx + half, n - half);
	return a == -1 || b == -1 ? -1 : 0;
}

/* Compiles uniq entries [x->ncompiled, end) in batches; 0 or -1. */
static int
compile_upto(struct jqx *x, size_t end)
{
	size_t *idx, i, j, n;
	int rc = 0;

	idx = xreallocarray(NULL, BATCH, sizeof(*idx));
	while (x->ncompiled < end) {
		n = end - x->ncompiled;
		if (n > BATCH)
			n = BATCH;
		for (i = 0, j = x->ncompiled; i < n; i++, j++) {
			/* An unbalanced source could escape its parentheses. */
			if (!jqx_balanced(x->u[j].src)) {
				size_t one = j;

				if (compile_bisect(x, &one, 1) == -1)
					rc = -1;
				x->ncompiled = j + 1;
				break;
			}
			idx[i] = j;
		}
		if (i == n) {
			if (compile_bisect(x, idx, n) == -1)
				rc = -1;
			x->ncompiled += n;
		} else if (i > 0) {
			if (compile_bisect(x, idx, i) == -1)
				rc = -1;
		}
	}
	free(idx);
	return rc;
}

/* Errors in the order the expressions appear in the document. */
static int
report(struct jqx *x, size_t first, struct diag *d)
{
	size_t j;
	int rc = 0;

	for (j = first; j < x->nu; j++)
		if (x->u[j].err != NULL) {
			diag_add(d, DIAG_ERROR, x->u[j].path,
			    "jq expression does not compile: %s", x->u[j].err);
			x->u[j].failed = 1;
			free(x->u[j].err);
			x->u[j].err = NULL;
			rc = -1;
		}
	return rc;
}

int
jqx_failed(const struct jqx *x, int i)
{
	return x->u[x->e[i].uniq].failed;
}

int
jqx_compile(struct jqx *x, struct diag *d)
{
	size_t first = x->ncompiled;

	(void)compile_upto(x, x->nu);
	return report(x, first, d);
}

/*
 * For a validator only: the compile work is split over forked children,
 * one per CPU, each compiling a share of the batches and writing its
 * errors ("index message" lines) to a memfd; the parent compiles the first
 * share itself.  The compiled states of the children's shares are lost,
 * so jqx_first must not be used afterwards.  About 1/CPUs of the time.
 */
int
jqx_check(struct jqx *x, struct diag *d)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t first = x->ncompiled, total = x->nu - first, share, w, nw;
	pid_t pid[16];
	int fd[16], status;

	nw = ncpu > 1 ? (size_t)ncpu : 1;
	if (nw > 16)
		nw = 16;
	if (total / BATCH < 2 || nw < 2)
		return jqx_compile(x, d);
	if (nw > total / BATCH)
		nw = total / BATCH;
	share = (total + nw - 1) / nw;
	fflush(NULL);
	for (w = 1; w < nw; w++) {
		size_t from = first + w * share, to = from + share, j;
		FILE *fp;

		if (to > x->nu)
			to = x->nu;
		pid[w] = -1;
		if ((fd[w] = memfd_create("dagkit-check", MFD_CLOEXEC)) == -1 ||
		    (pid[w] = fork()) == -1)
			break;
		if (pid[w] == 0) {
			x->ncompiled = from;
			(void)compile_upto(x, to);
			if ((fp = fdopen(fd[w], "w")) != NULL) {
				for (j = from; j < to; j++)
					if (x->u[j].err != NULL)
						fprintf(fp, "%zu %s\n", j,
						    x->u[j].err);
				fflush(fp);
			}
			_exit(0);
		}
	}
	nw = w;		/* the children that started */
	(void)compile_upto(x, first + share < x->nu ? first + share : x->nu);
	/* The shares of children that could not start: compiled here. */
	if (first + nw * share < x->nu) {
		x->ncompiled = first + nw * share;
		(void)compile_upto(x, x->nu);
	}
	for (w = 1; w < nw; w++) {
		struct strbuf sb = STRBUF_INIT;
		char buf[4096], *line, *nl;
		ssize_t n;
		off_t off = 0;

		while (waitpid(pid[w], &status, 0) == -1 && errno == EINTR)
			;
		while ((n = pread(fd[w], buf, sizeof(buf), off)) > 0) {
			strbuf_add(&sb, buf, (size_t)n);
			off += n;
		}
		close(fd[w]);
		for (line = sb.buf; line != NULL && (nl = strchr(line, '\n')) !=
		    NULL; line = nl + 1) {
			char *end;
			size_t j = strtoul(line, &end, 10);

			*nl = '\0';
			if (j < x->nu && *end == ' ' && x->u[j].err == NULL)
				x->u[j].err = xstrdup(end + 1);
		}
		strbuf_release(&sb);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			diag_add(d, DIAG_SYSERR, NULL, "compiling jq expressions "
			    "in a helper process failed");
	}
	x->ncompiled = x->nu;
	return report(x, first, d);
}

int
jqx_first(struct jqx *x, int i, jv input, jv *out, char **err)
{
	struct uniq *u;
	jq_state *jq;
	jv r, msg;

	*err = NULL;
	if (i < 0 || (size_t)i >= x->ne ||
	    (u = &x->u[x->e[i].uniq])->batch < 0) {
		jv_free(input);
		*err = xstrdup("expression did not compile");
		return -1;
	}
	jq = x->b[u->batch];
	jq_start(jq, jv_array_append(jv_array_append(jv_array(),
	    jv_number(u->slot)), input), 0);
	r = jq_next(jq);
	if (jv_is_valid(r)) {
		*out = r;
		return 1;
	}
	if (jq_halted(jq)) {
		jv_free(r);
		msg = jq_get_error_message(jq);
		if (jv_get_kind(msg) == JV_KIND_STRING)
			*err = xstrdup(jv_string_value(msg));
		else if (jv_is_valid(msg)) {
			msg = jv_dump_string(msg, 0);
			*err = xstrdup(jv_string_value(msg));
		} else
			*err = xstrdup("halted");
		jv_free(msg);
		return -1;
	}
	if (jv_invalid_has_msg(jv_copy(r))) {
		msg = jv_invalid_get_msg(r);
		if (jv_get_kind(msg) != JV_KIND_STRING)
			msg = jv_dump_string(msg, 0);
		*err = xstrdup(jv_string_value(msg));
		jv_free(msg);
		return -1;
	}
	jv_free(r);
	return 0;
}

int
jqx_truthy(jv v)
{
	jv_kind k = jv_get_kind(v);

	return k != JV_KIND_FALSE && k != JV_KIND_NULL && k != JV_KIND_INVALID;
}

/*
 * The lexer.  It knows just enough jq to skip strings (with \( )
 * interpolation, which nests code and strings again) and # comments.
 * Returns the index after the construct, or the string length when
 * unterminated.
 */
static size_t skip_code(const char *, size_t, int *);

static size_t
skip_string(const char *s, size_t i, int *ok)
{
	for (i++; s[i] != '\0'; i++) {
		if (s[i] == '"')
			return i + 1;
		if (s[i] == '\\') {
			if (s[i + 1] == '(') {
				i = skip_code(s, i + 2, ok);
				if (s[i] != ')') {
					*ok = 0;
					return i;
				}
			} else if (s[i + 1] != '\0')
				i++;
		}
	}
	*ok = 0;
	return i;
}

/* Skips code until an unmatched ')' or the end. */
static size_t
skip_code(const char *s, size_t i, int *ok)
{
	char stack[256];
	size_t depth = 0;

	while (s[i] != '\0') {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, i, ok);
			continue;
		}
		if (c == '#') {
			while (s[i] != '\0' && s[i] != '\n')
				i++;
			continue;
		}
		if (c == '(' || c == '[' || c == '{') {
			if (depth == sizeof(stack)) {
				*ok = 0;
				return strlen(s);
			}
			stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : '}';
		} else if (c == ')' || c == ']' || c == '}') {
			if (depth == 0) {
				if (c != ')')
					*ok = 0;
				return i;
			}
			if (stack[--depth] != c)
				*ok = 0;
		}
		i++;
	}
	if (depth != 0)
		*ok = 0;
	return i;
}

int
jqx_balanced(const char *src)
{
	int ok = 1;
	size_t end = skip_code(src, 0, &ok);

	return ok && src[end] == '\0';
}

static int
is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Reads a simple "..." literal (no escapes) at s; returns its length. */
static size_t
plain_string(const char *s, size_t *len)
{
	size_t i;

	if (s[0] != '"')
		return 0;
	for (i = 1; s[i] != '\0' && s[i] != '"'; i++)
		if (s[i] == '\\')
			return 0;
	if (s[i] != '"')
		return 0;
	*len = i - 1;
	return i + 1;
}

/* jq words after which a term starts ("true and .steps.a"). */
static int
after_keyword(const char *s, size_t i)
{
	static const char *const kw[] = { "and", "or", "not", "if", "then",
	    "elif", "else", "as", "reduce", "foreach", "try", "catch", "label",
	    "def", "import", "include", NULL };
	size_t end = i, start, k;

	while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t' ||
	    s[end - 1] == '\n'))
		end--;
	for (start = end; start > 0 && is_ident(s[start - 1]); start--)
		;
	if (start == end || (start > 0 && (s[start - 1] == '.' ||
	    s[start - 1] == '$')))
		return 0;
	for (k = 0; kw[k] != NULL; k++)
		if (strlen(kw[k]) == end - start &&
		    strncmp(s + start, kw[k], end - start) == 0)
			return 1;
	return 0;
}

/* Calls whose arguments see the call's own input: . is still ours there. */
static int
same_input_call(const char *s, size_t i)
{
	static const char *const fns[] = { "select", "first", "last", "limit",
	    "isempty", "not", "length", "tostring", "tojson", "test", "has",
	    "contains", "startswith", "endswith", "error", NULL };
	size_t end = i, start, k;

	while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t' ||
	    s[end - 1] == '\n'))
		end--;
	for (start = end; start > 0 && is_ident(s[start - 1]); start--)
		;
	if (start == end)
		return 1;	/* a plain ( ... ) */
	if (start > 0 && (s[start - 1] == '.' || s[start - 1] == '$'))
		return 0;
	if (after_keyword(s, i))
		return 1;	/* if (...), and (...) */
	for (k = 0; fns[k] != NULL; k++)
		if (strlen(fns[k]) == end - start &&
		    strncmp(s + start, fns[k], end - start) == 0)
			return 1;
	return 0;
}

#define REF_DEPTH	64

int
jqx_step_refs(const char *s, void (*fn)(void *, const char *, size_t, int),
    void *arg)
{
	size_t i = 0, j, n, len, d = 0;
	int ok = 1, dynamic = 0, certain;
	/* Per bracket depth: is . there still the context?  And has an
	 * "as $x" since the last | bound without changing it? */
	unsigned char other[REF_DEPTH] = { 0 }, bind[REF_DEPTH] = { 0 };
	char prev = ' ';

	while (s[i] != '\0') {
		if (s[i] == '"') {
			i = skip_string(s, i, &ok);
			prev = '"';
			continue;
		}
		if (s[i] == '#') {
			while (s[i] != '\0' && s[i] != '\n')
				i++;
			continue;
		}
		if (s[i] == '(' || s[i] == '[' || s[i] == '{') {
			if (d + 1 < REF_DEPTH) {
				d++;
				other[d] = other[d - 1] || (s[i] == '(' &&
				    !same_input_call(s, i));
				bind[d] = 0;
			} else
				other[d] = 1;
		} else if ((s[i] == ')' || s[i] == ']' || s[i] == '}') && d > 0)
			d--;
		else if (s[i] == '|' && s[i + 1] != '=') {
			/* "E as $x | body": body's . is E's input. */
			if (!bind[d])
				other[d] = 1;
			bind[d] = 0;
		} else if (strncmp(s + i, "as", 2) == 0 && !is_ident(s[i + 2]) &&
		    (i == 0 || (!is_ident(s[i - 1]) && s[i - 1] != '.' &&
		    s[i - 1] != '$')))
			bind[d] = 1;
		else if (strncmp(s + i, "def", 3) == 0 && !is_ident(s[i + 3]) &&
		    (i == 0 || (!is_ident(s[i - 1]) && s[i - 1] != '.' &&
		    s[i - 1] != '$')))
			memset(other, 1, sizeof(other));	/* any input */
		certain = !other[d];
		if (strncmp(s + i, ".steps", 6) == 0 && !is_ident(s[i + 6]) &&
		    ((!is_ident(prev) && strchr(".]})\"?$", prev) == NULL) ||
		    (is_ident(prev) && after_keyword(s, i)))) {
			j = i + 6;
			while (s[j] == ' ' || s[j] == '\t' || s[j] == '\n')
				j++;
			if (s[j] == '.' && is_ident(s[j + 1]) &&
			    !(s[j + 1] >= '0' && s[j + 1] <= '9')) {
				for (n = j + 1; is_ident(s[n]); n++)
					;
				fn(arg, s + j + 1, n - j - 1, certain);
				i = n;
			} else if (s[j] == '.' && (n = plain_string(s + j + 1,
			    &len)) > 0) {
				fn(arg, s + j + 2, len, certain);
				i = j + 1 + n;
			} else if ((s[j] == '[' || (s[j] == '.' &&
			    s[j + 1] == '[')) &&
			    (n = plain_string(s + j + (s[j] == '.') + 1,
			    &len)) > 0 && s[j + (s[j] == '.') + 1 + n] == ']') {
				fn(arg, s + j + (s[j] == '.') + 2, len, certain);
				i = j + (s[j] == '.') + 2 + n;
			} else {
				dynamic = 1;
				i = j;
			}
			prev = 'x';
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
			prev = s[i];
		i++;
	}
	return dynamic;
}

/*
 * The key an expression first reads from the context when it starts with
 * a path (".Names", ."x", .["x"]) and the context never has that key: the
 * value is always null, a typo or a Go template ({{.Names}}).
 */
int
jqx_unknown_top(const char *s, const char **key, size_t *len,
    const char *const *more)
{
	static const char *const top[] = { "params", "run", "step", "steps",
	    NULL };
	size_t i = 0, n, k;

	for (;;) {
		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r')
			i++;
		if (s[i] != '#')
			break;
		while (s[i] != '\0' && s[i] != '\n')
			i++;
	}
	if (s[i] != '.')
		return 0;
	i++;
	if (is_ident(s[i]) && !(s[i] >= '0' && s[i] <= '9')) {
		for (n = i; is_ident(s[n]); n++)
			;
		*key = s + i;
		*len = n - i;
	} else if ((n = plain_string(s + i, len)) > 0)
		*key = s + i + 1;
	else if (s[i] == '[' && (n = plain_string(s + i + 1, len)) > 0 &&
	    s[i + 1 + n] == ']')
		*key = s + i + 2;
	else
		return 0;
	for (k = 0; k < *len; k++)
		if ((unsigned char)(*key)[k] < 0x20)
			return 0;	/* not for a one-line message */
	for (k = 0; top[k] != NULL; k++)
		if (strlen(top[k]) == *len && strncmp(top[k], *key, *len) == 0)
			return 0;
	for (k = 0; more != NULL && more[k] != NULL; k++)
		if (strlen(more[k]) == *len && strncmp(more[k], *key, *len) ==
		    0)
			return 0;
	return 1;
}

/*
 * Templates.  "{{" opens an expression that ends at the first "}}" seen
 * outside jq strings and outside braces the expression opened itself, so
 * "{{ {a: 1} }}" works.
 */
static void
tmpl_push(struct tmpl *t, int is_expr, const char *s, size_t n)
{
	t->part = xreallocarray(t->part, t->n + 1, sizeof(*t->part));
	t->part[t->n].is_expr = is_expr;
	t->part[t->n].text = xstrndup(s, n);
	t->part[t->n].expr = -1;
	t->part[t->n].place = TQ_WORD;
	t->n++;
}

int
tmpl_parse(const char *s, struct tmpl *t, const char **why)
{
	const char *open, *p;
	size_t i, depth;
	int ok;

	t->part = NULL;
	t->n = 0;
	if (strstr(s, "{{") == NULL)
		return 1;
	while ((open = strstr(s, "{{")) != NULL) {
		if (open > s)
			tmpl_push(t, 0, s, (size_t)(open - s));
		p = open + 2;
		for (i = 0, depth = 0, ok = 1; p[i] != '\0'; ) {
			if (p[i] == '"') {
				i = skip_string(p, i, &ok);
				continue;
			}
			if (p[i] == '{')
				depth++;
			else if (p[i] == '}') {
				if (depth == 0 && p[i + 1] == '}')
					break;
				if (depth > 0)
					depth--;
			}
			i++;
		}
		if (p[i] == '\0') {
			*why = "unterminated template: \"{{\" without \"}}\"";
			tmpl_release(t);
			return -1;
		}
		while (i > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			i--;
		}
		{
			size_t n = i;

			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			if (n == 0) {
				*why = "empty template \"{{ }}\"";
				tmpl_release(t);
				return -1;
			}
			tmpl_push(t, 1, p, n);
		}
		s = p + i + 2;
	}
	if (*s != '\0')
		tmpl_push(t, 0, s, strlen(s));
	return 0;
}

void
tmpl_release(struct tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->part[i].text);
	free(t->part);
	t->part = NULL;
	t->n = 0;
}

int
tmpl_render(struct jqx *x, const struct tmpl *t, jv ctx, int shell,
    struct strbuf *sb, char **err)
{
	struct strbuf val = STRBUF_INIT;
	size_t i;
	jv r;
	int rc;

	for (i = 0; i < t->n; i++) {
		const struct tmpl_part *p = &t->part[i];

		if (!p->is_expr) {
			strbuf_adds(sb, p->text);
			continue;
		}
		rc = jqx_first(x, p->expr, jv_copy(ctx), &r, err);
		if (rc == 0) {
			*err = xasprintf("template {{ %s }} produced no value",
			    p->text);
			rc = -1;
		}
		if (rc == -1) {
			strbuf_release(&val);
			return -1;
		}
		strbuf_reset(&val);
		if (jv_get_kind(r) == JV_KIND_STRING)
			strbuf_add(&val, jv_string_value(r),
			    (size_t)jv_string_length_bytes(jv_copy(r)));
		else {
			jv s = jv_dump_string(jv_copy(r), 0);

			strbuf_adds(&val, jv_string_value(s));
			jv_free(s);
		}
		jv_free(r);
		/* A C string cannot carry it: refuse rather than cut. */
		if (memchr(val.buf != NULL ? val.buf : "", '\0', val.len) !=
		    NULL) {
			*err = xasprintf("template {{ %s }}: the value contains "
			    "a NUL character", p->text);
			strbuf_release(&val);
			return -1;
		}
		if (shell)
			shell_quote_at(sb, p->place, val.buf, val.len);
		else
			strbuf_add(sb, val.buf, val.len);
	}
	strbuf_release(&val);
	return 0;
}
