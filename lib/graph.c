/*
 * The graph model: step ids are dense indices, needs and dependents are CSR
 * arrays (one offsets array, one targets array), so a million edges cost
 * 8 MB and no pointer chasing.  This file owns the algorithms over it:
 * dependents, stable topological order, cycle paths and ancestor tests.
 */
#include "compat.h"

#include "dag.h"
#include "diag.h"
#include "graph.h"
#include "heap.h"
#include "strbuf.h"
#include "xalloc.h"

void
graph_build_deps(struct dag *g)
{
	uint32_t i, k, *fill;

	g->dep_off = xcalloc(g->n + 1, sizeof(*g->dep_off));
	g->dep = xcalloc(g->nedges + 1, sizeof(*g->dep));
	for (k = 0; k < g->nedges; k++)
		g->dep_off[g->need[k] + 1]++;
	for (i = 0; i < g->n; i++)
		g->dep_off[i + 1] += g->dep_off[i];
	fill = xcalloc(g->n + 1, sizeof(*fill));
	/* Visiting steps in order keeps each dependents list in order. */
	for (i = 0; i < g->n; i++)
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
			uint32_t t = g->need[k];

			g->dep[g->dep_off[t] + fill[t]++] = i;
		}
	free(fill);
}

/*
 * Tarjan's strongly connected components, iteratively (a chain of 100,000
 * steps must not overflow the C stack): comp[v] gets v's component, from
 * 1.  Returns how many there are.  O(V + E).
 */
static uint32_t
components(const struct dag *g, uint32_t *comp)
{
	uint32_t n = g->n, i, idx = 0, sp = 0, cs = 0, ncomp = 0;
	uint32_t *index = xcalloc(n, sizeof(*index));
	uint32_t *low = xcalloc(n, sizeof(*low));
	uint32_t *stack = xcalloc(n, sizeof(*stack));
	uint32_t *call = xcalloc(n, sizeof(*call));	/* DFS call stack */
	uint32_t *edge = xcalloc(n, sizeof(*edge));	/* next edge per frame */
	uint8_t *onstack = xcalloc(n, 1);

	for (i = 0; i < n; i++) {
		if (index[i] != 0)
			continue;
		call[cs++] = i;
		index[i] = low[i] = ++idx;
		edge[i] = g->need_off[i];
		stack[sp++] = i;
		onstack[i] = 1;
		while (cs > 0) {
			uint32_t v = call[cs - 1], w;

			if (edge[v] < g->need_off[v + 1]) {
				w = g->need[edge[v]++];
				if (index[w] == 0) {
					index[w] = low[w] = ++idx;
					edge[w] = g->need_off[w];
					stack[sp++] = w;
					onstack[w] = 1;
					call[cs++] = w;
				} else if (onstack[w] && index[w] < low[v])
					low[v] = index[w];
				continue;
			}
			cs--;
			if (cs > 0 && low[v] < low[call[cs - 1]])
				low[call[cs - 1]] = low[v];
			if (low[v] != index[v])
				continue;
			ncomp++;
			do {
				w = stack[--sp];
				onstack[w] = 0;
				comp[w] = ncomp;
			} while (w != v);
		}
	}
	free(index);
	free(low);
	free(stack);
	free(call);
	free(edge);
	free(onstack);
	return ncomp;
}

/* Scratch space of report_cycle, n entries each, allocated once. */
struct cyc {
	uint32_t	*prev, *q, *path;
	uint8_t		*vis;
};

/*
 * Reports the cycle through step i that a BFS along needs inside i's
 * component finds back to i: "cycle: a -> b -> a", a needing b.
 * O(size of the component).
 */
