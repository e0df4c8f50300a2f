/*
 * The HTML report of one run: a single self-contained page (inline CSS,
 * inline SVG, no script, no network) that opens from a CI artifact as it
 * is.  It shows a header with the run's status and counts, a timeline of
 * the steps that started, the DAG laid out in columns by plan level and
 * coloured by status, the step table, and the last lines of stderr of
 * every failed step.  Step ids, reasons and logs are untrusted text and
 * everything printed goes through esc_add().  The page is assembled in a
 * strbuf that is written out whenever it passes FLUSH_AT bytes, so memory
 * stays bounded for DAGs of 100,000 steps; the drawings are capped.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "dag.h"
#include "duration.h"
#include "html.h"
#include "plan.h"
#include "rundir.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#define FLUSH_AT	(64 * 1024)

#define TL_MAX		2000	/* timeline rows drawn */
#define TL_LABEL_W	170	/* gutter for step ids */
#define TL_W		900	/* width of the time scale */
#define TL_RIGHT	60	/* room for the duration after a bar */
#define TL_AXIS_H	26
#define TL_ROW_H	20

#define GR_MAX		2000	/* graph nodes drawn */
#define GR_EDGE_MAX	20000	/* graph edges drawn */
#define GR_NODE_W	140
#define GR_NODE_H	28
#define GR_COL_W	190
#define GR_ROW_H	40
#define GR_PAD		12

#define LOG_MAX		200	/* failed steps whose stderr is shown */
#define TAIL_BYTES	8192
#define TAIL_LINES	20

struct html {
	struct strbuf		 sb;
	FILE			*fp;
	int			 err;	/* errno of the first failed write */
	int			 sdfd;
	int64_t			 now;	/* wall ms, read once */
	const struct dag	*g;
	const struct runstate	*rs;
};

/* One timeline bar: wall ms from first start to last finish. */
struct bar {
	int64_t		 t0, t1;
	uint32_t	 i;
};

/* Fill and ink (text) colour of each step status, in enum order. */
static const struct {
	const char	*fill, *ink;
} step_col[ST__N] = {
	{ "#d1d5db", "#1f2937" },	/* pending */
	{ "#2563eb", "#ffffff" },	/* running */
	{ "#7c3aed", "#ffffff" },	/* retry_wait */
	{ "#16a34a", "#ffffff" },	/* succeeded */
	{ "#dc2626", "#ffffff" },	/* failed */
	{ "#b91c1c", "#ffffff" },	/* timed_out */
	{ "#9ca3af", "#1f2937" },	/* skipped */
	{ "#f97316", "#ffffff" },	/* upstream_failed */
	{ "#ea580c", "#ffffff" },	/* cancelled */
	{ "#86efac", "#14532d" },	/* cached */
};

static const char *const run_col[RUN__N] = {
	"#2563eb", "#16a34a", "#dc2626", "#b91c1c", "#ea580c", "#ea580c"
};

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "sans-serif;color:#1f2937;background:#fff;margin:24px}\n"
    "h1{font-size:20px;margin:0 0 12px}\n"
    "h2{font-size:16px;margin:28px 0 10px;padding-bottom:4px;"
    "border-bottom:1px solid #e5e7eb}\n"
    "h3{font-size:14px;margin:18px 0 6px}\n"
    "code,pre,.mono{font-family:ui-monospace,\"SFMono-Regular\",Menlo,"
    "Consolas,monospace}\n"
    "dl.meta{display:grid;grid-template-columns:max-content auto;"
    "gap:3px 18px;margin:0}\n"
    "dt{color:#6b7280}dd{margin:0}\n"
    ".badge{display:inline-block;padding:0 8px;border-radius:9px;"
    "font-size:12px;font-weight:600;line-height:18px;margin-right:4px}\n"
    ".scroll{overflow:auto;max-height:80vh;border:1px solid #e5e7eb;"
    "border-radius:6px}\n"
    ".note{color:#6b7280;font-style:italic}\n"
    "table{border-collapse:collapse;font-size:13px}\n"
    "th,td{text-align:left;padding:4px 12px;border-bottom:1px solid #eef0f3;"
    "vertical-align:top}\n"
    "th{background:#f9fafb;position:sticky;top:0}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.unsel td,g.unsel{opacity:.45}\n"
    "a{color:inherit}\n"
    "pre{background:#111827;color:#e5e7eb;padding:10px 12px;margin:0;"
    "border-radius:6px;overflow:auto;font-size:12px;line-height:1.4;"
    "white-space:pre-wrap;word-break:break-all}\n"
    "pre .note{color:#9ca3af}\n"
    "svg{display:block}\n"
    "svg text{font:11px system-ui,sans-serif}\n"
    ".axis{fill:#6b7280}.grid{stroke:#e5e7eb}.zebra{fill:#f9fafb}\n"
    ".lbl{fill:#1f2937}.dur{fill:#6b7280;font-size:10px}\n"
    ".edge{fill:none;stroke:#9ca3af;stroke-width:1.2}\n"
    "footer{margin-top:32px;color:#9ca3af;font-size:12px}\n";

