/*
 * The incremental cache (cache.h): keys, the log, the stored outputs.
 * Nothing here decides what runs: cache_probe answers "up to date, or
 * why not" and the attempt acts on it.
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
#include "exec.h"
#include "jdoc.h"
#include "jqexpr.h"
#include "journal.h"
#include "rundir.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

/* Part of every key: a new format makes every old entry a miss. */
#define CACHE_FORMAT	"dagkit-cache-1"

static const uint8_t zero16[16];

/* -- hashing ---------------------------------------------------------- */

static void
h_bytes(XXH3_state_t *st, const void *p, size_t n)
{
	uint64_t len = n;

	(void)XXH3_128bits_update(st, &len, sizeof(len));
	(void)XXH3_128bits_update(st, p, n);
}

static void
h_str(XXH3_state_t *st, const char *s)
{
	if (s == NULL)
		h_bytes(st, "\377", 1);		/* no string: not "" */
	else
		h_bytes(st, s, strlen(s));
}

/* A node of the DAG, as its text (jdoc_emit), or absent. */
static void
h_node(XXH3_state_t *st, const struct jdoc *j, uint32_t v)
{
	struct strbuf sb = STRBUF_INIT;

	if (v == JNONE) {
		h_str(st, NULL);
		return;
	}
	jdoc_emit(j, v, &sb);
	h_bytes(st, sb.buf, sb.len);
	strbuf_release(&sb);
}

static void
h_end(XXH3_state_t *st, uint8_t out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, 16);
}
void
cache_unsettle(void)
{
	cache_stat_off();
}

int
cache_wanted(const struct dag *g, uint32_t i)
{
	const struct step *s = &g->s[i];

	return s->cache == 2 || (s->cache == 0 && (s->inputs != JNONE ||
	    s->outputs != JNONE));
}

