/*
 * foreach: a step whose instances come from a jq expression evaluated
 * when the step may start (the list of files a need found, say).  Its
 * evaluator (exec.c) writes the items to steps/<id>/items.<n>.json;
 * here they become steps appended to the DAG and the run's state, each
 * a copy of the foreach step with its own id ("build[3]", or "build[key]"
 * with foreach_key), that the scheduler decides as steps of their own
 * (sched_expand).  The journal's step_expanded event names them, so a
 * replay finds them again, and a resume keeps the instances of the last
 * expansion that the new one names again.
 *
 * An instance's needs in the CSR arrays are a copy of its foreach step's,
 * so its default input and its context are the step's; it has no
 * dependents of its own: the scheduler hands its end to the step's.
 */
#include "compat.h"

#include <errno.h>
#include <string.h>

#include "dag.h"
#include "diag.h"
#include "foreach.h"
#include "jdoc.h"
#include "rundir.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

int
foreach_key_ok(const char *key, size_t len)
{
	size_t k;

	if (len == 0 || len > 100)
		return 0;
	for (k = 0; k < len; k++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_.+@~-", key[k]) == NULL || key[k] == '\0')
			return 0;
	return 1;
}

char *
foreach_file(const char *id, uint32_t attempt)
{
	return xasprintf("%s/items.%u.json", id, attempt);
}

/* Appends an instance of h with id (taken over) to g and rs. */
static uint32_t
append(struct dag *g, struct runstate *rs, uint32_t h, uint32_t gi,
    char *id)
{
	uint32_t u = g->n, deg = g->need_off[h + 1] - g->need_off[h];
	struct step *s;

	g->s[u] = g->s[h];
	s = &g->s[u];
	s->id = id;
	s->item = NULL;
	s->group = s->pol.grp = gi;
	s->pol.parent = h;
	s->head_of = GROUP_NONE;
	s->foreach = s->foreach_key = -1;
	s->shared = 1;		/* tp, refs, exit_codes: h's */
	memcpy(g->need + g->nedges, g->need + g->need_off[h],
	    (size_t)deg * sizeof(*g->need));
	g->nedges += deg;
	g->need_off[u + 1] = g->nedges;
	g->dep_off[u + 1] = g->dep_off[u];
	memset(&rs->s[u], 0, sizeof(rs->s[u]));
	rs->s[u].exit_code = -1;
	g->n++;
	rs->n++;
	return u;
}

/* Room for add more steps in g and rs. */
static void
grow(struct dag *g, struct runstate *rs, uint32_t h, uint32_t add)
{
	uint32_t n = g->n + add, deg = g->need_off[h + 1] - g->need_off[h];

	g->s = xreallocarray(g->s, n + 1, sizeof(*g->s));
	g->need_off = xreallocarray(g->need_off, n + 1, sizeof(*g->need_off));
	g->dep_off = xreallocarray(g->dep_off, n + 1, sizeof(*g->dep_off));
	g->need = xreallocarray(g->need, g->nedges + (size_t)add * deg + 1,
	    sizeof(*g->need));
	rs->s = xreallocarray(rs->s, n + 1, sizeof(*rs->s));
}

static char *
instance_id(const struct dag *g, uint32_t h, char *const *keys, uint32_t k)
{
	return keys != NULL ? xasprintf("%s[%s]", g->s[h].id, keys[k]) :
	    xasprintf("%s[%u]", g->s[h].id, k);
}

static uint32_t
head_group(struct dag *g, uint32_t h)
{
	struct group *gr;

	if (g->s[h].head_of != GROUP_NONE)
		return g->s[h].head_of;
	g->groups = xreallocarray(g->groups, g->ngroups + 1,
	    sizeof(*g->groups));
	gr = &g->groups[g->ngroups];
	memset(gr, 0, sizeof(*gr));
	gr->name = xstrdup(g->s[h].id);
	gr->spec = JNONE;
	gr->head = h;
	gr->first = g->n;
	g->s[h].head_of = g->ngroups;
	return g->ngroups++;
}

uint32_t
foreach_add(struct dag *g, struct runstate *rs, uint32_t h,
    char *const *keys, uint32_t n)
{
	uint32_t gi = head_group(g, h), k, add = 0, *m, u;
	struct group *gr;
	int64_t t;
	char *id;

	m = xcalloc(n + 1, sizeof(*m));
	for (k = 0; k < n; k++) {
		id = instance_id(g, h, keys, k);
		t = dag_find(g, id, strlen(id));
		m[k] = t >= 0 && g->s[t].pol.parent == h ? (uint32_t)t :
		    UINT32_MAX;
		add += m[k] == UINT32_MAX;
		free(id);
	}
	if (add > 0) {
		grow(g, rs, h, add);
		for (k = 0; k < n; k++)
			if (m[k] == UINT32_MAX)
				m[k] = append(g, rs, h, gi,
				    instance_id(g, h, keys, k));
		dag_reindex(g);
	}
	gr = &g->groups[gi];
	/* An earlier expansion's instances that this one does not name. */
	for (k = 0; gr->member != NULL && k < gr->n; k++) {
		rs->s[gr->member[k]].hidden = 1;
		rs->s[gr->member[k]].selected = 0;
	}
	for (k = 0; k < n; k++) {
		u = m[k];
		g->s[u].inst = k;
		rs->s[u].hidden = 0;
		rs->s[u].selected = rs->s[h].selected;
	}
	free(gr->member);
	gr->member = m;
	gr->n = n;
	gr->keyed = keys != NULL;
	return gi;
}

void
foreach_replay(struct dag *g, struct runstate *rs, uint32_t h,
    const struct jdoc *d, uint32_t o)
{
	uint32_t v = jdoc_get(d, o, "items"), kv = jdoc_get(d, o, "keys");
	uint32_t n, k, e, gi, a;
	char **keys = NULL;
	double x;

	if (v == JNONE || d->n[v].kind != J_NUM || g->s[h].foreach < 0)
		return;
	x = jdoc_num(d, v);
	if (!(x >= 0 && x <= 1e8))
		return;
	n = (uint32_t)x;
	if (kv != JNONE) {
		if (d->n[kv].kind != J_ARR || d->n[kv].len != n)
			return;
		keys = xcalloc(n + 1, sizeof(*keys));
		for (e = kv + 1, k = 0; e < d->n[kv].end; e = d->n[e].end, k++)
			if (d->n[e].kind != J_STR || (keys[k] =
			    jdoc_strdup(d, e, NULL)) == NULL ||
			    !foreach_key_ok(keys[k], strlen(keys[k])))
				goto out;
	}
	gi = foreach_add(g, rs, h, keys, n);
	a = jdoc_get(d, o, "attempt");
	g->groups[gi].attempt = a != JNONE && d->n[a].kind == J_NUM &&
	    (x = jdoc_num(d, a)) >= 0 && x <= UINT32_MAX ? (uint32_t)x : 0;
out:
	for (k = 0; keys != NULL && k < n; k++)
		free(keys[k]);
	free(keys);
}

void
foreach_load_items(struct dag *g, int sdfd, uint32_t h)
{
	const struct group *gr;
	struct fitem *it;
	uint32_t n, k;
	int keyed;
	char *err;

	if (g->s[h].head_of == GROUP_NONE)
		return;
	gr = &g->groups[g->s[h].head_of];
	if (gr->n == 0 || g->s[gr->member[0]].item != NULL)
		return;
	if (foreach_read(sdfd, g->s[h].id, gr->attempt, &it, &n, &keyed,
	    &err) == -1) {
		free(err);	/* lost: items are null, and compare unequal */
		return;
	}
	for (k = 0; k < n && k < gr->n; k++) {
		free(g->s[gr->member[k]].item);
		g->s[gr->member[k]].item = it[k].json;
		it[k].json = NULL;
	}
	foreach_items_free(it, n);
}

void
foreach_items_free(struct fitem *it, uint32_t n)
{
	uint32_t k;

	for (k = 0; it != NULL && k < n; k++) {
		free(it[k].key);
		free(it[k].json);
	}
	free(it);
}

int
foreach_read(int sdfd, const char *id, uint32_t attempt, struct fitem **out,
    uint32_t *n, int *keyed, char **err)
{
	char *name = foreach_file(id, attempt), *text;
	struct strbuf sb = STRBUF_INIT;
	struct jdoc d;
	struct diag dg;
	uint32_t e, k, kn, in;
	size_t len;

	*out = NULL;
	*n = 0;
	*keyed = 0;
	diag_init(&dg, name);
	if ((text = rundir_read(sdfd, name, &len)) == NULL) {
		*err = xasprintf("steps/%s: %s", name, strerror(errno));
		free(name);
		diag_release(&dg);
		return -1;
	}
	if (jdoc_parse(&d, text, len, &dg) == -1 || d.n[0].kind != J_ARR) {
		*err = xasprintf("steps/%s: damaged", name);
		free(text);
		free(name);
		diag_release(&dg);
		return -1;
	}
	*out = xcalloc(d.n[0].len + 1, sizeof(**out));
	for (e = 1, k = 0; e < d.n[0].end; e = d.n[e].end, k++) {
		kn = jdoc_get(&d, e, "key");
		in = jdoc_get(&d, e, "item");
		if (kn != JNONE && d.n[kn].kind == J_STR)
			(*out)[k].key = jdoc_strdup(&d, kn, NULL);
		*keyed = (*out)[k].key != NULL;
		if (in != JNONE)
			jdoc_emit(&d, in, &sb);
		else
			strbuf_adds(&sb, "null");
		(*out)[k].json = strbuf_detach(&sb, NULL);
	}
	*n = k;
	jdoc_release(&d);
	free(text);
	free(name);
	diag_release(&dg);
	return 0;
}