/* Writes out what the buffer holds once it passes min bytes. */
static void
h_flush(struct html *h, size_t min)
{
	if (h->sb.len == 0 || h->sb.len < min)
		return;
	errno = 0;
	if (h->err == 0 &&
	    fwrite(h->sb.buf, 1, h->sb.len, h->fp) != h->sb.len)
		h->err = errno != 0 ? errno : EIO;
	strbuf_reset(&h->sb);
}

/* The entity for byte c, "" to drop it, or NULL to copy it as it is. */
static const char *
esc_entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	case '\t':
	case '\n':
		return NULL;
	}
	return c < 0x20 || c == 0x7f ? "" : NULL;
}

/* Index after the ANSI CSI sequence (ESC [ params final) starting at i. */
static size_t
ansi_end(const char *s, size_t n, size_t i)
{
	size_t j = i + 2;

	if (j > n || s[i + 1] != '[')
		return i + 1;
	while (j < n && s[j] >= 0x20 && s[j] <= 0x3f)
		j++;
	return j < n ? j + 1 : j;
}

/*
 * Appends n bytes of s escaped for HTML text and attribute values alike
 * (& < > " ').  Other control bytes than tab and newline are dropped, and
 * colour codes with them, since logs are full of those.  O(n): runs of
 * plain bytes are copied in one go.
 */
static void
esc_add(struct strbuf *sb, const char *s, size_t n)
{
	size_t i = 0, from = 0;
	const char *rep;

	while (i < n) {
		if ((rep = esc_entity((unsigned char)s[i])) == NULL) {
			i++;
			continue;
		}
		strbuf_add(sb, s + from, i - from);
		strbuf_adds(sb, rep);
		i = s[i] == 0x1b ? ansi_end(s, n, i) : i + 1;
		from = i;
	}
	strbuf_add(sb, s + from, n - from);
}

static void
esc_adds(struct strbuf *sb, const char *s)
{
	esc_add(sb, s, strlen(s));
}

/*
 * Appends s escaped, cut to at most max characters (UTF-8 code points)
 * with an ellipsis, for labels that must fit a box.  O(len).
 */
static void
esc_label(struct strbuf *sb, const char *s, size_t max)
{
	size_t i, ncp = 0, cut = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (++ncp == max)
			cut = i;
	}
	if (ncp <= max) {
		esc_add(sb, s, i);
		return;
	}
	esc_add(sb, s, cut);
	strbuf_adds(sb, "\xe2\x80\xa6");
}

/* The end of the run so far: its finish time, or now while it runs. */
static int64_t
run_end(const struct html *h)
{
	return h->rs->finished != 0 ? h->rs->finished : h->now;
}

/* The end of step i's bar; never before its start. */
static int64_t
step_end(const struct html *h, uint32_t i)
{
	const struct sstate *s = &h->rs->s[i];
	int64_t end;

	end = s->status == ST_RUNNING || s->finished == 0 ? run_end(h) :
	    s->finished;
	return end < s->started ? s->started : end;
}

