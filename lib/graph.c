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
 * steps must not overflow the C stack).  For each component of more than
 * one step, reports one cycle through it, found by walking needs inside the
 * component from its first-declared step back to itself.
 */
static void
report_cycles(struct dag *g, struct diag *d)
{
	uint32_t n = g->n, i, idx = 0, sp = 0, cs = 0;
	uint32_t *index = xcalloc(n, sizeof(*index));
	uint32_t *low = xcalloc(n, sizeof(*low));
	uint32_t *stack = xcalloc(n, sizeof(*stack));
	uint32_t *comp = xcalloc(n, sizeof(*comp));
	uint32_t *call = xcalloc(n, sizeof(*call));	/* DFS call stack */
	uint32_t *edge = xcalloc(n, sizeof(*edge));	/* next edge per frame */
	uint8_t *onstack = xcalloc(n, 1);
	uint32_t ncomp = 0;

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
	/* One cycle per non-trivial component, by BFS within it. */
	{
		uint32_t *prev = xcalloc(n, sizeof(*prev));
		uint32_t *q = xcalloc(n, sizeof(*q));
		uint8_t *seen = xcalloc(ncomp + 1, 1);
		uint8_t *vis = xcalloc(n, 1);

		for (i = 0; i < n; i++) {
			uint32_t c = comp[i], head = 0, tail = 0, k, v, len;
			struct strbuf sb = STRBUF_INIT;
			uint32_t *path;
			int found = 0;

			if (seen[c])
				continue;
			seen[c] = 1;
			/* Is the component more than this one step? */
			for (k = i + 1; k < n && comp[k] != c; k++)
				;
			if (k == n)
				continue;
			q[tail++] = i;
			vis[i] = 1;
			while (head < tail && !found) {
				v = q[head++];
				for (k = g->need_off[v]; k < g->need_off[v + 1];
				    k++) {
					uint32_t w = g->need[k];

					if (comp[w] != c)
						continue;
					if (w == i) {
						prev[i] = v;
						found = 1;
						break;
					}
					if (!vis[w]) {
						vis[w] = 1;
						prev[w] = v;
						q[tail++] = w;
					}
				}
			}
			/* Walk back: i <- ... gives needs order; print as
			 * dependency direction a -> b meaning a needs b. */
			path = xcalloc(n + 1, sizeof(*path));
			len = 0;
			v = prev[i];
			path[len++] = i;
			while (v != i && len <= n) {
				path[len++] = v;
				v = prev[v];
			}
			/* path: i, prev(i)... ; reverse to follow needs. */
			strbuf_adds(&sb, "cycle: ");
			strbuf_adds(&sb, g->s[i].id);
			for (k = len; k-- > 1; ) {
				strbuf_adds(&sb, " -> ");
				strbuf_adds(&sb, g->s[path[k]].id);
			}
			strbuf_adds(&sb, " -> ");
			strbuf_adds(&sb, g->s[i].id);
			diag_add(d, DIAG_ERROR, "steps", "%s", sb.buf);
			strbuf_release(&sb);
			free(path);
			for (k = 0; k < tail; k++)
				vis[q[k]] = 0;
		}
		free(prev);
		free(q);
		free(seen);
		free(vis);
	}
	free(index);
	free(low);
	free(stack);
	free(comp);
	free(call);
	free(edge);
	free(onstack);
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
