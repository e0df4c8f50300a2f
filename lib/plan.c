/*
 * Levels, width, critical path, earliest/latest start and slack.  Two
 * linear sweeps over the topological order: forward for levels and
 * earliest starts, backward for latest starts and the remaining path
 * ("rank"), which is also dag-run's priority among ready steps.
 */
#include "compat.h"

#include <math.h>

#include "dag.h"
#include "duration.h"
#include "plan.h"
#include "strbuf.h"
#include "xalloc.h"

/* a + b for a, b >= 0, saturating rather than overflowing. */
static int64_t
add_us(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Seconds to whole microseconds, within [0, DURATION_MAX]. */
static int64_t
to_us(double secs)
{
	if (!(secs > 0))
		return 0;
	if (secs > DURATION_MAX)
		secs = DURATION_MAX;
	return llround(secs * PLAN_US_PER_SEC);
}

double
plan_secs(int64_t us)
{
	return (double)us / PLAN_US_PER_SEC;
}

void
plan_compute(const struct dag *g, const double *hist, struct plan *p)
{
	uint32_t n = g->nstatic, i, k, v, *count, best;
	int64_t ef, lf, want;

	memset(p, 0, sizeof(*p));
	p->n = g->n;
	p->level = xcalloc(g->n + 1, sizeof(*p->level));
	p->est = xcalloc(g->n + 1, sizeof(*p->est));
	p->es = xcalloc(g->n + 1, sizeof(*p->es));
	p->ls = xcalloc(g->n + 1, sizeof(*p->ls));
	p->rank = xcalloc(g->n + 1, sizeof(*p->rank));
	for (i = 0; i < g->n; i++)
		p->est[i] = to_us(g->s[i].estimate >= 0 ? g->s[i].estimate :
		    hist != NULL && hist[i] >= 0 ? hist[i] : 1);
	for (i = 0; i < n; i++) {
		v = g->order[i];
		for (k = g->need_off[v]; k < g->need_off[v + 1]; k++) {
			uint32_t w = g->need[k];

			if (p->level[w] + 1 > p->level[v])
				p->level[v] = p->level[w] + 1;
			if ((ef = add_us(p->es[w], p->est[w])) > p->es[v])
				p->es[v] = ef;
		}
		if (p->level[v] + 1 > p->nlevels)
			p->nlevels = p->level[v] + 1;
		if ((ef = add_us(p->es[v], p->est[v])) > p->total)
			p->total = ef;
	}
	count = xcalloc(p->nlevels + 1, sizeof(*count));
	for (i = 0; i < n; i++)
		if (++count[p->level[i]] > p->width)
			p->width = count[p->level[i]];
	free(count);
	for (i = n; i-- > 0; ) {
		v = g->order[i];
		lf = p->total;
		p->rank[v] = 0;
		for (k = g->dep_off[v]; k < g->dep_off[v + 1]; k++) {
			uint32_t w = g->dep[k];

			if (p->ls[w] < lf)
				lf = p->ls[w];
			if (p->rank[w] > p->rank[v])
				p->rank[v] = p->rank[w];
		}
		/* lf < est only once sums have saturated. */
		p->ls[v] = lf > p->est[v] ? lf - p->est[v] : 0;
		p->rank[v] = add_us(p->rank[v], p->est[v]);
	}
	/* The critical path: from the source with the longest rank, follow
	 * the dependent whose rank continues it; ties by declaration. */
	best = UINT32_MAX;
	for (i = 0; i < n; i++)
		if (g->need_off[i] == g->need_off[i + 1] &&
		    (best == UINT32_MAX || p->rank[i] > p->rank[best]))
			best = i;
	p->cp = xcalloc(n + 1, sizeof(*p->cp));
	for (v = best; best != UINT32_MAX; ) {
		uint32_t next = UINT32_MAX;

		p->cp[p->ncp++] = v;
		want = p->rank[v] - p->est[v];
		for (k = g->dep_off[v]; k < g->dep_off[v + 1]; k++) {
			uint32_t w = g->dep[k];

			if (p->rank[w] == want && (next == UINT32_MAX ||
			    w < next))
				next = w;
		}
		if (next == UINT32_MAX)
			break;
		v = next;
	}
	plan_inherit(g, p, n);
}

void
plan_inherit(const struct dag *g, struct plan *p, uint32_t from)
{
	uint32_t i, h;

	for (i = from; i < g->n; i++)
		if ((h = g->s[i].pol.parent) != UINT32_MAX) {
			p->level[i] = p->level[h];
			p->es[i] = p->es[h];
			p->ls[i] = p->ls[h];
			p->rank[i] = p->rank[h];
		}
}

void
plan_release(struct plan *p)
{
	free(p->level);
	free(p->est);
	free(p->es);
	free(p->ls);
	free(p->rank);
	free(p->cp);
	memset(p, 0, sizeof(*p));
}

static void
id_str(struct strbuf *sb, const struct dag *g, uint32_t i)
{
	strbuf_add_json_str(sb, g->s[i].id, strlen(g->s[i].id));
}

uint32_t *
plan_by_level(const struct dag *g, const struct plan *p, uint32_t **offp)
{
	uint32_t *off, *byl, *at, i, l, v;

	off = xcalloc(p->nlevels + 1, sizeof(*off));
	at = xcalloc(p->nlevels + 1, sizeof(*at));
	byl = xcalloc(g->n + 1, sizeof(*byl));
	for (i = 0; i < g->n; i++)
		off[p->level[i] + 1]++;
	for (l = 0; l < p->nlevels; l++) {
		off[l + 1] += off[l];
		at[l] = off[l];
	}
	for (i = 0; i < g->n; i++) {
		v = DAG_ORDER(g, i);
		byl[at[p->level[v]]++] = v;
	}
	free(at);
	*offp = off;
	return byl;
}

void
plan_emit_json(const struct dag *g, const struct plan *p, struct strbuf *sb,
    FILE *fp)
{
	uint32_t i, l, *byl, *off;

	strbuf_adds(sb, "{\"order\":[");
	for (i = 0; i < g->n; i++) {
		if (i > 0)
			strbuf_addc(sb, ',');
		id_str(sb, g, DAG_ORDER(g, i));
		strbuf_flush(sb, fp, 1 << 20);
	}
	byl = plan_by_level(g, p, &off);
	strbuf_adds(sb, "],\"levels\":[");
	for (l = 0; l < p->nlevels; l++) {
		strbuf_adds(sb, l > 0 ? ",[" : "[");
		for (i = off[l]; i < off[l + 1]; i++) {
			if (i > off[l])
				strbuf_addc(sb, ',');
			id_str(sb, g, byl[i]);
		}
		strbuf_addc(sb, ']');
	}
	free(off);
	free(byl);
	strbuf_addf(sb, "],\"width\":%u,\"critical_path\":{\"steps\":[",
	    p->width);
	for (i = 0; i < p->ncp; i++) {
		if (i > 0)
			strbuf_addc(sb, ',');
		id_str(sb, g, p->cp[i]);
	}
	strbuf_adds(sb, "],\"duration\":");
	strbuf_add_json_num(sb, plan_secs(p->total));
	strbuf_adds(sb, "},\"steps\":{");
	for (i = 0; i < g->n; i++) {
		if (i > 0)
			strbuf_addc(sb, ',');
		id_str(sb, g, i);
		strbuf_addf(sb, ":{\"level\":%u,\"earliest_start\":",
		    p->level[i]);
		strbuf_add_json_num(sb, plan_secs(p->es[i]));
		strbuf_adds(sb, ",\"latest_start\":");
		strbuf_add_json_num(sb, plan_secs(p->ls[i]));
		strbuf_adds(sb, ",\"slack\":");
		/* Negative only once sums have saturated. */
		strbuf_add_json_num(sb, p->ls[i] < p->es[i] ? 0 :
		    plan_secs(p->ls[i] - p->es[i]));
		strbuf_adds(sb, ",\"estimate\":");
		strbuf_add_json_num(sb, plan_secs(p->est[i]));
		strbuf_addc(sb, '}');
		strbuf_flush(sb, fp, 1 << 20);
	}
	strbuf_adds(sb, "}}");
}
