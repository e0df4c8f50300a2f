/*
 * The matrix: a step run once per combination of named lists, as GitHub
 * Actions' strategy.matrix (with include and exclude), expanded when the
 * DAG is loaded.  Each combination becomes a step of its own, "ID[key]",
 * so the plan, the scheduler, the journal and the exports see ordinary
 * steps; the group remembers which steps were one, so that a need on the
 * matrix step means every instance and its dependents get the outputs as
 * one array (exec.c).
 */
#include "compat.h"

#include <string.h>
#include <jv.h>

#include "dag.h"
#include "diag.h"
#include "foreach.h"
#include "graph.h"
#include "jdoc.h"
#include "matrix.h"
#include "strbuf.h"
#include "xalloc.h"

/* -- combinations ------------------------------------------------------ */

struct axes {
	uint32_t	 n;
	char		**name;
	jv		*list;
	jv		 include, exclude;	/* arrays, or null */
};

static void
axes_free(struct axes *a)
{
	uint32_t k;

	for (k = 0; k < a->n; k++) {
		free(a->name[k]);
		jv_free(a->list[k]);
	}
	free(a->name);
	free(a->list);
	jv_free(a->include);
	jv_free(a->exclude);
}

static int
is_axis(const struct axes *a, const char *key)
{
	uint32_t k;

	for (k = 0; k < a->n; k++)
		if (strcmp(a->name[k], key) == 0)
			return 1;
	return 0;
}

/* include or exclude: an array of non-empty objects; exclude's keys must
 * be the matrix's own. */
static int
check_list(const struct axes *a, jv v, const char *path, const char *what,
    struct diag *d)
{
	int bad = 0;

	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		diag_add(d, DIAG_ERROR, path, "%s must be an array of objects",
		    what);
		return -1;
	}
	jv_array_foreach(v, i, e) {
		if (jv_get_kind(e) != JV_KIND_OBJECT ||
		    jv_object_length(jv_copy(e)) == 0) {
			diag_add(d, DIAG_ERROR, path, "%s[%d] must be a "
			    "non-empty object of matrix values", what, i);
			bad = 1;
		} else if (what[0] == 'e')
			jv_object_foreach(e, k, x) {
				if (!bad && !is_axis(a, jv_string_value(k))) {
					diag_add(d, DIAG_ERROR, path, "exclude"
					    "[%d]: \"%.100s\" is not one of the "
					    "matrix's lists", i,
					    jv_string_value(k));
					bad = 1;
				}
				jv_free(k);
				jv_free(x);
			}
		jv_free(e);
	}
	return bad ? -1 : 0;
}

/* The lists of the matrix at v, checked. */
static int
read_axes(const struct jdoc *j, uint32_t v, const char *path,
    struct diag *d, struct axes *a)
{
	uint32_t k, cap = j->n[v].len;
	int bad = 0;

	memset(a, 0, sizeof(*a));
	a->include = a->exclude = jv_null();
	a->name = xcalloc(cap + 1, sizeof(*a->name));
	a->list = xcalloc(cap + 1, sizeof(*a->list));
	for (k = v + 1; k < j->n[v].end; k = j->n[k + 1].end) {
		char *name = jdoc_strdup(j, k, NULL);
		jv x = jdoc_jv(j, k + 1);

		if (strcmp(name, "include") == 0 ||
		    strcmp(name, "exclude") == 0) {
			jv_free(name[0] == 'i' ? a->include : a->exclude);
			if (name[0] == 'i')
				a->include = x;
			else
				a->exclude = x;
			free(name);
			continue;
		}
		if (jv_get_kind(x) != JV_KIND_ARRAY ||
		    jv_array_length(jv_copy(x)) == 0) {
			diag_add(d, DIAG_ERROR, path, "\"%.100s\" must be a "
			    "non-empty array of values", name);
			bad = 1;
		}
		a->name[a->n] = name;
		a->list[a->n++] = x;
	}
	if (a->n == 0 && jv_get_kind(a->include) == JV_KIND_NULL) {
		diag_add(d, DIAG_ERROR, path, "must name at least one list "
		    "(\"os\": [\"bookworm\", \"trixie\"]) or an \"include\"");
		bad = 1;
	}
	if (jv_get_kind(a->exclude) != JV_KIND_NULL && check_list(a,
	    a->exclude, path, "exclude", d) == -1)
		bad = 1;
	if (jv_get_kind(a->include) != JV_KIND_NULL && check_list(a,
	    a->include, path, "include", d) == -1)
		bad = 1;
	return bad ? -1 : 0;
}

/* 1 if every member of e that passes keep() equals c's. */
static int
matches(const struct axes *a, jv c, jv e, int axes_only)
{
	int ok = 1;

	jv_object_foreach(e, k, x) {
		if (ok && (!axes_only || is_axis(a, jv_string_value(k))))
			ok = jv_equal(jv_object_get(jv_copy(c), jv_copy(k)),
			    jv_copy(x));
		jv_free(k);
		jv_free(x);
	}
	return ok;
}

