/*
 * What runs again in a resumed run: the steps --rerun names (with
 * --downstream, every step reachable from them too), and for --resume RUN
 * FILE the steps the edited DAG changed, with their descendants.
 *
 * An edited DAG is applied crash-safely: the journal first says which
 * steps are reset and which are removed, then the old dag.json is kept
 * as dag.N.json (a hard link) and the new one replaces it (rename).  A
 * crash in between leaves the old DAG with steps reset: they run again,
 * nothing is lost.  A document that is not a valid DAG changes nothing.
 *
 * Interface: rerun.h.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "dag.h"
#include "diag.h"
#include "exitcode.h"
#include "journal.h"
#include "opts.h"
#include "rerun.h"
#include "run.h"
#include "runner.h"
#include "stepidx.h"
#include "strbuf.h"
#include "xalloc.h"

/* Marks every step reachable from a marked one through its dependents. */
static void
downstream(const struct dag *g, uint8_t *mark, uint8_t how)
{
	uint32_t *st = xcalloc(g->n + 1, sizeof(*st)), n = 0, i, k, d;

	for (i = 0; i < g->n; i++)
		if (mark[i])
			st[n++] = i;
	while (n > 0) {
		i = st[--n];
		for (k = g->dep_off[i]; k < g->dep_off[i + 1]; k++)
			if (!mark[d = g->dep[k]]) {
				mark[d] = how;
				st[n++] = d;
			}
	}
	free(st);
}

static void
mark_members(const struct dag *g, uint32_t gi, uint8_t *mark)
{
	uint32_t t;

	for (t = 0; t < g->groups[gi].n; t++)
		mark[GROUP_AT(&g->groups[gi], t)] = 1;
}

int
rerun_select(struct runctx *c, char **ids, int n, int down, uint8_t **out)
{
	uint8_t *mark;
	uint32_t i, ni;
	int k;

	*out = NULL;
	if (n == 0)
		return EXIT_OK;
	mark = xcalloc(c->g->n + 1, 1);
	for (k = 0; k < n; k++) {
		if (dag_lookup(c->g, ids[k], &i, &ni) == -1 ||
		    c->rs.s[i].hidden) {
			run_say(0, "--rerun %s: no such step in run %s", ids[k],
			    c->rs.id);
			free(mark);
			return EXIT_USAGE;
		}
		for (; ni > 0; ni--, i++) {	/* a matrix: each instance */
			mark[i] = 1;
			/* A foreach's instance: the step expands again, and
			 * keeps its other instances that succeeded. */
			if (c->g->s[i].pol.parent != SCHED_NONE)
				mark[c->g->s[i].pol.parent] = 1;
			/* A foreach step: all of it. */
			if (c->g->s[i].head_of != GROUP_NONE)
				mark_members(c->g, c->g->s[i].head_of, mark);
		}
	}
	if (down)
		downstream(c->g, mark, 2);
	*out = mark;
	return EXIT_OK;
}

void
rerun_clear(struct runctx *c, const uint8_t *mark)
{
	uint32_t i;

	for (i = 0; mark != NULL && i < c->g->n; i++)
		if (mark[i])
			state_clear(&c->rs.s[i]);
}

void
rerun_apply(struct runner *r, const uint8_t *mark)
{
	struct runctx *c = r->c;
	uint32_t k, v;

	if (mark == NULL)
		return;
	if (c->cache.force == NULL)
		c->cache.force = xcalloc(c->g->n + 1, 1);
	/* Needs first: a dependent reset before its need would be decided
	 * on the need's old outcome. */
	for (k = 0; k < c->g->n; k++) {
		/* Static steps in order, then a foreach's instances. */
		v = DAG_ORDER(c->g, k);
		if (!mark[v])
			continue;
		c->cache.force[v] = 1;		/* run, not taken from cache */
		runner_rerun(r, v, mark[v] == 1 ? "--rerun" :
		    "--rerun --downstream");
	}
}

/* 1 if step i of a and step k of b are the same once normalized. */
static int
same_step(const struct dag *a, uint32_t i, const struct dag *b, uint32_t k)
{
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;
	uint32_t n;
	int same;

	dag_emit_step(a, i, &x);
	dag_emit_step(b, k, &y);
	same = x.len == y.len && memcmp(x.buf, y.buf, x.len) == 0;
	strbuf_release(&x);
	strbuf_release(&y);
	if (!same || a->need_off[i + 1] - a->need_off[i] !=
	    b->need_off[k + 1] - b->need_off[k])
		return 0;
	/* Its needs by id: a matrix's instances come and go with it. */
	for (n = 0; n < a->need_off[i + 1] - a->need_off[i]; n++)
		if (strcmp(a->s[a->need[a->need_off[i] + n]].id,
		    b->s[b->need[b->need_off[k] + n]].id) != 0)
			return 0;
	return 1;
}

