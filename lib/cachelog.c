/*
 * The cache's log: entries as lines (JSON, a space, the XXH3-128 of the
 * JSON in hex), appended with one write(2) each, read back keeping the
 * last good line of each step, and rewritten when mostly stale.
 * Interface: cacheint.h.
 */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "cache.h"
#include "cacheint.h"
#include "dag.h"
#include "diag.h"
#include "jdoc.h"
#include "journal.h"
#include "strbuf.h"
#include "xalloc.h"

#define CHUNK		65536

static const uint8_t zero16[16];

void
cache_hex(const uint8_t h[16], char out[33])
{
	static const char d[] = "0123456789abcdef";
	int k;

	for (k = 0; k < 16; k++) {
		out[2 * k] = d[h[k] >> 4];
		out[2 * k + 1] = d[h[k] & 15];
	}
	out[32] = '\0';
}

int
cache_unhex(const char *s, size_t n, uint8_t h[16])
{
	/* 16: not a lowercase hex digit. */
	static uint8_t val[256];
	static int ready;
	int k, a, b;

	if (!ready) {
		memset(val, 16, sizeof(val));
		for (k = 0; k < 10; k++)
			val['0' + k] = (uint8_t)k;
		for (k = 0; k < 6; k++)
			val['a' + k] = (uint8_t)(10 + k);
		ready = 1;
	}
	if (n != 32)
		return -1;
	for (k = 0; k < 16; k++) {
		a = val[(unsigned char)s[2 * k]];
		b = val[(unsigned char)s[2 * k + 1]];
		if ((a | b) & 16)
			return -1;
		h[k] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

/* -- the log ---------------------------------------------------------- */

/*
 * The entries read from the log live in one pool per cache, freed at
 * once: 10,000 steps made 110,000 blocks to free one by one.  An entry
 * replaced or refused leaves its bytes there until the cache closes.
 */
struct cache_pool {
	struct cache_pool	*next;
	size_t			 used, cap;
	const char		*run;		/* the last run id taken */
	max_align_t		 buf[];
};

#define POOL_CHUNK	(256 * 1024)

/* n zeroed bytes aligned to a (a power of 2, at most max_align_t's)
 * from *pp, or from malloc when pp is NULL. */
static void *
pool_bytes(struct cache_pool **pp, size_t n, size_t a)
{
	struct cache_pool *p;
	size_t at;

	if (pp == NULL)
		return xcalloc(1, n);
	if ((p = *pp) == NULL || (at = (p->used + a - 1) & ~(a - 1)) > p->cap ||
	    p->cap - at < n) {
		p = xmalloc(sizeof(*p) + (n > POOL_CHUNK ? n : POOL_CHUNK));
		p->next = *pp;
		p->used = 0;
		p->cap = n > POOL_CHUNK ? n : POOL_CHUNK;
		p->run = *pp != NULL ? (*pp)->run : NULL;
		*pp = p;
		at = 0;
	}
	p->used = at + n;
	return memset((char *)p->buf + at, 0, n);
}

static void *
pool_alloc(struct cache_pool **pp, size_t n)
{
	return pool_bytes(pp, n, sizeof(max_align_t));
}

/* v (n items of size) grown to cap items. */
static void *
pool_grow(struct cache_pool **pp, void *v, size_t n, size_t cap,
    size_t size)
{
	void *w;

	if (pp == NULL)
		return xreallocarray(v, cap, size);
	if (cap > SIZE_MAX / size)
		diag_bug("cache pool overflow");
	w = pool_alloc(pp, cap * size);
	memcpy(w, v, n * size);
	return w;
}

void
cache_pool_free(struct cache_pool *p)
{
	struct cache_pool *next;

	for (; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
}

void
cache_entry_free(struct cache_entry *e)
{
	uint32_t k;

	if (e == NULL || e->pooled)
		return;
	free(e->step);
	free(e->run);
	cache_files_free(e->files, e->nfiles);
	cache_files_free(e->outs, e->nouts);
	for (k = 0; k < e->nneeds; k++)
		free(e->need_id[k]);
	free(e->need_id);
	free(e->need_h);
	free(e);
}

static int
get_hash(const struct jdoc *d, uint32_t o, const char *k, uint8_t h[16])
{
	uint32_t v = jdoc_get(d, o, k);

	if (v == JNONE || d->n[v].kind != J_STR)
		return -1;
	return cache_unhex(d->buf + d->n[v].off + 1, d->n[v].len - 2, h);
}

/* "N N N N N N" (len bytes, decimal) into n[6]: 0 or -1 (sscanf was most
 * of reading the log). */
static int
get_nums(const char *s, size_t len, uint64_t n[6])
{
	size_t i = 0;
	int k;

	for (k = 0; k < 6; k++) {
		if (k > 0 && (i >= len || s[i++] != ' '))
			return -1;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return -1;
		for (n[k] = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (n[k] > ((uint64_t)INT64_MAX - (uint64_t)(s[i] -
			    '0')) / 10)
				return -1;	/* more than a time in ns */
			n[k] = n[k] * 10 + (uint64_t)(s[i] - '0');
		}
	}
	return i == len ? 0 : -1;
}

/* [["path","hash","size ino mtime ctime seen"], ...] into *f. */
static int
get_files(const struct jdoc *d, uint32_t o, const char *k,
    struct cache_file **f, uint32_t *n)
{
	uint32_t a = jdoc_get(d, o, k), e, m = 0;
	struct cache_file *v;
	const char *st;
	uint64_t n5[6];
	int bad = 0;

	*f = NULL;
	*n = 0;
	if (a == JNONE || d->n[a].kind != J_ARR)
		return -1;
	v = xcalloc(d->n[a].len + 1, sizeof(*v));
	for (e = a + 1; e < d->n[a].end; e = d->n[e].end, m++) {
		if (d->n[e].kind != J_ARR || d->n[e].len != 3 ||
		    d->n[e + 1].kind != J_STR || d->n[e + 2].kind != J_STR ||
		    d->n[e + 3].kind != J_STR) {
			bad = 1;
			break;
		}
		v[m].path = jdoc_strdup(d, e + 1, NULL);
		if (jdoc_streq(d, e + 2, "-"))
			v[m].missing = 1;
		else if (cache_unhex(d->buf + d->n[e + 2].off + 1, d->n[e + 2].len -
		    2, v[m].h) == -1)
			bad = 1;
		st = d->buf + d->n[e + 3].off + 1;
		if (get_nums(st, d->n[e + 3].len - 2, n5) == -1)
			bad = 1;
		v[m].size = n5[0];
		v[m].ino = n5[1];
		v[m].mtime = (int64_t)n5[2];
		v[m].ctime = (int64_t)n5[3];
		v[m].seen = (int64_t)n5[4];
		v[m].mode = (uint32_t)n5[5];
	}
	*f = v;
	*n = d->n[a].len;
	return bad ? -1 : 0;
}

/* One line of the log (its checksum checked) as an entry, or NULL. */
/*
 * The fast reader of a line as cachelog_append writes it, strings with no
 * escape (a path with one goes to jdoc).  Parsing was a fifth of a no-op
 * run of 10,000 steps.
 */
struct cur {
	const char		*p, *end;
	struct cache_pool	**pool;		/* NULL: malloc */
};

static int
c_lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static char *
c_str(struct cur *c)
{
	const char *q;
	char *s;

	if (c->p >= c->end || *c->p != '"' || (q = memchr(c->p + 1, '"',
	    (size_t)(c->end - c->p - 1))) == NULL || memchr(c->p + 1, '\\',
	    (size_t)(q - c->p - 1)) != NULL)
		return NULL;
	s = pool_bytes(c->pool, (size_t)(q - c->p), 1);
	memcpy(s, c->p + 1, (size_t)(q - c->p - 1));
	s[q - c->p - 1] = '\0';
	c->p = q + 1;
	return s;
}

/* A run id: most lines of a log name a few runs, so the pool keeps one
 * copy of the last. */
static char *
c_run(struct cur *c)
{
	const char *r;
	size_t n;
	char *s;

	if (c->pool != NULL && *c->pool != NULL && (r = (*c->pool)->run) !=
	    NULL && (size_t)(c->end - c->p) > (n = strlen(r)) + 1 &&
	    c->p[0] == '"' && memcmp(c->p + 1, r, n) == 0 &&
	    c->p[n + 1] == '"') {
		c->p += n + 2;
		return (char *)(uintptr_t)r;
	}
	if ((s = c_str(c)) != NULL && c->pool != NULL)
		(*c->pool)->run = s;
	return s;
}

static int
c_hash(struct cur *c, uint8_t h[16])
{
	if (c->end - c->p < 34 || c->p[0] != '"' || c->p[33] != '"' ||
	    cache_unhex(c->p + 1, 32, h) == -1)
		return -1;
	c->p += 34;
	return 0;
}

/*
 * The items of the list of lists at c->p, counted, at least 1: its
 * strings hold no quote (an escape sends the line to jdoc), so "],["
 * only parts items and "]]" only ends the list.  A list of needs ends
 * its items with null as well, and its ids might hold "],[": the count
 * is a capacity, which grows if short.
 */
static size_t
c_count(const struct cur *c, int needs)
{
	const char *p = c->p, *q;
	size_t n = 1;

	/* By ']' (memmem costs more than the scan on lines this short). */
	while ((q = memchr(p, ']', (size_t)(c->end - p))) != NULL &&
	    c->end - q >= 2) {
		if (q > c->p && (needs || q[-1] == '"') && q[1] == ']')
			break;
		if (q > c->p && (needs || q[-1] == '"') && q[1] == ',' &&
		    c->end - q >= 3 && q[2] == '[')
			n++;
		p = q + 1;
	}
	return n;
}

/* [["path","hash"|"-","N N N N N N"],...] */
static int
c_files(struct cur *c, struct cache_file **f, uint32_t *n)
{
	const char *q;
	uint64_t v[6];
	size_t cap = 1;
	struct cache_file *x;

	*f = NULL;
	*n = 0;
	if (c_lit(c, "[") == -1)
		return -1;
	if (c_lit(c, "]") == 0) {
		*f = pool_alloc(c->pool, sizeof(**f));
		return 0;	/* [] */
	}
	cap = c_count(c, 0);
	*f = pool_alloc(c->pool, cap * sizeof(**f));
	for (;;) {
		if (*n >= cap) {
			*f = pool_grow(c->pool, *f, *n, cap * 2, sizeof(**f));
			cap *= 2;
		}
		x = &(*f)[*n];
		memset(x, 0, sizeof(*x));
		if (c_lit(c, "[") == -1 || (x->path = c_str(c)) == NULL)
			return -1;
		++*n;
		if (c_lit(c, ",") == -1 || (c_lit(c, "\"-\"") == 0 ?
		    (x->missing = 1, 0) : c_hash(c, x->h)) == -1 ||
		    c_lit(c, ",\"") == -1 || (q = memchr(c->p, '"',
		    (size_t)(c->end - c->p))) == NULL ||
		    get_nums(c->p, (size_t)(q - c->p), v) == -1)
			return -1;
		x->size = v[0];
		x->ino = v[1];
		x->mtime = (int64_t)v[2];
		x->ctime = (int64_t)v[3];
		x->seen = (int64_t)v[4];
		x->mode = (uint32_t)v[5];
		c->p = q + 1;
		if (c_lit(c, "]") == -1)
			return -1;
		if (c_lit(c, ",") == -1)
			return c_lit(c, "]");
	}
}

static int
c_needs(struct cur *c, struct cache_entry *e)
{
	size_t cap;
	int empty;

	if (c_lit(c, ",\"needs\":[") == -1)
		return -1;
	empty = c_lit(c, "]") == 0;
	cap = empty ? 1 : c_count(c, 1);
	e->need_id = pool_alloc(c->pool, cap * sizeof(*e->need_id));
	e->need_h = pool_alloc(c->pool, cap * sizeof(*e->need_h));
	if (empty)
		return 0;
	for (;;) {
		if (e->nneeds >= cap) {
			e->need_id = pool_grow(c->pool, e->need_id,
			    e->nneeds, cap * 2, sizeof(*e->need_id));
			e->need_h = pool_grow(c->pool, e->need_h, e->nneeds,
			    cap * 2, sizeof(*e->need_h));
			cap *= 2;
		}
		memset(e->need_h[e->nneeds], 0, 16);
		if (c_lit(c, "[") == -1 || (e->need_id[e->nneeds] =
		    c_str(c)) == NULL)
			return -1;
		e->nneeds++;
		if (c_lit(c, ",") == -1 || (c_lit(c, "null") == -1 &&
		    c_hash(c, e->need_h[e->nneeds - 1]) == -1) ||
		    c_lit(c, "]") == -1)
			return -1;
		if (c_lit(c, ",") == -1)
			return c_lit(c, "]");
	}
}

static struct cache_entry *
parse_fast(const char *p, size_t len, struct cache_pool **pool)
{
	struct cur c = { p, p + len, pool };
	struct cache_entry *e = pool_alloc(pool, sizeof(*e));
	int64_t at = 0;

	e->pooled = pool != NULL;
	if (c_lit(&c, "{\"step\":") == -1 || (e->step = c_str(&c)) == NULL ||
	    (c_lit(&c, ",\"run\":") == 0 && (e->run = c_run(&c)) == NULL) ||
	    c_lit(&c, ",\"at\":") == -1)
		goto bad;
	while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
		if (at > (INT64_MAX - (*c.p - '0')) / 10)
			goto bad;
		at = at * 10 + (*c.p++ - '0');
	}
	e->at = at;
	if (c_lit(&c, ",\"key\":") == -1 || c_hash(&c, e->key) == -1 ||
	    c_lit(&c, ",\"def\":") == -1 || c_hash(&c, e->def) == -1 ||
	    c_lit(&c, ",\"cmd\":") == -1 || c_hash(&c, e->cmd) == -1 ||
	    c_lit(&c, ",\"env\":") == -1 || c_hash(&c, e->env) == -1 ||
	    c_lit(&c, ",\"in\":") == -1 || c_hash(&c, e->in) == -1 ||
	    c_lit(&c, ",\"out\":") == -1)
		goto bad;
	if (c_lit(&c, "null") == -1) {
		if (c_hash(&c, e->out) == -1)
			goto bad;
		e->has_out = 1;
	}
	if (c_needs(&c, e) == -1 || c_lit(&c, ",\"inputs\":") == -1 ||
	    c_files(&c, &e->files, &e->nfiles) == -1 ||
	    c_lit(&c, ",\"outputs\":") == -1 ||
	    c_files(&c, &e->outs, &e->nouts) == -1 || c_lit(&c, "}") == -1 ||
	    c.p != c.end)
		goto bad;
	return e;
bad:
	cache_entry_free(e);
	return NULL;
}

/* A line that parse_fast does not take (an escape in a string): jdoc. */
static struct cache_entry *
parse_slow(const char *p, size_t len)
{
	struct cache_entry *e;
	struct jdoc d;
	struct diag dg;
	uint32_t v, k, n = 0;
	int bad = 0;

	diag_init(&dg, NULL);
	if (jdoc_parse(&d, p, len, &dg) == -1) {
		diag_release(&dg);
		return NULL;
	}
	if (d.n[0].kind != J_OBJ) {
		jdoc_release(&d);
		diag_release(&dg);
		return NULL;
	}
	diag_release(&dg);
	e = xcalloc(1, sizeof(*e));
	if ((v = jdoc_get(&d, 0, "step")) == JNONE || d.n[v].kind != J_STR)
		bad = 1;
	else
		e->step = jdoc_strdup(&d, v, NULL);
	if ((v = jdoc_get(&d, 0, "run")) != JNONE && d.n[v].kind == J_STR)
		e->run = jdoc_strdup(&d, v, NULL);
	if ((v = jdoc_get(&d, 0, "at")) != JNONE && d.n[v].kind == J_NUM &&
	    jdoc_num(&d, v) >= 0 && jdoc_num(&d, v) < 9e15)
		e->at = (int64_t)jdoc_num(&d, v);
	bad |= get_hash(&d, 0, "key", e->key) == -1 ||
	    get_hash(&d, 0, "def", e->def) == -1 ||
	    get_hash(&d, 0, "cmd", e->cmd) == -1 ||
	    get_hash(&d, 0, "env", e->env) == -1 ||
	    get_hash(&d, 0, "in", e->in) == -1;
	e->has_out = get_hash(&d, 0, "out", e->out) == 0;
	if (!e->has_out && ((v = jdoc_get(&d, 0, "out")) == JNONE ||
	    d.n[v].kind != J_NULL))
		bad = 1;
	bad |= get_files(&d, 0, "inputs", &e->files, &e->nfiles) == -1 ||
	    get_files(&d, 0, "outputs", &e->outs, &e->nouts) == -1;
	if ((v = jdoc_get(&d, 0, "needs")) != JNONE && d.n[v].kind == J_ARR) {
		e->need_id = xcalloc(d.n[v].len + 1, sizeof(*e->need_id));
		e->need_h = xcalloc(d.n[v].len + 1, sizeof(*e->need_h));
		for (k = v + 1; k < d.n[v].end; k = d.n[k].end) {
			if (d.n[k].kind != J_ARR || d.n[k].len != 2 ||
			    d.n[k + 1].kind != J_STR) {
				bad = 1;
				break;
			}
			e->need_id[n] = jdoc_strdup(&d, k + 1, NULL);
			if (d.n[k + 2].kind == J_STR)
				(void)cache_unhex(d.buf + d.n[k + 2].off + 1,
				    d.n[k + 2].len - 2, e->need_h[n]);
			n++;
		}
		e->nneeds = n;
	}
	jdoc_release(&d);
	if (bad) {
		cache_entry_free(e);
		return NULL;
	}
	return e;
}

struct cache_entry *
cachelog_parse(const char *p, size_t len)
{
	struct cache_entry *e = parse_fast(p, len, NULL);

	return e != NULL ? e : parse_slow(p, len);
}

static void
put_files(struct strbuf *sb, const char *k, const struct cache_file *f,
    uint32_t n)
{
	char h[33];
	uint32_t i;

	strbuf_addf(sb, ",\"%s\":[", k);
	for (i = 0; i < n; i++) {
		strbuf_adds(sb, i ? ",[" : "[");
		strbuf_add_json_str(sb, f[i].path, strlen(f[i].path));
		cache_hex(f[i].h, h);
		strbuf_addf(sb, ",\"%s\",\"%" PRIu64 " %" PRIu64 " %" PRId64
		    " %" PRId64 " %" PRId64 " %" PRIu32 "\"]", f[i].missing ?
		    "-" : h, f[i].size, f[i].ino, f[i].mtime, f[i].ctime,
		    f[i].seen, f[i].mode);
	}
	strbuf_addc(sb, ']');
}

void
cachelog_format(const struct cache_entry *e, struct strbuf *sb)
{
	size_t at = sb->len;
	XXH128_canonical_t c;
	char h[33];
	uint32_t i;

	/* A line torn by a crash before this one ends here: ours stays
	 * whole (readers skip the empty lines). */
	strbuf_adds(sb, "\n{\"step\":");
	strbuf_add_json_str(sb, e->step, strlen(e->step));
	if (e->run != NULL) {
		strbuf_adds(sb, ",\"run\":");
		strbuf_add_json_str(sb, e->run, strlen(e->run));
	}
	strbuf_addf(sb, ",\"at\":%" PRId64, e->at);
	cache_hex(e->key, h);
	strbuf_addf(sb, ",\"key\":\"%s\"", h);
	cache_hex(e->def, h);
	strbuf_addf(sb, ",\"def\":\"%s\"", h);
	cache_hex(e->cmd, h);
	strbuf_addf(sb, ",\"cmd\":\"%s\"", h);
	cache_hex(e->env, h);
	strbuf_addf(sb, ",\"env\":\"%s\"", h);
	cache_hex(e->in, h);
	strbuf_addf(sb, ",\"in\":\"%s\"", h);
	cache_hex(e->out, h);
	strbuf_addf(sb, e->has_out ? ",\"out\":\"%s\"" : ",\"out\":null", h);
	strbuf_adds(sb, ",\"needs\":[");
	for (i = 0; i < e->nneeds; i++) {
		strbuf_adds(sb, i ? ",[" : "[");
		strbuf_add_json_str(sb, e->need_id[i], strlen(e->need_id[i]));
		cache_hex(e->need_h[i], h);
		if (memcmp(e->need_h[i], zero16, 16) == 0)
			strbuf_adds(sb, ",null]");
		else
			strbuf_addf(sb, ",\"%s\"]", h);
	}
	strbuf_addc(sb, ']');
	put_files(sb, "inputs", e->files, e->nfiles);
	put_files(sb, "outputs", e->outs, e->nouts);
	strbuf_addc(sb, '}');
	XXH128_canonicalFromHash(&c, XXH3_128bits(sb->buf + at + 1,
	    sb->len - at - 1));
	cache_hex(c.digest, h);
	strbuf_addf(sb, " %s\n", h);
}

/* Entry e as one line, with one write(2). */
void
cachelog_append(struct cache *k, const struct cache_entry *e, struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;

	cachelog_format(e, &sb);
	k->lines++;
	if (journal_write_all(k->logfd, sb.buf, sb.len) == -1 && !k->told) {
		k->told = 1;
		if (d != NULL)
			diag_add(d, DIAG_WARNING, NULL, "warning: cache %s/log: "
			    "%s (steps will run again next time)", k->dir,
			    strerror(errno));
	}
	strbuf_release(&sb);
}

static int
by_hash(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * The stored outputs no live entry names.  One another dag-run stored a
 * moment ago for a line not yet appended may go too: that step then runs
 * again next time ("its cached output is lost"), no harm.
 */
static void
prune(struct cache *k)
{
	uint8_t (*live)[16] = xcalloc(k->n + 1, sizeof(*live)), h[16];
	size_t n = 0;
	uint32_t i;
	struct dirent *de;
	DIR *d;
	int fd;

	const struct cache_entry *e;

	live = xreallocarray(live, (size_t)k->n + k->norph + 1,
	    sizeof(*live));
	for (i = 0; i < k->n; i++)
		if ((e = cache_entry_get(k, i)) != NULL && e->has_out)
			memcpy(live[n++], e->out, 16);
	for (i = 0; i < k->norph; i++)
		if ((e = k->orph[i]) != NULL && e->has_out)
			memcpy(live[n++], e->out, 16);
	qsort(live, n, sizeof(*live), by_hash);
	if ((fd = openat(k->dfd, "o", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (cache_unhex(de->d_name, strlen(de->d_name), h) ==
			    0 && bsearch(h, live, n, sizeof(*live),
			    by_hash) == NULL)
				(void)unlinkat(fd, de->d_name, 0);
		closedir(d);
	} else if (fd != -1)
		close(fd);
	free(live);
}

/*
 * The log, when a third of its lines are stale: the live entries, written to
 * a new file renamed over it.  Entries of steps the DAG no longer has go.
 * A dag-run appending to the old file meanwhile loses its lines: steps
 * that run again next time, no harm.
 */
static void
compact(struct cache *k, size_t lines, size_t live, struct diag *d)
{
	char tmp[64];
	uint32_t i;
	int fd, old = k->logfd;

	k->lines = lines;
	if (k->readonly || lines < 1000 || 2 * lines < 3 * live)
		return;
	(void)snprintf(tmp, sizeof(tmp), "log.%ld.tmp", (long)getpid());
	if ((fd = openat(k->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_APPEND | O_CLOEXEC, 0644)) == -1)
		return;
	k->logfd = fd;
	k->lines = 0;
	for (i = 0; i < k->n; i++)
		if (cache_entry_get(k, i) != NULL)
			cachelog_append(k, k->e[i], d);
	for (i = 0; i < k->norph; i++)	/* instances not run this time */
		if (k->orph[i] != NULL)
			cachelog_append(k, k->orph[i], d);
	if (k->told || renameat(k->dfd, tmp, k->dfd, "log") == -1) {
		(void)unlinkat(k->dfd, tmp, 0);
		close(fd);
		k->logfd = old;
		k->lines = lines;
		return;
	}
	close(old);
	prune(k);
}

void
cachelog_settle(struct cache *k)
{
	size_t live = 0;
	uint32_t i;

	if (k->logfd == -1 || k->told)
		return;
	for (i = 0; i < k->n; i++)
		live += k->e[i] != NULL;
	for (i = 0; i < k->norph; i++)
		live += k->orph[i] != NULL;
	compact(k, k->lines, live, NULL);
}

/* The id a line of the log is about (ids are plain: no escapes), its
 * length in *n; NULL if the line is not one. */
static const char *
line_step(const char *p, size_t len, size_t *n)
{
	static const char pre[] = "{\"step\":\"";
	const char *q;

	if (len < sizeof(pre) + 33 || memcmp(p, pre, sizeof(pre) - 1) != 0 ||
	    (q = memchr(p + sizeof(pre) - 1, '"', len - sizeof(pre))) == NULL)
		return NULL;
	*n = (size_t)(q - p) - (sizeof(pre) - 1);
	return p + sizeof(pre) - 1;
}

/* 1 if the line's checksum holds. */
static int
line_ok(const char *p, size_t len)
{
	XXH128_canonical_t c;
	uint8_t sum[16];

	if (len < 34 || p[len - 33] != ' ' || cache_unhex(p + len - 32, 32,
	    sum) == -1)
		return 0;
	XXH128_canonicalFromHash(&c, XXH3_128bits(p, len - 33));
	return memcmp(c.digest, sum, 16) == 0;
}

/* dag_find, trying the step after last first: a compacted log is in
 * the DAG's order. */
static int64_t
find_next(const struct dag *g, const char *id, size_t n, uint32_t last)
{
	const char *s;

	last++;		/* UINT32_MAX: none before, step 0 next */
	if (last < g->n && (s = g->s[last].id, strncmp(s, id, n) == 0) &&
	    s[n] == '\0')
		return last;
	return dag_find(g, id, n);
}

/*
 * The whole lines in buf[0..len) taken into k: the last good line of each
 * step of g wins, parsed into k's pool as it comes (one that a later line
 * replaces leaves its bytes there: compaction keeps those few).  Returns
 * where the first line not whole starts.
 */
static size_t
take_lines(struct cache *k, const struct dag *g, const char *buf,
    size_t len, uint8_t *seen, size_t *lines, size_t *live, uint32_t *last)
{
	const char *p = buf, *nl, *id;
	struct cache_entry *e;
	size_t n, ln;
	int64_t i;

	for (; (nl = memchr(p, '\n', (size_t)(buf + len - p))) != NULL;
	    p = nl + 1) {
		if (nl == p)
			continue;	/* each line starts with one */
		++*lines;
		ln = (size_t)(nl - p);
		if ((id = line_step(p, ln, &n)) == NULL || !line_ok(p, ln))
			continue;
		if ((i = find_next(g, id, n, *last)) < 0) {
			/* A foreach's instance: aside until it is a step
			 * (the entry out of the pool: it may outlive it). */
			if (cache_orphan_ok(g, id, n) && (e = parse_slow(p,
			    ln - 33)) != NULL) {
				cache_orphan_put(k, e);
				++*live;
			}
			continue;
		}
		*last = (uint32_t)i;
		/* The JSON before the checksum. */
		if ((e = parse_fast(p, ln - 33, &k->pool)) == NULL &&
		    (e = parse_slow(p, ln - 33)) == NULL)
			continue;
		*live += !seen[i];
		seen[i] = 1;
		cache_entry_free(k->e[i]);
		k->e[i] = e;
	}
	return (size_t)(p - buf);
}

/*
 * The log, read a piece at a time (it may be megabytes, most of them in
 * entries that are parsed anyway), then compacted if need be.
 */
void
cachelog_load(struct cache *k, const struct dag *g, struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;
	uint8_t *seen = xcalloc(g->n + 1, 1);
	size_t lines = 0, live = 0, done;
	uint32_t last = UINT32_MAX;	/* the step of the line before */
	off_t off = 0;
	ssize_t n;

	for (;;) {
		strbuf_grow(&sb, CHUNK);	/* past a line not whole */
		if ((n = pread(k->logfd, sb.buf + sb.len, sb.cap - sb.len - 1,
		    off)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* a torn last line stays out */
		sb.len += (size_t)n;
		off += n;
		done = take_lines(k, g, sb.buf, sb.len, seen, &lines, &live,
		    &last);
		memmove(sb.buf, sb.buf + done, sb.len - done);
		sb.len -= done;
	}
	strbuf_release(&sb);
	free(seen);
	compact(k, lines, live, d);
}

struct cache_entry *
cache_entry_get(struct cache *k, uint32_t i)
{
	return k->e != NULL && i < k->n ? k->e[i] : NULL;
}