/* Seconds step i took: its recorded duration, else the span so far. */
static double
step_secs(const struct html *h, uint32_t i)
{
	const struct sstate *s = &h->rs->s[i];

	if (s->duration > 0 || s->started == 0)
		return s->duration;
	return (double)(step_end(h, i) - s->started) / 1000;
}

static void
add_badge(struct strbuf *sb, int st)
{
	strbuf_addf(sb, "<span class=\"badge s-%s\">%s</span>",
	    step_status_names[st], step_status_names[st]);
}

/* Doctype, title and the stylesheet, with one class set per status. */
static void
emit_head(struct html *h)
{
	struct strbuf *sb = &h->sb;
	int st;

	strbuf_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<title>dagkit run ");
	esc_adds(sb, h->rs->id != NULL ? h->rs->id : "(unknown)");
	strbuf_adds(sb, "</title>\n<style>\n");
	strbuf_adds(sb, css);
	for (st = 0; st < ST__N; st++)
		strbuf_addf(sb, ".s-%s{background:%s;color:%s}"
		    ".f-%s{fill:%s}.t-%s{fill:%s}\n", step_status_names[st],
		    step_col[st].fill, step_col[st].ink, step_status_names[st],
		    step_col[st].fill, step_status_names[st], step_col[st].ink);
	strbuf_adds(sb, "</style>\n</head>\n<body>\n");
}

/* One "term: definition" pair of the header; def is escaped. */
static void
meta_item(struct strbuf *sb, const char *term, const char *def)
{
	strbuf_addf(sb, "<dt>%s</dt><dd>", term);
	esc_adds(sb, def);
	strbuf_adds(sb, "</dd>\n");
}

/* The badges of the steps counted per status (selected steps only). */
static void
emit_counts(struct html *h)
{
	uint32_t counts[ST__N], total = 0;
	int st;

	state_counts(h->rs, counts);
	strbuf_adds(&h->sb, "<dt>Steps</dt><dd>");
	for (st = 0; st < ST__N; st++) {
		if (counts[st] == 0)
			continue;
		total += counts[st];
		strbuf_addf(&h->sb, "<span class=\"badge s-%s\">%s %u</span>",
		    step_status_names[st], step_status_names[st], counts[st]);
	}
	strbuf_addf(&h->sb, " %u in this run, %u in the DAG</dd>\n", total,
	    h->g->n);
}

/* The page header: run id, DAG, status, times and counts. */
static void
emit_summary(struct html *h)
{
	const struct runstate *rs = h->rs;
	struct strbuf *sb = &h->sb;
	char t[40];
	int st = rs->status < RUN__N ? rs->status : RUN_RUNNING;

	strbuf_adds(sb, "<header>\n<h1>dagkit run <code>");
	esc_adds(sb, rs->id != NULL ? rs->id : "(unknown)");
	strbuf_adds(sb, "</code></h1>\n<dl class=\"meta\">\n");
	meta_item(sb, "DAG", h->g->name != NULL ? h->g->name : "-");
	strbuf_addf(sb, "<dt>Status</dt><dd><span class=\"badge\" "
	    "style=\"background:%s;color:#fff\">%s</span></dd>\n", run_col[st],
	    run_status_names[st]);
	if (rs->started != 0) {
		clock_rfc3339(rs->started, t, sizeof(t));
		meta_item(sb, "Started", t);
		duration_format((double)(run_end(h) - rs->started) / 1000, t,
		    sizeof(t));
		if (rs->finished == 0)
			(void)strlcat(t, " so far", sizeof(t));
		meta_item(sb, "Duration", t);
	} else
		meta_item(sb, "Started", "not yet");
	if (rs->finished != 0) {
		clock_rfc3339(rs->finished, t, sizeof(t));
		meta_item(sb, "Finished", t);
	}
	emit_counts(h);
	strbuf_adds(sb, "</dl>\n</header>\n<main>\n");
}