int
cache_open(struct cache *k, const char *runs, const struct dag *g,
    int readonly, struct diag *d)
{
	char *clean = rundir_clean_name(g->name), *dir;
	int e;

	memset(k, 0, sizeof(*k));
	k->dfd = k->logfd = -1;
	k->on = 1;
	k->readonly = readonly;
	k->dir = xasprintf("%s/.cache/%s-%08x", runs, clean,
	    (unsigned)XXH32(g->name, strlen(g->name), 0));
	free(clean);
	dir = xasprintf("%s/o", k->dir);
	if (readonly) {
		/* -n: what there is, and nothing written. */
		free(dir);
		if ((k->dfd = open(k->dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || (k->logfd = openat(k->dfd, "log",
		    O_RDONLY | O_CLOEXEC)) == -1) {
			if (k->dfd != -1)
				close(k->dfd);
			k->dfd = -1;
			return -1;
		}
	} else if (rundir_mkdirs(dir) == -1 || (k->dfd = open(k->dir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1 || (k->logfd = openat(k->dfd,
	    "log", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) == -1) {
		e = errno;
		diag_add(d, DIAG_WARNING, NULL, "warning: cache '%s': %s (no "
		    "step is taken as up to date)", k->dir, strerror(e));
		free(dir);
		if (k->dfd != -1)
			close(k->dfd);
		k->dfd = -1;
		return -1;
	} else
		free(dir);
	k->n = g->n;
	k->e = xcalloc(g->n + 1, sizeof(*k->e));
	cachelog_load(k, g, d);
	return 0;
}

void
cache_grow(struct cache *k, const struct dag *g)
{
	uint32_t n = g->n, i;

	if (k->e == NULL || n <= k->n)
		return;
	k->e = xreallocarray(k->e, n + 1, sizeof(*k->e));
	memset(k->e + k->n, 0, (size_t)(n + 1 - k->n) * sizeof(*k->e));
	if (k->force != NULL) {
		k->force = xreallocarray(k->force, n + 1, 1);
		memset(k->force + k->n, 0, n + 1 - k->n);
	}
	for (i = k->n; i < n; i++)
		k->e[i] = cache_orphan_take(k, g->s[i].id);
	k->n = n;
}

void
cache_close(struct cache *k)
{
	uint32_t i;

	if (k->e != NULL)
		cachelog_settle(k);
	for (i = 0; i < k->n; i++)
		cache_entry_free(k->e[i]);
	free(k->e);
	cache_orphans_free(k);
	cache_pool_free(k->pool);
	cache_stat_off();
	free(k->force);
	free(k->dir);
	if (k->logfd != -1)
		close(k->logfd);
	if (k->dfd != -1)
		close(k->dfd);
	memset(k, 0, sizeof(*k));
	k->dfd = k->logfd = -1;
}

void
cache_probe_release(struct cache_probe *p)
{
	uint32_t i;

	cache_files_free(p->files, p->nfiles);
	if (p->outs != NULL)
		cache_files_free(p->outs, p->nouts_now);
	for (i = 0; i < p->nouts; i++) {
		free(p->outputs[i]);
		free(p->outname[i]);
	}
	free(p->outputs);
	free(p->outname);
	free(p->why);
	free(p->cwd);
	memset(p, 0, sizeof(*p));
}

/* -- probing ---------------------------------------------------------- */

/* dag-run's working directory, once. */
static const char *
where(void)
{
	static char *cwd;

	if (cwd == NULL && (cwd = getcwd(NULL, 0)) == NULL)
		cwd = xstrdup("?");
	return cwd;
}

/*
 * The definition's hashes, of what the step does after templates: its
 * command, its environment, and the rest (cwd, check, output mode, input
 * expression, launcher, the files it declares); def covers all three.
 */
static void
def_hash(const struct dag *g, uint32_t i, const struct cmdspec *c,
    struct cache_probe *p)
{
	const struct step *s = &g->s[i];
	const struct jdoc *j = &g->doc;
	XXH3_state_t st;
	char *const *v;
	size_t k;

	(void)XXH3_128bits_reset(&st);
	h_bytes(&st, &s->kind, 1);
	h_str(&st, s->transform >= 0 ? jqx_src(g->jqx, s->transform) : NULL);
	if (c->argv != NULL)
		for (k = c->nlaunch; c->argv[k] != NULL; k++)
			h_str(&st, c->argv[k]);
	h_str(&st, c->shell ? "shell" : "argv");
	h_end(&st, p->cmd);
	(void)XXH3_128bits_reset(&st);
	h_node(&st, j, g->env);
	for (k = 0; k < c->nenv; k++) {
		h_str(&st, c->envk[k]);
		h_str(&st, c->envv[k]);
	}
	if (s->item != NULL) {	/* DAG_MATRIX, DAG_ITEM (not in plain keys) */
		h_str(&st, "DAG_MATRIX");
		h_str(&st, s->item);
	}
	h_end(&st, p->env);
	(void)XXH3_128bits_reset(&st);
	h_str(&st, CACHE_FORMAT);
	h_bytes(&st, p->cmd, 16);
	h_bytes(&st, p->env, 16);
	h_bytes(&st, &s->output, 1);
	h_bytes(&st, &s->max_output, sizeof(s->max_output));
	/* The expressions in effect: the step's, or defaults'. */
	h_str(&st, s->input >= 0 ? jqx_src(g->jqx, s->input) : NULL);
	h_str(&st, s->check >= 0 ? jqx_src(g->jqx, s->check) : NULL);
	/* The launcher's text, not its prefix: srun's carries the run id. */
	h_node(&st, j, s->launcher);
	/* Where it runs: the same DAG run from elsewhere with one runs
	 * directory works on other files. */
	h_str(&st, where());
	h_str(&st, c->cwd);
	h_str(&st, "inputs");
	for (v = c->inputs; v != NULL && *v != NULL; v++)
		h_str(&st, *v);
	h_str(&st, "outputs");
	for (v = c->outputs; v != NULL && *v != NULL; v++)
		h_str(&st, *v);
	h_end(&st, p->def);
}

/* The hash of need n's output (zero when it has none): -1 if unreadable. */
static int
need_hash(const struct execctx *x, uint32_t n, uint8_t h[16])
{
	char *text, *err;
	size_t len;

	memset(h, 0, 16);
	if (!x->rs->s[n].has_output)
		return 0;
	if ((text = exec_need_output(x, n, &len, &err)) == NULL) {
		free(err);
		return -1;
	}
	len = exec_output_len(text, len);
	XXH128_canonicalFromHash((XXH128_canonical_t *)(void *)h,
	    XXH3_128bits(text, len));
	free(text);
	return 0;
}

/* A transform's input: the params and its needs' outputs. */
static int
transform_in(const struct execctx *x, uint32_t i, uint8_t out[16])
{
	const struct dag *g = x->g;
	XXH3_state_t st;
	uint8_t h[16];
	uint32_t k;
	jv t;

	(void)XXH3_128bits_reset(&st);
	t = jv_dump_string(jv_copy(x->params), JV_PRINT_SORTED);
	h_str(&st, jv_string_value(t));
	jv_free(t);
	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		if (need_hash(x, g->need[k], h) == -1)
			return -1;
		h_str(&st, g->s[g->need[k]].id);
		h_bytes(&st, h, 16);
	}
	h_end(&st, out);
	return 0;
}

struct named {
	char		*name, *full;
	struct stat	 st;		/* st_nlink 0: not taken */
};

static int
by_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
	    ((const struct named *)b)->name);
}

/* The input files of c, hashed into p->files: 0, or -1 with p->why. */
static int
hash_inputs(const struct cache_entry *e, const struct cmdspec *c,
    struct cache_probe *p)
{
	struct cache_flist l = { NULL, NULL, NULL, 0, 0 };
	struct named *v;
	struct cache_file *f;
	size_t k, m = 0;
	int rc = 0;

	cache_expand(c->cwd, c->inputs, &l);
	v = xcalloc(l.n + 1, sizeof(*v));
	for (k = 0; k < l.n; k++)
		v[k] = (struct named){ l.name[k], l.full[k], l.st[k] };
	free(l.name);
	free(l.full);
	free(l.st);
	qsort(v, l.n, sizeof(*v), by_named);
	p->files = xcalloc(l.n + 1, sizeof(*p->files));
	for (k = 0; k < l.n; k++) {
		if (m > 0 && strcmp(p->files[m - 1].path, v[k].name) == 0) {
			free(v[k].name);
			free(v[k].full);
			continue;
		}
		f = &p->files[m++];
		f->path = v[k].name;
		if (v[k].st.st_nlink != 0 && S_ISDIR(v[k].st.st_mode)) {
			/* A directory a walk met (an empty one counts). */
			cache_stat_into(f, &v[k].st);
			f->seen = cache_now_ns();
			free(v[k].full);
			continue;
		}
		switch (cache_hash_file(v[k].full, f, e != NULL ?
		    cache_find_file(e->files, e->nfiles, f->path) : NULL,
		    v[k].st.st_nlink != 0 ? &v[k].st : NULL)) {
		case -1:
			if (errno == ENOENT) {
				memset(f->h, 0, 16);
				f->size = f->ino = 0;
				f->mtime = f->ctime = f->seen = 0;
				f->missing = 1;
			} else if (rc == 0) {
				p->why = xasprintf("input %s: %s", f->path,
				    strerror(errno));
				rc = -1;
			}
			break;
		case 1:
			p->refresh = 1;
			break;
		}
		free(v[k].full);
	}
	p->nfiles = (uint32_t)m;
	free(v);
	return rc;
}

static void
key_of(struct cache_probe *p)
{
	XXH3_state_t st;
	uint32_t k, mode;

	(void)XXH3_128bits_reset(&st);
	h_bytes(&st, p->def, 16);
	h_bytes(&st, p->in, 16);
	for (k = 0; k < p->nfiles; k++) {
		h_str(&st, p->files[k].path);
		h_bytes(&st, p->files[k].missing ? zero16 : p->files[k].h, 16);
		h_bytes(&st, &p->files[k].missing, 1);
		/* The file's type and whether it can be run: a tool that
		 * lost its x bit fails. */
		mode = p->files[k].mode & (S_IFMT | 0111);
		h_bytes(&st, &mode, sizeof(mode));
	}
	h_end(&st, p->key);
}

/* Why the input differs from e's: which need, if one. malloc'd. */
static char *
why_input(const struct execctx *x, uint32_t i, const struct cache_entry *e)
{
	const struct dag *g = x->g;
	uint8_t h[16];
	uint32_t k, m;
	const char *id;

	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		id = g->s[g->need[k]].id;
		for (m = 0; m < e->nneeds; m++)
			if (strcmp(e->need_id[m], id) == 0)
				break;
		if (m == e->nneeds)
			return xasprintf("need %s is new", id);
		if (need_hash(x, g->need[k], h) == 0 && memcmp(h, e->need_h[m],
		    16) != 0)
			return xasprintf("need %s produced different output",
			    id);
	}
	return xstrdup(g->s[i].kind == CMD_TRANSFORM ? "params or input "
	    "changed" : "input changed");
}

/* Why the input files differ from e's: the first that does.  malloc'd. */
static char *
why_files(const struct cache_probe *p, const struct cache_entry *e)
{
	uint32_t a = 0, b = 0;
	int c;

	while (a < p->nfiles || b < e->nfiles) {
		c = a == p->nfiles ? 1 : b == e->nfiles ? -1 :
		    strcmp(p->files[a].path, e->files[b].path);
		if (c < 0)
			return xasprintf(p->files[a].missing ? "input %s "
			    "missing" : "input %s is new", p->files[a].path);
		if (c > 0)
			return xasprintf("input %s removed", e->files[b].path);
		if (p->files[a].missing != e->files[b].missing)
			return xasprintf(p->files[a].missing ? "input %s "
			    "missing" : "input %s is new", p->files[a].path);
		if (!p->files[a].missing && memcmp(p->files[a].h,
		    e->files[b].h, 16) != 0)
			return xasprintf("input %s changed", p->files[a].path);
		a++;
		b++;
	}
	return NULL;
}

/* Why the key differs from e's.  malloc'd. */
static char *
why_changed(const struct execctx *x, uint32_t i, const struct cache_probe *p,
    const struct cache_entry *e)
{
	char *w;

	if (memcmp(p->cmd, e->cmd, 16) != 0)
		return xstrdup("command changed");
	if (memcmp(p->env, e->env, 16) != 0)
		return xstrdup("env changed");
	if (memcmp(p->def, e->def, 16) != 0)
		return xstrdup("definition changed (cwd, check, output, "
		    "input, launcher, inputs or outputs)");
	if (memcmp(p->in, e->in, 16) != 0)
		return why_input(x, i, e);
	if ((w = why_files(p, e)) != NULL)
		return w;
	return xstrdup("key changed");
}

/* The outputs e recorded, as they are now: NULL when all are the same,
 * else why not (malloc'd). */
static char *
check_outputs(const struct cache_entry *e, struct cache_probe *p)
{
	uint32_t k;
	int rc;

	p->outs = xcalloc(e->nouts + 1, sizeof(*p->outs));
	p->nouts_now = e->nouts;
	for (k = 0; k < e->nouts && k < p->nouts; k++) {
		p->outs[k].path = xstrdup(e->outs[k].path);
		if ((rc = cache_hash_file(p->outputs[k], &p->outs[k],
		    &e->outs[k], NULL)) == -1)
			return xasprintf(errno == ENOENT ? "output %s missing" :
			    "output %s: %s", e->outs[k].path, strerror(errno));
		if (memcmp(p->outs[k].h, e->outs[k].h, 16) != 0)
			return xasprintf("output %s changed", e->outs[k].path);
		if (rc == 1)
			p->refresh = 1;
	}
	if (e->nouts != p->nouts)
		return xstrdup("outputs changed");
	return NULL;
}

/* The variables dag-run sets that differ from run to run. */
static const char *const per_run[] = { "DAG_RUN_ID", "DAG_RUN_DIR",
    "DAG_ATTEMPT", NULL };

/*
 * Why step i, about to run c, cannot be judged by its key, or NULL: a
 * transform's input expression is evaluated as it runs (it may read
 * .run or any ancestor), and a command that names a variable of the run
 * does something else in every run.  malloc'd.
 */
static char *
volatile_why(const struct dag *g, uint32_t i, const struct cmdspec *c)
{
	const char *const *v;
	size_t k;

	if (g->s[i].kind == CMD_TRANSFORM && g->s[i].input >= 0)
		return xstrdup("not cached: a transform's input expression is "
		    "evaluated as it runs");
	for (v = per_run; *v != NULL; v++) {
		for (k = c->nlaunch; c->argv != NULL && c->argv[k] != NULL;
		    k++)
			if (strstr(c->argv[k], *v) != NULL)
				goto found;
		for (k = 0; k < c->nenv; k++)
			if (strstr(c->envv[k], *v) != NULL)
				goto found;
	}
	return NULL;
found:
	return xasprintf("not cached: its command reads $%s, which differs "
	    "in every run", *v);
}

int
cache_probe(struct cache *k, const struct execctx *x, uint32_t i,
    const struct cmdspec *c, const char *in, size_t inlen,
    struct cache_probe *p)
{
	const struct cache_entry *e = cache_entry_get(k, i);
	char *const *v;
	uint32_t n = 0;

	memset(p, 0, sizeof(*p));
	p->step = i;
	p->cwd = c->cwd != NULL ? xstrdup(c->cwd) : NULL;
	def_hash(x->g, i, c, p);
	if ((p->why = volatile_why(x->g, i, c)) != NULL) {
		p->uncacheable = 1;
		return 0;
	}
	if (in != NULL)
		XXH128_canonicalFromHash((XXH128_canonical_t *)(void *)p->in,
		    XXH3_128bits(in, inlen));
	else if (transform_in(x, i, p->in) == -1) {
		p->uncacheable = 1;
		p->why = xstrdup("a need's output is unreadable");
		return 0;
	}
	for (v = c->outputs; v != NULL && *v != NULL; v++)
		n++;
	p->outputs = xcalloc(n + 1, sizeof(*p->outputs));
	p->outname = xcalloc(n + 1, sizeof(*p->outname));
	for (p->nouts = 0; p->nouts < n; p->nouts++) {
		p->outname[p->nouts] = xstrdup(c->outputs[p->nouts]);
		p->outputs[p->nouts] = cache_full_path(c->cwd, c->outputs[p->nouts]);
	}
	if (hash_inputs(e, c, p) == -1) {
		p->uncacheable = 1;
		return 0;
	}
	key_of(p);
	if (k->dfd == -1)
		p->why = xstrdup("no cache");
	else if (k->force_all || (k->force != NULL && (k->force[i] ||
	    (x->g->s[i].pol.parent != UINT32_MAX &&
	    k->force[x->g->s[i].pol.parent]))))
		p->why = xstrdup("forced (--force)");
	else if (e == NULL)
		p->why = xstrdup("no earlier run");
	else if (memcmp(p->key, e->key, 16) != 0)
		p->why = why_changed(x, i, p, e);
	else
		p->why = check_outputs(e, p);
	if (p->why != NULL)
		return 0;
	p->hit = e;
	return 1;
}

/* -- the outputs ------------------------------------------------------ */

static int
open_store(const struct cache *k)
{
	return openat(k->dfd, "o", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The entry of p as it stands now, for the log. */
static struct cache_entry *
entry_of(const struct execctx *x, const struct cache_probe *p,
    struct cache_file *outs, uint32_t nouts)
{
	const struct dag *g = x->g;
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	uint32_t k, i = p->step, n = g->need_off[i + 1] - g->need_off[i];

	e->step = xstrdup(g->s[i].id);
	e->run = x->rs->id != NULL ? xstrdup(x->rs->id) : NULL;
	e->at = cache_now_ns() / 1000000;
	memcpy(e->key, p->key, 16);
	memcpy(e->def, p->def, 16);
	memcpy(e->cmd, p->cmd, 16);
	memcpy(e->env, p->env, 16);
	memcpy(e->in, p->in, 16);
	e->files = xcalloc(p->nfiles + 1, sizeof(*e->files));
	for (k = 0; k < p->nfiles; k++) {
		e->files[k] = p->files[k];
		e->files[k].path = xstrdup(p->files[k].path);
	}
	e->nfiles = p->nfiles;
	e->outs = outs;
	e->nouts = nouts;
	e->need_id = xcalloc(n + 1, sizeof(*e->need_id));
	e->need_h = xcalloc(n + 1, sizeof(*e->need_h));
	for (k = 0; k < n; k++) {
		uint32_t d = g->need[g->need_off[i] + k];

		e->need_id[k] = xstrdup(g->s[d].id);
		(void)need_hash(x, d, e->need_h[k]);
	}
	e->nneeds = n;
	return e;
}

static void
put(struct cache *k, uint32_t i, struct cache_entry *e, struct diag *d)
{
	cachelog_append(k, e, d);
	cache_entry_free(cache_entry_get(k, i));
	k->e[i] = e;
}

int
cache_restore(struct cache *k, const struct execctx *x,
    struct cache_probe *p, char **why)
{
	const struct cache_entry *e = p->hit;
	struct cache_entry *ne;
	XXH128_canonical_t c;
	char name[33], *text = NULL;
	size_t len = 0;
	int fd, rc = 0;

	*why = NULL;
	if (e->has_out) {
		cache_hex(e->out, name);
		if ((fd = open_store(k)) != -1) {
			text = rundir_read(fd, name, &len);
			close(fd);
		}
		if (text != NULL)
			XXH128_canonicalFromHash(&c, XXH3_128bits(text, len));
		if (text == NULL || memcmp(c.digest, e->out, 16) != 0) {
			*why = xstrdup("its cached output is lost or damaged");
			/* Away with it: the step's success stores it anew. */
			if (text != NULL && (fd = open_store(k)) != -1) {
				(void)unlinkat(fd, name, 0);
				close(fd);
			}
			free(text);
			return -1;
		}
		if ((fd = exec_step_dir(x, p->step, 1)) == -1 ||
		    rundir_replace(fd, "output.json", text, len) == -1) {
			*why = xasprintf("%s/steps/%s/output.json: %s",
			    x->rd->path, x->g->s[p->step].id, strerror(errno));
			rc = -2;
		}
		if (fd != -1)
			close(fd);
		free(text);
		if (rc != 0)
			return -1;
		rc = 1;
	}
	if (p->refresh) {
		/* Stat tuples that moved with the content the same: record
		 * them, so the next run need not read the files again. */
		ne = entry_of(x, p, p->outs, e->nouts);
		p->outs = NULL;
		memcpy(ne->out, e->out, 16);
		ne->has_out = e->has_out;
		put(k, p->step, ne, NULL);
		p->hit = NULL;
	}
	return rc;
}

char *
cache_output(struct cache *k, uint32_t i, size_t *len)
{
	const struct cache_entry *e = cache_entry_get(k, i);
	XXH128_canonical_t c;
	char name[33], *text = NULL;
	int fd;

	if (e == NULL || !e->has_out || (fd = open_store(k)) == -1)
		return NULL;
	cache_hex(e->out, name);
	text = rundir_read(fd, name, len);
	close(fd);
	if (text != NULL) {
		XXH128_canonicalFromHash(&c, XXH3_128bits(text, *len));
		if (memcmp(c.digest, e->out, 16) != 0) {
			free(text);
			text = NULL;
		}
	}
	return text;
}

/*
 * 1 if the input files are as the probe found them: one changed while
 * the step ran (an editor, another dag-run in the same tree) and the
 * outputs may be of either content, so the step is not recorded.
 */
static int
inputs_held(const struct cache_probe *p)
{
	const struct cache_file *f;
	struct cache_file now;
	struct stat sb;
	char *full;
	uint32_t k;
	int same;

	for (k = 0; k < p->nfiles; k++) {
		f = &p->files[k];
		full = cache_full_path(p->cwd, f->path);
		/* stat(2) itself: the memo is off once the step started. */
		if (stat(full, &sb) == 0) {
			cache_stat_into(&now, &sb);
			same = !f->missing && cache_same_stat(f, &now);
		} else
			same = f->missing;
		free(full);
		if (!same)
			return 0;
	}
	return 1;
}

void
cache_record(struct cache *k, const struct execctx *x,
    const struct cache_probe *p, int has_output, struct diag *d)
{
	const char *id = x->g->s[p->step].id;
	struct cache_entry *e;
	struct cache_file *outs;
	XXH128_canonical_t c;
	char name[33], *text = NULL, *err;
	size_t len;
	uint32_t n;
	int fd;

	if (k->dfd == -1 || p->uncacheable || !inputs_held(p))
		return;
	outs = xcalloc(p->nouts + 1, sizeof(*outs));
	for (n = 0; n < p->nouts; n++) {
		outs[n].path = xstrdup(p->outname[n]);
		if (cache_hash_file(p->outputs[n], &outs[n], NULL, NULL) ==
		    -1) {
			diag_add(d, DIAG_WARNING, NULL, "warning: step %s "
			    "succeeded but its output %s %s: it is not "
			    "cached", id, p->outname[n], errno == ENOENT ?
			    "was not made" : strerror(errno));
			cache_files_free(outs, n + 1);
			return;
		}
	}
	e = entry_of(x, p, outs, p->nouts);
	if (has_output) {
		if ((text = exec_need_output(x, p->step, &len, &err)) == NULL) {
			free(err);
			cache_entry_free(e);
			return;
		}
		XXH128_canonicalFromHash(&c, XXH3_128bits(text, len));
		memcpy(e->out, c.digest, 16);
		e->has_out = 1;
		cache_hex(e->out, name);
		if ((fd = open_store(k)) == -1 || (faccessat(fd, name, F_OK,
		    0) == -1 && rundir_replace(fd, name, text, len) == -1)) {
			if (!k->told)
				diag_add(d, DIAG_WARNING, NULL, "warning: "
				    "cache %s/o/%s: %s (steps will run again "
				    "next time)", k->dir, name,
				    strerror(errno));
			k->told = 1;
			if (fd != -1)
				close(fd);
			free(text);
			cache_entry_free(e);
			return;
		}
		close(fd);
		free(text);
	}
	put(k, p->step, e, d);
}
