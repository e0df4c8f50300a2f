/*
 * The cache's entries for a foreach's instances ("convert[a.csv]"): the
 * log names steps a DAG has only once the foreach step runs, so they are
 * kept aside by id when the log is read, given to their steps when the
 * DAG grows (cache_grow), and written back by a compaction that meets
 * them still aside.  Interface: cacheint.h.
 */
#include "compat.h"

#include <string.h>

#include "cache.h"
#include "cacheint.h"
#include "dag.h"
#include "xalloc.h"

int
cache_orphan_ok(const struct dag *g, const char *id, size_t n)
{
	const char *b = memchr(id, '[', n);
	int64_t t;

	if (b == NULL || b == id || id[n - 1] != ']')
		return 0;
	t = dag_find(g, id, (size_t)(b - id));
	return t >= 0 && g->s[t].foreach >= 0;
}

/* The slot of id in k's table: its entry's index + 1, or 0 (free). */
static uint32_t *
slot(const struct cache *k, const char *id, size_t n)
{
	size_t mask = k->orph_cap - 1, i;
	uint32_t *t;

	for (i = dag_id_hash(id, n) & mask;; i = (i + 1) & mask) {
		t = &k->orph_tab[i];
		if (*t == 0 || (strncmp(k->orph[*t - 1]->step, id, n) == 0 &&
		    k->orph[*t - 1]->step[n] == '\0'))
			return t;
	}
}

static void
rehash(struct cache *k)
{
	uint32_t i, *t;

	free(k->orph_tab);
	for (k->orph_cap = 64; k->orph_cap < (size_t)k->norph * 2 + 2;
	    k->orph_cap *= 2)
		;
	k->orph_tab = xcalloc(k->orph_cap, sizeof(*k->orph_tab));
	for (i = 0; i < k->norph; i++) {
		t = slot(k, k->orph[i]->step, strlen(k->orph[i]->step));
		*t = i + 1;
	}
}

void
cache_orphan_put(struct cache *k, struct cache_entry *e)
{
	uint32_t *t;

	if (k->orph_cap < (size_t)k->norph * 2 + 2)
		rehash(k);
	t = slot(k, e->step, strlen(e->step));
	if (*t != 0) {		/* a later line of the same instance */
		cache_entry_free(k->orph[*t - 1]);
		k->orph[*t - 1] = e;
		return;
	}
	k->orph = xreallocarray(k->orph, k->norph + 1, sizeof(*k->orph));
	k->orph[k->norph++] = e;
	*t = k->norph;
}

struct cache_entry *
cache_orphan_take(struct cache *k, const char *id)
{
	struct cache_entry *e;
	uint32_t *t;

	if (k->norph == 0)
		return NULL;
	t = slot(k, id, strlen(id));
	if (*t == 0 || k->orph[*t - 1] == NULL)
		return NULL;
	e = k->orph[*t - 1];
	k->orph[*t - 1] = NULL;	/* its slot stays: the table holds */
	return e;
}

void
cache_orphans_free(struct cache *k)
{
	uint32_t i;

	for (i = 0; i < k->norph; i++)
		cache_entry_free(k->orph[i]);
	free(k->orph);
	free(k->orph_tab);
	k->orph = NULL;
	k->orph_tab = NULL;
	k->norph = 0;
	k->orph_cap = 0;
}