static int
bar_cmp(const void *a, const void *b)
{
	const struct bar *x = a, *y = b;

	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The bars of the steps that started, sorted by start time (ties by
 * declaration order).  Returns an owned array of *nb entries and sets
 * [*lo, *hi] to the span the scale covers.  O(n log n).
 */
static struct bar *
timeline_bars(const struct html *h, uint32_t *nb, int64_t *lo, int64_t *hi)
{
	struct bar *b = xcalloc(h->g->n + 1, sizeof(*b));
	uint32_t i, k = 0;

	*lo = h->rs->started;
	*hi = h->rs->finished;
	for (i = 0; i < h->g->n; i++) {
		if (h->rs->s[i].started == 0)
			continue;
		b[k].i = i;
		b[k].t0 = h->rs->s[i].started;
		b[k].t1 = step_end(h, i);
		if (*lo == 0 || b[k].t0 < *lo)
			*lo = b[k].t0;
		if (b[k].t1 > *hi)
			*hi = b[k].t1;
		k++;
	}
	qsort(b, k, sizeof(*b), bar_cmp);
	if (*hi <= *lo)
		*hi = *lo + 1;
	*nb = k;
	return b;
}

/* A round tick interval for a span of ms: about 4 to 8 ticks. */
static int64_t
tick_step(int64_t span)
{
	static const int64_t nice[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500,
	    1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000,
	    600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000,
	    43200000, 86400000 };
	int64_t d;
	size_t i;

	for (i = 0; i < nitems(nice); i++)
		if (span / nice[i] <= 8)
			return nice[i];
	for (d = 2 * nice[nitems(nice) - 1]; span / d > 8; d *= 2)
		;
	return d;
}

/* The time axis: tick labels on top and grid lines down to height. */
static void
emit_axis(struct html *h, int64_t span, int height)
{
	int64_t step = tick_step(span), t;
	char lbl[32];
	double x;

	for (t = 0; t <= span; t += step) {
		x = TL_LABEL_W + (double)t * TL_W / (double)span;
		if (t == 0)
			(void)strlcpy(lbl, "0", sizeof(lbl));
		else
			duration_format((double)t / 1000, lbl, sizeof(lbl));
		strbuf_addf(&h->sb, "<line class=\"grid\" x1=\"%.1f\" "
		    "y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/><text class=\"axis\" "
		    "x=\"%.1f\" y=\"14\" text-anchor=\"middle\">+%s</text>\n",
		    x, TL_AXIS_H - 6, x, height, x, lbl);
	}
}

/* One timeline row: zebra stripe, label, bar with tooltip, duration. */
static void
emit_bar(struct html *h, const struct bar *b, uint32_t row, int64_t lo,
    int64_t span)
{
	const struct sstate *s = &h->rs->s[b->i];
	const char *id = h->g->s[b->i].id, *st = step_status_names[s->status];
	double x, w, secs = step_secs(h, b->i);
	int y = TL_AXIS_H + (int)row * TL_ROW_H;
	char d[32];

	x = TL_LABEL_W + (double)(b->t0 - lo) * TL_W / (double)span;
	w = (double)(b->t1 - b->t0) * TL_W / (double)span;
	if (w < 2)
		w = 2;
	duration_format(secs, d, sizeof(d));
	if (row % 2 == 1)
		strbuf_addf(&h->sb, "<rect class=\"zebra\" x=\"0\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\"/>", y, TL_LABEL_W + TL_W +
		    TL_RIGHT, TL_ROW_H);
	strbuf_addf(&h->sb, "<text class=\"lbl\" x=\"%d\" y=\"%d\" "
	    "text-anchor=\"end\">", TL_LABEL_W - 8, y + 14);
	esc_label(&h->sb, id, 26);
	strbuf_addf(&h->sb, "</text><rect class=\"f-%s\" x=\"%.1f\" y=\"%d\" "
	    "width=\"%.1f\" height=\"%d\" rx=\"2\"><title>", st, x, y + 3, w,
	    TL_ROW_H - 6);
	esc_adds(&h->sb, id);
	strbuf_addf(&h->sb, ": %s, %s, %u attempt%s</title></rect><text "
	    "class=\"dur\" x=\"%.1f\" y=\"%d\">%s</text>\n", st, d,
	    s->attempts, s->attempts == 1 ? "" : "s", x + w + 4, y + 14, d);
}

/* The timeline section: one row per started step, at most TL_MAX. */
static void
emit_timeline(struct html *h)
{
	uint32_t nb, r, rows;
	int64_t lo, hi;
	struct bar *b = timeline_bars(h, &nb, &lo, &hi);
	int height;

	strbuf_adds(&h->sb, "<section>\n<h2>Timeline</h2>\n");
	if (nb == 0) {
		strbuf_adds(&h->sb, "<p class=\"note\">No step has started."
		    "</p>\n</section>\n");
		free(b);
		return;
	}
	rows = nb < TL_MAX ? nb : TL_MAX;
	if (rows < nb)
		strbuf_addf(&h->sb, "<p class=\"note\">Showing the first %u of "
		    "%u started steps.</p>\n", rows, nb);
	height = TL_AXIS_H + (int)rows * TL_ROW_H + 8;
	strbuf_addf(&h->sb, "<div class=\"scroll\"><svg id=\"timeline\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">"
	    "\n", TL_LABEL_W + TL_W + TL_RIGHT, height);
	emit_axis(h, hi - lo, height);
	for (r = 0; r < rows; r++) {
		emit_bar(h, &b[r], r, lo, hi - lo);
		h_flush(h, FLUSH_AT);
	}
	strbuf_adds(&h->sb, "</svg></div>\n</section>\n");
	free(b);
}

/*
 * Places the first m steps of the topological order: column = plan
 * level, row = rank within the level.  Since the order is topological,
 * the needs of a placed step are placed too.  Fills row[] (n + 1 entries)
 * and returns the number of rows; *ncols gets the number of columns.
 * O(m).
 */
static uint32_t
graph_layout(const struct dag *g, const struct plan *p, uint32_t m,
    uint32_t *row, uint32_t *ncols)
{
	uint32_t *cnt = xcalloc(p->nlevels + 1, sizeof(*cnt));
	uint32_t i, v, nrows = 0;

	*ncols = 0;
	for (i = 0; i < m; i++) {
		v = DAG_ORDER(g, i);
		row[v] = cnt[p->level[v]]++;
		if (row[v] + 1 > nrows)
			nrows = row[v] + 1;
		if (p->level[v] + 1 > *ncols)
			*ncols = p->level[v] + 1;
	}
	free(cnt);
	return nrows;
}

/* Edges of the placed steps, need to step, at most GR_EDGE_MAX. */
static uint32_t
graph_edges(struct html *h, const struct plan *p, const uint32_t *row,
    uint32_t m)
{
	const struct dag *g = h->g;
	uint32_t i, k, v, w, ne = 0;
	int x1, y1, x2, y2;

	for (i = 0; i < m && ne < GR_EDGE_MAX; i++) {
		v = DAG_ORDER(g, i);
		if (h->rs->s[v].hidden)
			continue;
		for (k = g->need_off[v]; k < g->need_off[v + 1] &&
		    ne < GR_EDGE_MAX; k++, ne++) {
			w = g->need[k];
			x1 = GR_PAD + (int)p->level[w] * GR_COL_W + GR_NODE_W;
			y1 = GR_PAD + (int)row[w] * GR_ROW_H + GR_NODE_H / 2;
			x2 = GR_PAD + (int)p->level[v] * GR_COL_W - 2;
			y2 = GR_PAD + (int)row[v] * GR_ROW_H + GR_NODE_H / 2;
			strbuf_addf(&h->sb, "<path class=\"edge\" d=\"M%d,%d "
			    "C%d,%d %d,%d %d,%d\" marker-end=\"url(#arrow)\"/>"
			    "\n", x1, y1, x1 + 30, y1, x2 - 30, y2, x2, y2);
		}
		h_flush(h, FLUSH_AT);
	}
	return ne;
}

/* The placed steps as rounded boxes linking to their table rows. */
static void
graph_nodes(struct html *h, const struct plan *p, const uint32_t *row,
    uint32_t m)
{
	const struct dag *g = h->g;
	const char *st;
	uint32_t i, v;
	int x, y;

	for (i = 0; i < m; i++) {
		v = DAG_ORDER(g, i);
		if (h->rs->s[v].hidden)	/* its foreach dropped it */
			continue;
		st = step_status_names[h->rs->s[v].status];
		x = GR_PAD + (int)p->level[v] * GR_COL_W;
		y = GR_PAD + (int)row[v] * GR_ROW_H;
		strbuf_addf(&h->sb, "<a href=\"#step-%u\"><g%s><title>", v,
		    h->rs->s[v].selected ? "" : " class=\"unsel\"");
		esc_adds(&h->sb, g->s[v].id);
		strbuf_addf(&h->sb, ": %s</title><rect class=\"f-%s\" x=\"%d\" "
		    "y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\"/><text "
		    "class=\"t-%s\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
		    st, st, x, y, GR_NODE_W, GR_NODE_H, st, x + GR_NODE_W / 2,
		    y + GR_NODE_H / 2 + 4);
		esc_label(&h->sb, g->s[v].id, 22);
		strbuf_adds(&h->sb, "</text></g></a>\n");
		h_flush(h, FLUSH_AT);
	}
}

/* The graph section: plan levels left to right, capped at GR_MAX. */
static void
emit_graph(struct html *h)
{
	const struct dag *g = h->g;
	struct plan p;
	uint32_t m = g->n < GR_MAX ? g->n : GR_MAX, *row, nrows, ncols, ne;

	strbuf_adds(&h->sb, "<section>\n<h2>Graph</h2>\n");
	if (g->n == 0) {
		strbuf_adds(&h->sb, "<p class=\"note\">No steps.</p>\n"
		    "</section>\n");
		return;
	}
	plan_compute(g, NULL, &p);
	row = xcalloc(g->n + 1, sizeof(*row));
	nrows = graph_layout(g, &p, m, row, &ncols);
	if (m < g->n)
		strbuf_addf(&h->sb, "<p class=\"note\">Showing the first %u of "
		    "%u steps in topological order.</p>\n", m, g->n);
	strbuf_addf(&h->sb, "<div class=\"scroll\"><svg id=\"graph\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\">"
	    "\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" "
	    "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
	    "<path d=\"M0,0L10,5L0,10z\" fill=\"#9ca3af\"/></marker></defs>\n",
	    2 * GR_PAD + (ncols - 1) * GR_COL_W + GR_NODE_W,
	    2 * GR_PAD + (nrows - 1) * GR_ROW_H + GR_NODE_H);
	ne = graph_edges(h, &p, row, m);
	graph_nodes(h, &p, row, m);
	strbuf_adds(&h->sb, "</svg></div>\n");
	if (ne == GR_EDGE_MAX)
		strbuf_addf(&h->sb, "<p class=\"note\">Only the first %u edges "
		    "are drawn.</p>\n", ne);
	strbuf_adds(&h->sb, "</section>\n");
	free(row);
	plan_release(&p);
}

/* The exit column: the code, the signal's name, or a dash. */
static void
add_exit(struct strbuf *sb, const struct sstate *s)
{
	const char *name;

	if (s->exit_code >= 0)
		strbuf_addf(sb, "%d", s->exit_code);
	else if (s->signal > 0 && (name = sigabbrev_np(s->signal)) != NULL)
		strbuf_addf(sb, "SIG%s", name);
	else if (s->signal > 0)
		strbuf_addf(sb, "signal %d", s->signal);
	else
		strbuf_adds(sb, "&ndash;");
}

/* One table row; failed steps link to their stderr below. */
static void
emit_row(struct html *h, uint32_t i)
{
	const struct sstate *s = &h->rs->s[i];
	struct strbuf *sb = &h->sb;
	char d[32];
	int log = s->status == ST_FAILED || s->status == ST_TIMED_OUT;

	if (s->hidden)		/* an instance its foreach dropped */
		return;
	strbuf_addf(sb, "<tr id=\"step-%u\"%s><td class=\"mono\">", i,
	    s->selected ? "" : " class=\"unsel\"");
	if (log)
		strbuf_addf(sb, "<a href=\"#log-%u\">", i);
	esc_adds(sb, h->g->s[i].id);
	strbuf_adds(sb, log ? "</a></td><td>" : "</td><td>");
	add_badge(sb, s->status);
	strbuf_addf(sb, "</td><td class=\"num\">%u</td><td class=\"num\">",
	    s->attempts);
	if (s->started != 0) {
		duration_format(step_secs(h, i), d, sizeof(d));
		strbuf_adds(sb, d);
	} else
		strbuf_adds(sb, "&ndash;");
	strbuf_adds(sb, "</td><td class=\"num\">");
	add_exit(sb, s);
	strbuf_adds(sb, "</td><td>");
	if (s->reason != NULL)
		esc_adds(sb, s->reason);
	else if (!s->selected)
		strbuf_adds(sb, "<span class=\"note\">not selected</span>");
	strbuf_adds(sb, "</td></tr>\n");
}

/* The step table, in topological order. */
static void
emit_table(struct html *h)
{
	uint32_t i;

	strbuf_adds(&h->sb, "<section>\n<h2>Steps</h2>\n<table>\n<thead><tr>"
	    "<th>Step</th><th>Status</th><th>Attempts</th><th>Duration</th>"
	    "<th>Exit</th><th>Reason</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < h->g->n; i++) {
		emit_row(h, DAG_ORDER(h->g, i));
		h_flush(h, FLUSH_AT);
	}
	strbuf_adds(&h->sb, "</tbody>\n</table>\n</section>\n");
}

/*
 * Reads the last TAIL_BYTES bytes of fd into buf (TAIL_BYTES long) with
 * pread, so a huge log costs one seek, not a scan.  Sets *cut when bytes
 * before them were skipped.  Returns the count, or -1 with errno set.
 */
static ssize_t
read_tail(int fd, char *buf, int *cut)
{
	struct stat st;
	off_t off = 0;
	size_t len = 0;
	ssize_t r;

	if (fstat(fd, &st) == -1)
		return -1;
	if (S_ISREG(st.st_mode) && st.st_size > TAIL_BYTES)
		off = st.st_size - TAIL_BYTES;
	*cut = off > 0;
	while (len < TAIL_BYTES) {
		r = pread(fd, buf + len, TAIL_BYTES - len, off + (off_t)len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	return (ssize_t)len;
}

/*
 * Where the last TAIL_LINES lines of buf begin.  A line cut by
 * read_tail() is dropped unless it is all there is.  Sets *omitted when
 * anything before the returned offset exists.  O(len).
 */
static size_t
tail_start(const char *buf, size_t len, int cut, int *omitted)
{
	size_t end = len, i, nl = 0;
	const char *p;

	if (end > 0 && buf[end - 1] == '\n')
		end--;
	*omitted = 1;
	for (i = end; i > 0; i--)
		if (buf[i - 1] == '\n' && ++nl == TAIL_LINES)
			return i;
	*omitted = cut;
	if (cut && (p = memchr(buf, '\n', end)) != NULL)
		return (size_t)(p - buf) + 1;
	return 0;
}

/*
 * Appends the tail of "<id>/<attempt>.stderr" under sdfd, escaped, or a
 * note saying why there is none.
 */
static void
add_stderr(struct html *h, uint32_t i)
{
	char name[1024], buf[TAIL_BYTES];
	int fd, cut = 0, omitted;
	ssize_t n = -1;
	size_t from;

	if (h->sdfd == -1) {
		strbuf_adds(&h->sb, "<span class=\"note\">(no steps "
		    "directory)</span>");
		return;
	}
	if ((size_t)snprintf(name, sizeof(name), "%s/%u.stderr",
	    h->g->s[i].id, h->rs->s[i].attempts) >= sizeof(name))
		errno = ENAMETOOLONG;
	else if ((fd = rundir_open_file(h->sdfd, name, O_RDONLY)) != -1) {
		n = read_tail(fd, buf, &cut);
		close(fd);
	}
	if (n == -1) {
		strbuf_addf(&h->sb, "<span class=\"note\">(no stderr: %s)"
		    "</span>", strerror(errno));
		return;
	}
	if (n == 0) {
		strbuf_adds(&h->sb, "<span class=\"note\">(empty)</span>");
		return;
	}
	from = tail_start(buf, (size_t)n, cut, &omitted);
	if (omitted)
		strbuf_adds(&h->sb, "<span class=\"note\">[earlier output "
		    "omitted]</span>\n");
	esc_add(&h->sb, buf + from, (size_t)n - from);
}

/* One failed step's heading and stderr tail. */
static void
emit_log(struct html *h, uint32_t i)
{
	const struct sstate *s = &h->rs->s[i];
	struct strbuf *sb = &h->sb;

	strbuf_addf(sb, "<section id=\"log-%u\">\n<h3><code>", i);
	esc_adds(sb, h->g->s[i].id);
	strbuf_adds(sb, "</code> ");
	add_badge(sb, s->status);
	strbuf_addf(sb, " attempt %u, exit ", s->attempts);
	add_exit(sb, s);
	if (s->reason != NULL) {
		strbuf_adds(sb, ": ");
		esc_adds(sb, s->reason);
	}
	strbuf_adds(sb, "</h3>\n<pre>");
	if (s->attempts > 0)
		add_stderr(h, i);
	else
		strbuf_adds(sb, "<span class=\"note\">(never ran)</span>");
	strbuf_adds(sb, "</pre>\n</section>\n");
}

/* The stderr tails of failed and timed-out steps, at most LOG_MAX. */
static void
emit_logs(struct html *h)
{
	uint32_t i, v, nf = 0;
	int st;

	for (i = 0; i < h->g->n; i++) {
		v = DAG_ORDER(h->g, i);
		st = h->rs->s[v].status;
		if ((st != ST_FAILED && st != ST_TIMED_OUT) ||
		    h->rs->s[v].hidden)
			continue;
		if (nf++ == 0)
			strbuf_addf(&h->sb, "<section>\n<h2>Failed steps: last "
			    "%d lines of stderr</h2>\n", TAIL_LINES);
		if (nf > LOG_MAX)
			continue;
		emit_log(h, v);
		h_flush(h, FLUSH_AT);
	}
	if (nf > LOG_MAX)
		strbuf_addf(&h->sb, "<p class=\"note\">Logs of %u more failed "
		    "steps are not shown.</p>\n", nf - LOG_MAX);
	if (nf > 0)
		strbuf_adds(&h->sb, "</section>\n");
}

int
html_report(FILE *fp, const struct dag *g, const struct runstate *rs,
    int sdfd)
{
	struct html h;
	char t[40];

	if (rs->n != g->n) {
		errno = EINVAL;
		return -1;
	}
	memset(&h, 0, sizeof(h));
	strbuf_init(&h.sb);
	h.fp = fp;
	h.sdfd = sdfd;
	h.g = g;
	h.rs = rs;
	h.now = state_now(rs);
	emit_head(&h);
	emit_summary(&h);
	emit_timeline(&h);
	emit_graph(&h);
	emit_table(&h);
	emit_logs(&h);
	clock_rfc3339(h.now, t, sizeof(t));
	strbuf_addf(&h.sb, "</main>\n<footer>Generated by dagkit %s at %s."
	    "</footer>\n</body>\n</html>\n", DAGKIT_VERSION, t);
	h_flush(&h, 0);
	strbuf_release(&h.sb);
	errno = 0;
	if (h.err == 0 && (fflush(fp) == EOF || ferror(fp)))
		h.err = errno != 0 ? errno : EIO;
	errno = h.err;
	return h.err != 0 ? -1 : 0;
}
