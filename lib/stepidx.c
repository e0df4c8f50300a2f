/*
 * A run's frozen DAG and its step index: what lets dag-step read the step
 * it runs and that step's neighbours, not the whole DAG.
 *
 * dag.json is the normalized document (defaults merged into every step).
 * dag.idx, written beside it, is text:
 *
 *	dagkit-index 1 SIZE MTIME
 *	{the top-level members but "steps" and "finally"}
 *	ID <tab> KIND <tab> OFFSET <tab> LENGTH <tab> NEIGHBOURS
 *	...
 *
 * one line per step as written (a matrix once, by its name), sorted
 * bytewise by ID so a lookup is a binary search of the mapped file
 * (look(1)'s way).  SIZE and MTIME (seconds.nanoseconds) are dag.json's:
 * an index of another dag.json, or of this one edited, is not used.  OFFSET and LENGTH place the step's object in dag.json;
 * NEIGHBOURS are the ids (a matrix by its name), space-separated, of its
 * needs and of the ancestors its expressions read.  KIND: 's' a step,
 * 'm' a matrix, 'x' a step dag-step cannot take alone (a foreach, a
 * finally step, one whose expressions read .steps dynamically, or one
 * that needs a foreach): the whole DAG is loaded for it.
 *
 * stepidx_load makes a small document of its own: the top-level members,
 * then a stand-in for each neighbour ({"id": ..., "run": "true"}, with
 * the matrix of one), then the step.  Loaded with DAG_PARTIAL, it is the
 * step's neighbourhood: the same ids, so the journal's lines and the
 * steps/ files apply to it unchanged.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dag.h"
#include "diag.h"
#include "jdoc.h"
#include "rundir.h"
#include "stepidx.h"
#include "strbuf.h"
#include "xalloc.h"

#define IDX_MAGIC	"dagkit-index 1 "

struct line {
	const char	*id;
	char		*text;
};

/* A step's id as written: a matrix instance's is its matrix's name. */
static const char *
source_id(const struct dag *g, uint32_t k)
{
	return g->s[k].group != GROUP_NONE ? g->groups[g->s[k].group].name :
	    g->s[k].id;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->id,
	    ((const struct line *)b)->id);
}

/* The neighbours' ids of step i (and of its matrix's instances), sorted
 * and unique, to *out; their count.  *alone cleared when one is a
 * foreach. */
static uint32_t
neighbours(const struct dag *g, uint32_t i, const char ***out, int *alone)
{
	const struct group *gr = g->s[i].group != GROUP_NONE ?
	    &g->groups[g->s[i].group] : NULL;
	uint32_t m, n = gr != NULL ? gr->n : 1, k, v, cnt = 0, w;
	const char **ids = NULL;
	size_t cap = 0;

	for (m = 0; m < n; m++) {
		const struct step *s = &g->s[gr != NULL ? GROUP_AT(gr, m) : i];
		uint32_t u = (uint32_t)(s - g->s);
		uint32_t nn = g->need_off[u + 1] - g->need_off[u];

		if (s->all_refs || s->final || s->foreach >= 0)
			*alone = 0;
		for (k = 0; k < nn + s->nrefs; k++) {
			v = k < nn ? g->need[g->need_off[u] + k] :
			    s->refs[k - nn];
			if (g->s[v].foreach >= 0)
				*alone = 0;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 8;
				ids = xreallocarray(ids, cap, sizeof(*ids));
			}
			ids[cnt++] = source_id(g, v);
		}
	}
	if (cnt > 0)
		qsort(ids, cnt, sizeof(*ids), cmp_str);
	for (k = 0, w = 0; k < cnt; k++)
		if (w == 0 || strcmp(ids[w - 1], ids[k]) != 0)
			ids[w++] = ids[k];
	*out = ids;
	return w;
}