static void
report_cycle(const struct dag *g, struct diag *d, const uint32_t *comp,
    uint32_t i, struct cyc *w)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t head = 0, tail = 0, k, v, len = 0;
	int found = 0;

	w->q[tail++] = i;
	w->vis[i] = 1;
	while (head < tail && !found) {
		v = w->q[head++];
		for (k = g->need_off[v]; k < g->need_off[v + 1]; k++) {
			uint32_t x = g->need[k];

			if (comp[x] != comp[i])
				continue;
			if (x == i) {
				w->prev[i] = v;
				found = 1;
				break;
			}
			if (!w->vis[x]) {
				w->vis[x] = 1;
				w->prev[x] = v;
				w->q[tail++] = x;
			}
		}
	}
	/* Walk back from i: the path runs against the needs; print it
	 * reversed, so each arrow points to what the step needs. */
	w->path[len++] = i;
	for (v = w->prev[i]; v != i && len < g->n; v = w->prev[v])
		w->path[len++] = v;
	strbuf_adds(&sb, "cycle: ");
	strbuf_adds(&sb, g->s[i].id);
	for (k = len; k-- > 1; ) {
		strbuf_adds(&sb, " -> ");
		strbuf_adds(&sb, g->s[w->path[k]].id);
	}
	strbuf_adds(&sb, " -> ");
	strbuf_adds(&sb, g->s[i].id);
	diag_add(d, DIAG_ERROR, "steps", "%s", sb.buf);
	strbuf_release(&sb);
	for (k = 0; k < tail; k++)
		w->vis[w->q[k]] = 0;
}

/*
 * One cycle per component of more than one step, through its first-
 * declared step.  O(V + E).
 */
static void
report_cycles(struct dag *g, struct diag *d)
{
	uint32_t n = g->n, i, ncomp;
	uint32_t *comp = xcalloc(n, sizeof(*comp));
	uint32_t *size, *first;
	struct cyc w;

	ncomp = components(g, comp);
	size = xcalloc(ncomp + 1, sizeof(*size));
	first = xcalloc(ncomp + 1, sizeof(*first));
	for (i = n; i-- > 0; ) {
		size[comp[i]]++;
		first[comp[i]] = i;
	}
	w.prev = xcalloc(n, sizeof(*w.prev));
	w.q = xcalloc(n, sizeof(*w.q));
	w.path = xcalloc(n + 1, sizeof(*w.path));
	w.vis = xcalloc(n, 1);
	for (i = 0; i < n; i++)
		if (first[comp[i]] == i && size[comp[i]] > 1)
			report_cycle(g, d, comp, i, &w);
	free(w.prev);
	free(w.q);
	free(w.path);
	free(w.vis);
	free(size);
	free(first);
	free(comp);
}

int
graph_order(struct dag *g, struct diag *d)
{
	uint32_t *pending = xcalloc(g->n + 1, sizeof(*pending));
	uint32_t i, k, done = 0;
	struct heap h;
	struct heap_item it;

	heap_init(&h);
	g->order = xcalloc(g->n + 1, sizeof(*g->order));
	for (i = 0; i < g->n; i++) {
		pending[i] = g->need_off[i + 1] - g->need_off[i];
		if (pending[i] == 0)
			heap_push(&h, i, i);
	}
	while (heap_pop(&h, &it) == 0) {
		g->order[done++] = it.val;
		for (k = g->dep_off[it.val]; k < g->dep_off[it.val + 1]; k++)
			if (--pending[g->dep[k]] == 0)
				heap_push(&h, g->dep[k], g->dep[k]);
	}
	heap_release(&h);
	free(pending);
	if (done == g->n)
		return 0;
	report_cycles(g, d);
	return -1;
}

/*
 * BFS up the needs of b looking for a.  mark[] holds the stamp of the last
 * search that visited a step, so no clearing is needed between searches:
 * O(ancestors of b) per call.
 */
int
dag_is_ancestor(const struct dag *g, uint32_t a, uint32_t b, uint32_t *stamp,
    uint32_t *mark)
{
	uint32_t *q, head = 0, tail = 0, k, v;
	int found = 0;

	/* The common case: a direct need. */
	for (k = g->need_off[b]; k < g->need_off[b + 1]; k++)
		if (g->need[k] == a)
			return 1;
	if (++*stamp == 0) {
		memset(mark, 0, g->n * sizeof(*mark));
		*stamp = 1;
	}
	q = xreallocarray(NULL, g->n + 1, sizeof(*q));
	q[tail++] = b;
	mark[b] = *stamp;
	while (head < tail && !found) {
		v = q[head++];
		for (k = g->need_off[v]; k < g->need_off[v + 1]; k++) {
			uint32_t w = g->need[k];

			if (w == a) {
				found = 1;
				break;
			}
			if (mark[w] != *stamp) {
				mark[w] = *stamp;
				q[tail++] = w;
			}
		}
	}
	free(q);
	return found;
}