/* The product of the lists, first list outermost, less the excluded. */
static jv
product(const struct axes *a, struct diag *d, const char *path)
{
	jv out = jv_array();
	uint32_t k, *at = xcalloc(a->n + 1, sizeof(*at));
	double total = 1;

	for (k = 0; k < a->n; k++)
		total *= jv_array_length(jv_copy(a->list[k]));
	if (total > MATRIX_MAX) {
		diag_add(d, DIAG_ERROR, path, "has %.0f combinations; at most "
		    "%d are allowed", total, MATRIX_MAX);
		free(at);
		jv_free(out);
		return jv_invalid();
	}
	while (a->n > 0) {
		jv c = jv_object();
		int drop = 0;

		for (k = 0; k < a->n; k++)
			c = jv_object_set(c, jv_string(a->name[k]),
			    jv_array_get(jv_copy(a->list[k]), (int)at[k]));
		if (jv_get_kind(a->exclude) == JV_KIND_ARRAY)
			jv_array_foreach(a->exclude, i, e) {
				(void)i;
				drop = drop || matches(a, c, e, 0);
				jv_free(e);
			}
		out = drop ? (jv_free(c), out) : jv_array_append(out, c);
		for (k = a->n; k-- > 0;) {
			if (++at[k] < (uint32_t)jv_array_length(jv_copy(
			    a->list[k])))
				break;
			at[k] = 0;
		}
		if (k == UINT32_MAX)
			break;
	}
	free(at);
	return out;
}

/* GitHub's include: an entry extends each original combination whose
 * lists' values it repeats, else it is a combination of its own. */
static jv
include(const struct axes *a, jv all)
{
	int norig = jv_array_length(jv_copy(all)), i, hit;

	jv_array_foreach(a->include, n, e) {
		(void)n;
		for (i = 0, hit = 0; i < norig; i++) {
			jv c = jv_array_get(jv_copy(all), i);

			if (!matches(a, c, e, 1)) {
				jv_free(c);
				continue;
			}
			hit = 1;
			jv_object_foreach(e, k, x) {
				c = jv_object_set(c, k, x);
			}
			all = jv_array_set(all, i, c);
		}
		all = hit ? (jv_free(e), all) : jv_array_append(all, e);
	}
	return all;
}