static int
write_index(const struct dag *g, int dfd, const uint64_t *span)
{
	struct stat st;
	struct strbuf sb = STRBUF_INIT;
	struct line *lines = xcalloc(g->nstatic + 1, sizeof(*lines));
	const char **ids;
	char tmp[RUNDIR_TMP];
	uint32_t i, k, n = 0, nn;
	FILE *fp = NULL;
	int alone;

	for (i = 0; i < g->nstatic; i++) {
		if (g->s[i].shared)
			continue;
		alone = 1;
		nn = neighbours(g, i, &ids, &alone);
		strbuf_addf(&sb, "%s\t%c\t%llu\t%llu\t", source_id(g, i),
		    !alone ? 'x' : g->s[i].group != GROUP_NONE ? 'm' : 's',
		    (unsigned long long)span[2 * i],
		    (unsigned long long)span[2 * i + 1]);
		for (k = 0; k < nn; k++)
			strbuf_addf(&sb, "%s%s", k > 0 ? " " : "", ids[k]);
		strbuf_addc(&sb, '\n');
		free(ids);
		lines[n].id = source_id(g, i);
		lines[n++].text = strbuf_detach(&sb, NULL);
	}
	qsort(lines, n, sizeof(*lines), cmp_line);
	if (fstatat(dfd, "dag.json", &st, 0) == 0 &&
	    (fp = rundir_stream(dfd, "dag.idx", tmp)) != NULL) {
		strbuf_addf(&sb, "%s%llu %lld.%09ld\n", IDX_MAGIC,
		    (unsigned long long)st.st_size,
		    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		dag_emit_top(g, &sb);
		strbuf_addc(&sb, '\n');
		for (i = 0; i < n; i++) {
			strbuf_adds(&sb, lines[i].text);
			strbuf_flush(&sb, fp, 64 << 10);
		}
		strbuf_flush(&sb, fp, 0);
	}
	for (i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	strbuf_release(&sb);
	return fp == NULL ? -1 : rundir_stream_end(dfd, fp, tmp, "dag.idx");
}

int
dag_freeze(const struct dag *g, int dfd, int index)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t *span = xcalloc(2 * (size_t)g->n + 1, sizeof(*span));
	char tmp[RUNDIR_TMP];
	FILE *fp;
	int rc = -1;

	/* No index is better than a stale one: dag-step then loads all. */
	if (unlinkat(dfd, "dag.idx", 0) == -1 && errno != ENOENT)
		goto out;
	if ((fp = rundir_stream(dfd, "dag.json", tmp)) == NULL)
		goto out;
	dag_emit(g, &sb, fp, span);
	strbuf_adds(&sb, "}\n");
	strbuf_flush(&sb, fp, 0);
	if (rundir_stream_end(dfd, fp, tmp, "dag.json") == 0)
		rc = index ? write_index(g, dfd, span) : 0;
out:
	strbuf_release(&sb);
	free(span);
	return rc;
}

/* -- reading ---------------------------------------------------------- */

struct idx {
	const char	*p;		/* the mapped file */
	size_t		 len;
	size_t		 top, body;	/* the top line; the first step line */
	uint64_t	 size;		/* dag.json's */
};

struct entry {
	char		 kind;
	uint64_t	 off, len;
	const char	*nb, *nbend;	/* its neighbours' ids */
};

/* The line of id (len bytes) parsed into e: 0, or -1 if there is none. */
static int
idx_find(const struct idx *x, const char *id, size_t len, struct entry *e)
{
	size_t lo = x->body, hi = x->len, p, q, n;
	const char *nl, *t;
	char *end;
	int c;

	while (lo < hi) {
		p = lo + (hi - lo) / 2;
		while (p > lo && x->p[p - 1] != '\n')
			p--;
		if ((nl = memchr(x->p + p, '\n', x->len - p)) == NULL)
			return -1;
		q = (size_t)(nl - x->p);
		if ((t = memchr(x->p + p, '\t', q - p)) == NULL)
			return -1;
		n = (size_t)(t - (x->p + p));
		if ((c = memcmp(id, x->p + p, len < n ? len : n)) == 0)
			c = len < n ? -1 : len > n;
		if (c < 0) {
			hi = p;
			continue;
		}
		if (c > 0) {
			lo = q + 1;
			continue;
		}
		if (t + 3 >= nl || t[2] != '\t')
			return -1;
		e->kind = t[1];
		e->off = strtoull(t + 3, &end, 10);
		if (*end != '\t')
			return -1;
		e->len = strtoull(end + 1, &end, 10);
		/* A span out of dag.json: the index is no good. */
		if (*end != '\t' || e->off > x->size || e->len > x->size -
		    e->off)
			return -1;
		e->nb = end + 1;
		e->nbend = nl;
		return 0;
	}
	return -1;
}

/* dag.json's bytes [off, off + len), appended to sb: 0 or -1. */
static int
read_span(int fd, uint64_t off, uint64_t len, struct strbuf *sb)
{
	ssize_t n;

	strbuf_grow(sb, (size_t)len);
	while (len > 0) {
		if ((n = pread(fd, sb->buf + sb->len, (size_t)len,
		    (off_t)off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		sb->len += (size_t)n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	sb->buf[sb->len] = '\0';
	return 0;
}

/* A stand-in for neighbour id: never run, its matrix kept so that it
 * expands to the same instances.  0, or -1 (the index is no good). */
static int
stand_in(const struct idx *x, int fd, const char *id, size_t len,
    struct strbuf *sb)
{
	struct strbuf obj = STRBUF_INIT;
	struct entry e;
	struct diag d;
	struct jdoc j;
	uint32_t m;
	int rc = -1;

	if (idx_find(x, id, len, &e) == -1 || e.kind == 'x')
		return -1;
	strbuf_adds(sb, "{\"id\":\"");
	strbuf_add(sb, id, len);
	strbuf_adds(sb, "\",\"run\":\"true\"");
	if (e.kind != 'm') {
		strbuf_adds(sb, "},");
		return 0;
	}
	diag_init(&d, "dag.json");
	if (read_span(fd, e.off, e.len, &obj) == 0 &&
	    jdoc_parse(&j, obj.buf, obj.len, &d) == 0) {
		if (j.n[0].kind == J_OBJ &&
		    (m = jdoc_get(&j, 0, "matrix")) != JNONE) {
			strbuf_adds(sb, ",\"matrix\":");
			jdoc_emit(&j, m, sb);
			strbuf_adds(sb, "},");
			rc = 0;
		}
		jdoc_release(&j);
	}
	diag_release(&d);
	strbuf_release(&obj);
	return rc;
}

/* The neighbourhood's document of step id to doc: 0, or -1 when the
 * whole DAG must be loaded instead. */
static int
make_doc(const struct idx *x, int fd, const char *id, struct strbuf *doc)
{
	const char *p, *sp, *br = strchr(id, '[');
	struct entry e;
	size_t toplen = x->body - x->top - 1;

	if (idx_find(x, id, strlen(id), &e) == -1 && (br == NULL ||
	    idx_find(x, id, (size_t)(br - id), &e) == -1 || e.kind != 'm'))
		return -1;
	if (e.kind == 'x' || toplen < 2 || x->p[x->top + toplen - 1] != '}')
		return -1;
	strbuf_add(doc, x->p + x->top, toplen - 1);
	strbuf_adds(doc, ",\"steps\":[");
	for (p = e.nb; p < e.nbend; p = sp + 1) {
		if ((sp = memchr(p, ' ', (size_t)(e.nbend - p))) == NULL)
			sp = e.nbend;
		if (sp > p && stand_in(x, fd, p, (size_t)(sp - p), doc) == -1)
			return -1;
	}
	if (read_span(fd, e.off, e.len, doc) == -1)
		return -1;
	strbuf_adds(doc, "]}\n");
	return 0;
}

struct dag *
stepidx_load(int dfd, const char *display, const char *id, struct diag *d)
{
	struct strbuf doc = STRBUF_INIT;
	struct stat st;
	struct idx x;
	struct dag *g = NULL;
	const char *nl;
	char *end;
	uint64_t size;
	long long sec;
	long nsec;
	void *map;
	size_t n;
	int ifd, fd = -1;

	if ((ifd = rundir_open_file(dfd, "dag.idx", O_RDONLY)) == -1)
		return NULL;
	if (fstat(ifd, &st) == -1 || st.st_size < (off_t)sizeof(IDX_MAGIC) ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, ifd,
	    0)) == MAP_FAILED) {
		close(ifd);
		return NULL;
	}
	close(ifd);
	x.p = map;
	x.len = (size_t)st.st_size;
	if (memcmp(x.p, IDX_MAGIC, sizeof(IDX_MAGIC) - 1) != 0 ||
	    (nl = memchr(x.p, '\n', x.len)) == NULL)
		goto out;
	size = strtoull(x.p + sizeof(IDX_MAGIC) - 1, &end, 10);
	if (*end != ' ' || (sec = strtoll(end + 1, &end, 10), *end != '.') ||
	    (nsec = strtol(end + 1, &end, 10), end != nl))
		goto out;
	x.top = (size_t)(nl - x.p) + 1;
	if ((nl = memchr(x.p + x.top, '\n', x.len - x.top)) == NULL)
		goto out;
	x.body = (size_t)(nl - x.p) + 1;
	x.size = size;
	if ((fd = rundir_open_file(dfd, "dag.json", O_RDONLY)) == -1 ||
	    fstat(fd, &st) == -1 || (uint64_t)st.st_size != size ||
	    st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec ||
	    make_doc(&x, fd, id, &doc) == -1)
		goto out;
	n = doc.len;
	g = dag_load_buf(strbuf_detach(&doc, NULL), n, display, NULL,
	    DAG_PARTIAL, d);
out:
	if (fd != -1)
		close(fd);
	(void)munmap(map, x.len);
	strbuf_release(&doc);
	return g;
}