/*
 * The journal's word on the edit: mark[i] 1 (changed) or 2 (downstream
 * of a change) resets step i of ng if it had begun; old steps ng lacks
 * are removed.  Counts into n[0] (reset) and n[1] (removed).  0 or -1.
 */
static int
journal_edit(struct runctx *c, const struct dag *ng, const uint8_t *mark,
    uint32_t n[2])
{
	struct journal jr;
	uint32_t i;
	int64_t o;
	int e;

	memset(&jr, 0, sizeof(jr));
	jr.fd = jr.mirror = -1;
	if (journal_open(&jr, c->rd.dfd, c->rs.id) == -1)
		return -1;
	for (i = 0; i < ng->n; i++) {
		o = dag_find(c->g, ng->s[i].id, strlen(ng->s[i].id));
		if (!mark[i] || o < 0 || c->rs.s[o].status == ST_PENDING)
			continue;
		journal_step_reset(&jr, ng->s[i].id, mark[i] == 1 ?
		    "its definition changed (edited DAG)" :
		    "a step it depends on changed (edited DAG)");
		n[0]++;
	}
	for (i = 0; i < c->g->nstatic; i++)	/* not a foreach's instances */
		if (dag_find(ng, c->g->s[i].id, strlen(c->g->s[i].id)) < 0) {
			journal_step_removed(&jr, c->g->s[i].id);
			n[1]++;
		}
	e = jr.error;
	journal_close(&jr);
	errno = e;
	return e != 0 ? -1 : 0;
}

/* Keeps dag.json as dag.N.json and puts ng's in its place: 0 or -1. */
static int
freeze(struct runctx *c, const struct dag *ng)
{
	char name[32];
	int n;

	for (n = 1; n < 100000; n++) {
		(void)snprintf(name, sizeof(name), "dag.%d.json", n);
		if (linkat(c->rd.dfd, "dag.json", c->rd.dfd, name, 0) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	return dag_freeze(ng, c->rd.dfd, 0);
}

int
rerun_edit(struct runctx *c, const char *path, int quiet, int dry)
{
	struct dag *old = c->g, *ng;
	uint32_t i, changed = 0, added = 0, n[2] = { 0, 0 };
	uint8_t *mark;
	struct diag d;
	int64_t o;

	diag_init(&d, input_name(path));
	ng = dag_load(path, input_name(path), 0, &d);
	diag_print(&d, stderr);
	o = d.worst == DIAG_SYSERR ? EXIT_SYSERR : EXIT_USAGE;
	diag_release(&d);
	if (ng == NULL)
		return (int)o;
	if (strcmp(ng->name, old->name) != 0) {
		run_say(0, "--resume %s %s: the run is of DAG \"%s\", the file "
		    "is \"%s\" (a run keeps its DAG's name)", c->rs.id,
		    input_name(path), old->name, ng->name);
		dag_free(ng);
		return EXIT_USAGE;
	}
	mark = xcalloc(ng->n + 1, 1);
	for (i = 0; i < ng->n; i++)
		if ((o = dag_find(old, ng->s[i].id, strlen(ng->s[i].id))) < 0)
			added++;
		else if (!same_step(old, (uint32_t)o, ng, i)) {
			mark[i] = 1;
			changed++;
		}
	downstream(ng, mark, 2);
	if (!dry && (journal_edit(c, ng, mark, n) == -1 ||
	    freeze(c, ng) == -1)) {
		run_say(errno, "'%s': applying the edited DAG", c->rd.path);
		free(mark);
		dag_free(ng);
		return EXIT_SYSERR;
	}
	/* The run as the journal now tells it, over the new DAG (with -n,
	 * as it would tell it). */
	dag_free(old);
	c->g = ng;
	state_release(&c->rs);
	state_init(&c->rs, ng);
	if (journal_load(c->rd.dfd, ng, &c->rs) == -1) {
		run_say(errno, "read '%s/events.jsonl'", c->rd.path);
		free(mark);
		return EXIT_SYSERR;
	}
	c->rs.id = xstrdup(c->rd.id);
	if (dry)
		rerun_clear(c, mark);
	free(mark);
	if (!quiet && !dry)	/* run.c prints the news */
		diag_add(&c->news, DIAG_NONE, NULL, "run %s now follows %s: "
		    "%u step%s changed, %u new, %u reset, %u removed",
		    c->rs.id, input_name(path), changed, changed == 1 ? "" :
		    "s", added, n[0], n[1]);
	return EXIT_OK;
}