/* A value as it may appear in an id, or NULL. */
static char *
key_part(jv v)
{
	char *s;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = xstrdup(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER ||
	    jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
	{
		jv t = jv_dump_string(jv_copy(v), 0);

		s = xstrdup(jv_string_value(t));
		jv_free(t);
	} else
		s = NULL;
	jv_free(v);
	if (s != NULL && !foreach_key_ok(s, strlen(s))) {
		free(s);		/* what an id may hold: foreach's rule */
		return NULL;
	}
	return s;
}

/* The key of combination c: its lists' values joined by ",", or (a
 * combination include made) all its values; NULL if one cannot be. */
static char *
combo_key(const struct axes *a, jv c)
{
	struct strbuf sb = STRBUF_INIT;
	char *p;
	uint32_t k;
	int own = 1;

	for (k = 0; k < a->n; k++)
		if (jv_object_has(jv_copy(c), jv_string(a->name[k])))
			own = 0;
	if (!own)
		for (k = 0; k < a->n; k++) {
			p = key_part(jv_object_get(jv_copy(c),
			    jv_string(a->name[k])));
			if (p == NULL)
				goto bad;
			strbuf_adds(&sb, k > 0 ? "," : "");
			strbuf_adds(&sb, p);
			free(p);
		}
	else
		jv_object_foreach(c, kk, x) {
			p = key_part(x);
			jv_free(kk);
			if (p == NULL)
				goto bad;
			strbuf_adds(&sb, sb.len > 0 ? "," : "");
			strbuf_adds(&sb, p);
			free(p);
		}
	if (sb.len > 0 && sb.len <= 100)
		return strbuf_detach(&sb, NULL);
bad:
	strbuf_release(&sb);
	return NULL;
}

/* Keys by value, or else every key is the combination's index. */
static void
name_combos(const struct axes *a, jv all, struct fitem *c, uint32_t n)
{
	jv seen = jv_object();	/* the keys so far: O(1) each */
	uint32_t k;
	int by_index = 0;

	for (k = 0; k < n; k++) {
		jv x = jv_array_get(jv_copy(all), (int)k), t;

		c[k].key = by_index ? NULL : combo_key(a, x);
		by_index = by_index || c[k].key == NULL ||
		    jv_object_has(jv_copy(seen), jv_string(c[k].key));
		if (!by_index)
			seen = jv_object_set(seen, jv_string(c[k].key),
			    jv_true());
		t = jv_dump_string(x, 0);
		c[k].json = xstrdup(jv_string_value(t));
		jv_free(t);
	}
	jv_free(seen);
	for (k = 0; by_index && k < n; k++) {
		free(c[k].key);
		c[k].key = xasprintf("%u", k);
	}
}

int
matrix_combos(const struct jdoc *j, uint32_t v, const char *path,
    struct diag *d, struct fitem **out)
{
	struct axes a;
	jv all;
	int n;

	*out = NULL;
	if (read_axes(j, v, path, d, &a) == -1) {
		axes_free(&a);
		return -1;
	}
	all = product(&a, d, path);
	if (jv_is_valid(all) && jv_get_kind(a.include) == JV_KIND_ARRAY)
		all = include(&a, all);
	if (!jv_is_valid(all)) {
		axes_free(&a);
		return -1;
	}
	if ((n = jv_array_length(jv_copy(all))) == 0 || n > MATRIX_MAX) {
		diag_add(d, DIAG_ERROR, path, n == 0 ? "has no combination "
		    "left: \"exclude\" removed them all" : "has more than %d "
		    "combinations", MATRIX_MAX);
		jv_free(all);
		axes_free(&a);
		return -1;
	}
	*out = xcalloc((size_t)n, sizeof(**out));
	name_combos(&a, all, *out, (uint32_t)n);
	jv_free(all);
	axes_free(&a);
	return n;
}

/* -- the expansion ------------------------------------------------------ */

/* Each old reference to step m becomes references to its instances. */
static uint32_t *
remap(const uint32_t *old, uint32_t n, const uint32_t *first,
    const uint32_t *cnt, uint32_t *nout)
{
	uint32_t k, t, total = 0, *v;

	for (k = 0; k < n; k++)
		total += cnt[old[k]];
	v = xcalloc(total + 1, sizeof(*v));
	for (k = 0, total = 0; k < n; k++)
		for (t = 0; t < cnt[old[k]]; t++)
			v[total++] = first[old[k]] + t;
	*nout = total;
	return v;
}

/* The new steps: instances are copies of their step, sharing its
 * templates, refs and exit codes (the first instance owns them). */
static struct step *
new_steps(struct dag *g, struct fitem **c, const uint32_t *n,
    const uint32_t *cnt, uint32_t nn)
{
	struct step *s = xcalloc(nn + 1, sizeof(*s));
	uint32_t o, k, v = 0, gi = 0;

	for (o = 0; o < g->n; o++) {
		if (n[o] == 0) {
			s[v] = g->s[o];
			s[v++].group = GROUP_NONE;
			continue;
		}
		g->groups[gi] = (struct group){ g->s[o].id, v, n[o],
		    g->s[o].matrix, GROUP_NONE, NULL, 0, 0 };
		for (k = 0; k < cnt[o]; k++, v++) {
			s[v] = g->s[o];
			s[v].id = xasprintf("%s[%s]", g->s[o].id, c[o][k].key);
			s[v].item = c[o][k].json;
			c[o][k].json = NULL;
			s[v].group = s[v].pol.grp = gi;
			s[v].inst = k;
			s[v].shared = k > 0;
		}
		foreach_items_free(c[o], n[o]);
		c[o] = NULL;
		gi++;
	}
	return s;
}

void
matrix_expand(struct dag *g, struct fitem **c, const uint32_t *n,
    struct diag *d)
{
	uint32_t o, v, k, nn = 0, ng = 0, *first, *cnt, *need_off, *need;
	uint32_t total = 0, m, *refs;
	struct step *s;

	first = xcalloc(g->n + 1, sizeof(*first));
	cnt = xcalloc(g->n + 1, sizeof(*cnt));
	for (o = 0; o < g->n; o++) {
		first[o] = nn;
		cnt[o] = n[o] > 0 ? n[o] : 1;
		nn += cnt[o];
		ng += n[o] > 0;
	}
	g->groups = xcalloc(ng + 1, sizeof(*g->groups));
	g->ngroups = ng;
	for (o = 0; o < g->n; o++)
		for (k = g->need_off[o]; k < g->need_off[o + 1]; k++)
			total += cnt[o] * cnt[g->need[k]];
	need_off = xcalloc(nn + 1, sizeof(*need_off));
	need = xcalloc(total + 1, sizeof(*need));
	for (o = 0, v = 0, total = 0; o < g->n; o++)
		for (k = 0; k < cnt[o]; k++, v++) {
			need_off[v] = total;
			refs = remap(g->need + g->need_off[o], g->need_off[o + 1] -
			    g->need_off[o], first, cnt, &m);
			memcpy(need + total, refs, (size_t)m * sizeof(*need));
			total += m;
			free(refs);
		}
	need_off[nn] = total;
	for (o = 0; o < g->n; o++)
		if (g->s[o].nrefs > 0) {
			refs = remap(g->s[o].refs, g->s[o].nrefs, first, cnt, &m);
			free(g->s[o].refs);
			g->s[o].refs = refs;
			g->s[o].nrefs = m;
		}
	s = new_steps(g, c, n, cnt, nn);
	free(g->s);
	free(g->need_off);
	free(g->need);
	free(g->dep_off);
	free(g->dep);
	free(g->order);
	g->s = s;
	g->n = nn;
	g->need_off = need_off;
	g->need = need;
	g->nedges = total;
	dag_reindex(g);
	graph_build_deps(g);
	(void)graph_order(g, d);
	free(first);
	free(cnt);
}
