/*
 * The plan for people and for graph tools: an indented list of levels,
 * Graphviz dot, or a Mermaid flowchart.  Edges point from a need to the
 * step that needs it (the direction work flows); the critical path is
 * marked in each format.
 */
#include "compat.h"

#include "dag.h"
#include "duration.h"
#include "plan.h"
#include "planfmt.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const names[] = { "json", "text", "dot", "mermaid",
    "make", "slurm" };

int
planfmt_parse(const char *s, enum planfmt *f)
{
	size_t i;

	for (i = 0; i < nitems(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*f = (enum planfmt)i;
			return 0;
		}
	return -1;
}

static uint8_t *
critical_marks(const struct plan *p)
{
	uint8_t *on = xcalloc(p->n + 1, 1);
	uint32_t i;

	for (i = 0; i < p->ncp; i++)
		on[p->cp[i]] = 1;
	return on;
}

/* "id[*]", in a buffer that lasts until the next call. */
static const char *
star_id(const char *id)
{
	static char buf[128];

	(void)snprintf(buf, sizeof(buf), "%s[*]", id);
	return buf;
}

/* Levels in topological order, one bucketing pass: O(V). */
static void
render_text(const struct dag *g, const struct plan *p, struct strbuf *sb)
{
	uint8_t *on = critical_marks(p);
	char est[32], slack[32], total[32];
	uint32_t l, i, v, *byl, *off;

	duration_format(plan_secs(p->total), total, sizeof(total));
	strbuf_addf(sb, "%s: %u steps, %u levels, width %u, critical path %s\n",
	    g->name, g->n, p->nlevels, p->width, total);
	byl = plan_by_level(g, p, &off);
	for (l = 0; l < p->nlevels; l++) {
		strbuf_addf(sb, "level %u:\n", l);
		for (i = off[l]; i < off[l + 1]; i++) {
			v = byl[i];
			duration_format(plan_secs(p->est[v]), est, sizeof(est));
			duration_format(plan_secs(p->ls[v] - p->es[v]), slack,
			    sizeof(slack));
			/* A foreach step is one node: its instances come
			 * at run time (its estimate is the whole fan-out's). */
			strbuf_addf(sb, "  %-24s est %-8s slack %s%s\n",
			    g->s[v].foreach >= 0 ? star_id(g->s[v].id) :
			    g->s[v].id, est, slack, on[v] ? " critical" : "");
		}
	}
	free(off);
	free(byl);
	strbuf_adds(sb, "critical path:");
	for (i = 0; i < p->ncp; i++)
		strbuf_addf(sb, "%s%s", i ? " -> " : " ", g->s[p->cp[i]].id);
	strbuf_addc(sb, '\n');
	free(on);
}

static void
render_dot(const struct dag *g, const struct plan *p, struct strbuf *sb)
{
	uint8_t *on = critical_marks(p);
	uint32_t i, k;

	strbuf_adds(sb, "digraph ");
	strbuf_add_json_str(sb, g->name, strlen(g->name));
	strbuf_adds(sb, " {\n\trankdir=LR;\n\tnode [shape=box];\n");
	for (i = 0; i < g->n; i++) {
		strbuf_addc(sb, '\t');
		strbuf_add_json_str(sb, g->s[i].id, strlen(g->s[i].id));
		if (g->s[i].foreach >= 0) {	/* as the text format names it */
			strbuf_adds(sb, " [label=");
			strbuf_add_json_str(sb, star_id(g->s[i].id),
			    strlen(star_id(g->s[i].id)));
			strbuf_adds(sb, on[i] ? ", penwidth=2, color=red];\n" :
			    "];\n");
		} else
			strbuf_adds(sb, on[i] ? " [penwidth=2, color=red];\n" :
			    ";\n");
	}
	for (i = 0; i < g->n; i++)
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
			uint32_t w = g->need[k];

			strbuf_addc(sb, '\t');
			strbuf_add_json_str(sb, g->s[w].id, strlen(g->s[w].id));
			strbuf_adds(sb, " -> ");
			strbuf_add_json_str(sb, g->s[i].id, strlen(g->s[i].id));
			strbuf_adds(sb, on[i] && on[w] ?
			    " [penwidth=2, color=red];\n" : ";\n");
		}
	strbuf_adds(sb, "}\n");
	free(on);
}

static void
render_mermaid(const struct dag *g, const struct plan *p, struct strbuf *sb)
{
	uint8_t *on = critical_marks(p);
	uint32_t i, k;
	const char *c;

	strbuf_adds(sb, "flowchart LR\n");
	for (i = 0; i < g->n; i++) {
		/* Node ids are n<index>; labels are quoted, '"' escaped. */
		strbuf_addf(sb, "    n%u[\"", i);
		for (c = g->s[i].id; *c != '\0'; c++)
			strbuf_addc(sb, *c);
		strbuf_adds(sb, g->s[i].foreach >= 0 ? "[*]\"]\n" : "\"]\n");
	}
	for (i = 0; i < g->n; i++)
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			strbuf_addf(sb, "    n%u --> n%u\n", g->need[k], i);
	for (i = 0; i < g->n; i++)
		if (on[i])
			strbuf_addf(sb, "    class n%u critical\n", i);
	strbuf_adds(sb, "    classDef critical stroke:#d00,stroke-width:3px\n");
	free(on);
}

void
planfmt_render(const struct dag *g, const struct plan *p, enum planfmt f,
    struct strbuf *sb)
{
	if (f == PLANFMT_TEXT)
		render_text(g, p, sb);
	else if (f == PLANFMT_DOT)
		render_dot(g, p, sb);
	else if (f == PLANFMT_MERMAID)
		render_mermaid(g, p, sb);
}
