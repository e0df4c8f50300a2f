/*
 * dag-run's entry point: a new run, or a resumed one, from options to
 * exit status.  It sets up what the run works on (struct runctx: the DAG,
 * the run directory, its lock, the journal, the params, the plan), hands
 * it to the runner, and says what happened.  With dag-step (step.c) it is
 * the only part of the engine that prints.
 *
 * A resume takes the run's lock before it reads anything of the run: two
 * resumes started together must not both replay the journal and run the
 * same steps; the second exits 75.
 */
#include "compat.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cache.h"
#include "clock.h"
#include "dag.h"
#include "diag.h"
#include "exitcode.h"
#include "history.h"
#include "json.h"
#include "opts.h"
#include "reaper.h"
#include "rerun.h"
#include "run.h"
#include "runner.h"
#include "stepidx.h"
#include "strbuf.h"
#include "xalloc.h"

void
run_say(int e, const char *fmt, ...)
{
	struct diag d;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	diag_init(&d, getprogname());
	if (e != 0)
		diag_add(&d, DIAG_ERROR, NULL, "%s: %s", msg != NULL ? msg :
		    fmt, rundir_strerror(e));
	else
		diag_add(&d, DIAG_ERROR, NULL, "%s", msg != NULL ? msg : fmt);
	diag_print(&d, stderr);
	diag_release(&d);
	free(msg);
}

void
run_tell(struct runctx *c, int quiet)
{
	size_t k;

	if (c->news.n == 0)
		return;
	for (k = 0; k < c->news.n; k++)
		if (c->news.v[k].sev != DIAG_WARNING || !quiet)
			warnx("%s", c->news.v[k].msg);
	diag_release(&c->news);
	diag_init(&c->news, NULL);
}

void
run_kill_left(struct runctx *c, int64_t step)
{
	uint32_t i;

	/* The groups first: their leaders' start times are checked, and the
	 * environment scan would kill the leaders (a parent that reaps at
	 * once then makes the check fail, and the rest of a group live). */
	for (i = 0; i < c->g->n; i++)
		if ((step < 0 || i == step) &&
		    c->rs.s[i].status == ST_RUNNING && c->rs.s[i].pid > 0)
			reaper_kill_group(c->rs.s[i].pid, c->rs.s[i].pid_at);
	reaper_kill_orphans(c->rs.id, c->rd.path, step < 0 ? NULL :
	    c->g->s[step].id);
}

void
run_drive(struct runner *r, int quiet)
{
	while (runner_turn(r) == 0)
		run_tell(r->c, quiet);
	run_tell(r->c, quiet);
}

/*
 * --launcher: the document gets a top-level "launcher" member in front, so
 * the loader checks it like one written in the file (a file that has its
 * own is refused as a duplicate key).
 */
static struct dag *
load_with_launcher(const char *path, const char *display, const char *l,
    struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;
	char *buf, *brace;
	size_t len;

	if (json_read_file(path, &buf, &len, d) == -1)
		return NULL;
	if ((brace = memchr(buf, '{', len)) == NULL) {
		free(buf);
		diag_add(d, DIAG_ERROR, NULL, "the document must be a JSON "
		    "object");
		return NULL;
	}
	strbuf_add(&sb, buf, (size_t)(brace - buf) + 1);
	strbuf_adds(&sb, "\"launcher\":");
	strbuf_adds(&sb, strcmp(l, "slurm") == 0 ? "\"slurm\"" : l);
	strbuf_addc(&sb, ',');
	strbuf_add(&sb, brace + 1, len - (size_t)(brace - buf) - 1);
	free(buf);
	buf = strbuf_detach(&sb, &len);
	return dag_load_buf(buf, len, display, NULL, 0, d);
}

int
run_load_frozen(struct runctx *c, const char *dir)
{
	char *path = xasprintf("%s/dag.json", dir);
	int fd, rc;

	/* A run's own file: regular, or a FIFO or a device would hang or
	 * flood us.  Not one: the directory is no run (exit 2). */
	if ((fd = rundir_open_file(AT_FDCWD, path, O_RDONLY)) == -1 &&
	    errno != ENOENT) {
		rc = errno == EINVAL ? EXIT_USAGE : EXIT_SYSERR;
		run_say(errno, "read '%s'", path);
		free(path);
		return rc;
	}
	if (fd != -1)
		close(fd);
	rc = run_load(c, path, path, NULL);
	free(path);
	return rc;
}

int
run_load(struct runctx *c, const char *path, const char *display,
    const char *launcher)
{
	struct diag d;
	int rc = EXIT_OK;

	diag_init(&d, display);
	c->g = launcher != NULL ? load_with_launcher(path, display, launcher,
	    &d) : dag_load(path, display, 0, &d);
	diag_print(&d, stderr);
	if (c->g == NULL)
		rc = d.worst == DIAG_SYSERR ? EXIT_SYSERR : EXIT_USAGE;
	else
		state_init(&c->rs, c->g);
	diag_release(&d);
	return rc;
}

/* A value (consumed) for a message: compact JSON, cut at 40 bytes. */
static void
add_value(struct strbuf *sb, jv v)
{
	struct strbuf tmp = STRBUF_INIT;

	json_append(&tmp, v);
	jv_free(v);
	if (tmp.len > 40) {
		tmp.len = 37;
		strbuf_adds(&tmp, "...");
	}
	strbuf_add(sb, tmp.buf, tmp.len);
	strbuf_release(&tmp);
}

/* The kind of JSON value v is, for a message: "a boolean"... */
static const char *
kind_words(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return "a string";
	case JV_KIND_NUMBER:
		return "a number";
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		return "a boolean";
	case JV_KIND_NULL:
		return "null";
	case JV_KIND_ARRAY:
		return "an array";
	default:
		return "an object";
	}
}

static int
same_kind(jv a, jv b)
{
	jv_kind x = jv_get_kind(a), y = jv_get_kind(b);

	if (x == JV_KIND_FALSE)
		x = JV_KIND_TRUE;
	if (y == JV_KIND_FALSE)
		y = JV_KIND_TRUE;
	return x == y;
}

/* 0 if -p key's text is UTF-8, else -1 after saying so. */
static int
utf8_ok(const char *key, const char *text)
{
	size_t k, n;

	for (k = 0; text[k] != '\0'; k += n)
		if ((n = strbuf_utf8_len((const unsigned char *)text + k,
		    strlen(text + k))) == 0) {
			run_say(0, "-p %s: the value is not UTF-8 text (byte %zu "
			    "is not)", key, k + 1);
			return -1;
		}
	return 0;
}

/*
 * The value of param key as src (a -p or --params) gives it: typed by its
 * default def (consumed), a string default taking the text as it is and
 * any other the JSON of its own kind; raw (key:=JSON) takes any JSON.
 * text is the -p's text, or NULL when v (consumed) is JSON already.
 * Returns the value, or jv_invalid() after saying why.
 */
static jv
typed(const char *src, const char *key, jv def, const char *text, jv v,
    int raw)
{
	struct strbuf d = STRBUF_INIT, got = STRBUF_INIT;

	if (text != NULL) {
		jv_free(v);
		v = !raw && jv_get_kind(def) == JV_KIND_STRING ?
		    jv_string(text) : json_parse_quiet(text, strlen(text));
	}
	if (jv_is_valid(v) && (raw || same_kind(v, def))) {
		jv_free(def);
		return v;
	}
	if (text != NULL)
		strbuf_adds(&got, text);
	else
		add_value(&got, jv_copy(v));
	if (raw)
		run_say(0, "%s: not one JSON value", src);
	else {
		const char *kind = kind_words(def);

		add_value(&d, def);
		def = jv_invalid();
		run_say(0, "%s: param \"%s\" is %s (default %s), got %s", src,
		    key, kind, d.buf, got.len > 60 ? "a value too long to "
		    "show" : got.buf);
	}
	jv_free(def);
	jv_free(v);
	strbuf_release(&d);
	strbuf_release(&got);
	return jv_invalid();
}

/*
 * Sets param key to v (consumed) in *p; notes in diff a value that
 * differs from the recorded one (rec, an object, or invalid).
 */
static void
set_param(jv *p, jv rec, const char *key, jv v, struct strbuf *diff)
{
	jv old;

	if (jv_is_valid(rec) && jv_object_has(jv_copy(rec), jv_string(key))) {
		old = jv_object_get(jv_copy(rec), jv_string(key));
		if (!jv_equal(jv_copy(old), jv_copy(v))) {
			strbuf_addf(diff, "%s%s was ", diff->len ? "; " : "",
			    key);
			add_value(diff, old);
			strbuf_adds(diff, ", now ");
			add_value(diff, jv_copy(v));
		} else
			jv_free(old);
	}
	*p = jv_object_set(*p, jv_string(key), v);
}

/* One -p: key=text (typed by the param's default) or key:=JSON. */
static int
one_p(jv *p, jv rec, const char *kv, struct strbuf *diff)
{
	const char *eq = strchr(kv, '=');
	char *key, *src;
	int raw;
	jv v;

	if (eq == NULL || eq == kv || (eq == kv + 1 && kv[0] == ':')) {
		run_say(0, "-p '%s': expected key=value or key:=json", kv);
		return -1;
	}
	raw = eq[-1] == ':';
	key = xstrndup(kv, (size_t)(eq - kv) - (size_t)raw);
	if (!jv_object_has(jv_copy(*p), jv_string(key))) {
		run_say(0, "-p %s: unknown parameter (the DAG's params declare "
		    "the keys)", key);
		free(key);
		return -1;
	}
	src = xasprintf("-p %s", kv);
	if (utf8_ok(key, eq + 1) == -1) {
		free(src);
		free(key);
		return -1;
	}
	v = typed(src, key, jv_object_get(jv_copy(*p), jv_string(key)),
	    eq + 1, jv_invalid(), raw);
	free(src);
	if (!jv_is_valid(v)) {
		free(key);
		return -1;
	}
	set_param(p, rec, key, v, diff);
	free(key);
	return 0;
}

/* --params FILE ("-": stdin): an object of params, typed as -p's are. */
static int
file_params(jv *p, jv rec, const char *file, struct strbuf *diff)
{
	char *src = xasprintf("--params %s", file);
	struct diag d;
	int rc = 0;
	jv obj;

	diag_init(&d, input_name(file));
	obj = json_load(file, &d);
	diag_print(&d, stderr);
	diag_release(&d);
	if (!jv_is_valid(obj) || jv_get_kind(obj) != JV_KIND_OBJECT) {
		if (jv_is_valid(obj))
			run_say(0, "%s: expected a JSON object of params", src);
		jv_free(obj);
		free(src);
		return -1;
	}
	jv_object_foreach(obj, key, val) {
		const char *k = jv_string_value(key);

		if (rc == 0 && !jv_object_has(jv_copy(*p), jv_copy(key))) {
			run_say(0, "%s: %s: unknown parameter (the DAG's params "
			    "declare the keys)", src, k);
			rc = -1;
		}
		if (rc == 0) {
			val = typed(src, k, jv_object_get(jv_copy(*p),
			    jv_copy(key)), NULL, val, 0);
			if (!jv_is_valid(val))
				rc = -1;
			else {
				set_param(p, rec, k, val, diff);
				val = jv_invalid();
			}
		}
		jv_free(key);
		jv_free(val);
	}
	jv_free(obj);
	free(src);
	return rc;
}

int
run_params(struct runctx *c, const char *file, char **kv, int n, int check,
    int changed)
{
	const struct dag *g = c->g;
	struct strbuf sb = STRBUF_INIT, diff = STRBUF_INIT;
	jv p = g->params != JNONE ? jdoc_jv(&g->doc, g->params) : jv_object();
	jv rec = jv_invalid();
	int i;

	/* A resumed run or a dag-step keeps the params the run began with. */
	if (c->rs.params != NULL) {
		rec = json_parse_quiet(c->rs.params, strlen(c->rs.params));
		if (jv_get_kind(rec) == JV_KIND_OBJECT)
			p = jv_object_merge(p, jv_copy(rec));
		else {
			jv_free(rec);
			rec = jv_invalid();
		}
		free(c->rs.params);
		c->rs.params = NULL;
	}
	if (file != NULL && file_params(&p, check ? rec : jv_invalid(), file,
	    &diff) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (one_p(&p, check ? rec : jv_invalid(), kv[i], &diff) == -1)
			goto fail;
	if (diff.len > 0 && !changed) {
		run_say(0, "--resume: -p differs from the params the run began "
		    "with: %s (give --params-changed to re-run what did not "
		    "succeed with the new values)", diff.buf);
		goto fail;
	}
	jv_free(rec);
	strbuf_release(&diff);
	json_append(&sb, p);
	c->rs.params = strbuf_detach(&sb, NULL);
	jv_free(c->x.params);
	c->x.params = p;
	return 0;
fail:
	jv_free(rec);
	jv_free(p);
	strbuf_release(&diff);
	return -1;
}

/*
 * --target: the steps named and their ancestors, by a worklist; without
 * it the whole DAG, whatever a resumed run's last invocation aimed at.
 */
static int
select_targets(struct runctx *c, char **t, int n)
{
	const struct dag *g = c->g;
	uint32_t i, k, *q, head = 0, tail = 0, v, nv;
	int ti;

	for (i = 0; i < g->n; i++)	/* a dropped instance stays out */
		c->rs.s[i].selected = n == 0 && !c->rs.s[i].hidden;
	if (n == 0)
		return 0;
	q = xcalloc(g->n + 1, sizeof(*q));
	for (ti = 0; ti < n; ti++) {
		if (dag_lookup(g, t[ti], &v, &nv) == -1 ||
		    c->rs.s[v].hidden) {
			run_say(0, "--target %s: no such step", t[ti]);
			free(q);
			return -1;
		}
		/* A foreach's instance: its step, which expands again and
		 * runs the instances that did not succeed. */
		if (g->s[v].pol.parent != SCHED_NONE)
			v = g->s[v].pol.parent;
		for (; nv > 0; v++, nv--)	/* a matrix: each instance */
			if (!c->rs.s[v].selected) {
				c->rs.s[v].selected = 1;
				q[tail++] = v;
			}
	}
	while (head < tail) {
		i = q[head++];
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			if (!c->rs.s[g->need[k]].selected) {
				c->rs.s[g->need[k]].selected = 1;
				q[tail++] = g->need[k];
			}
	}
	free(q);
	return 0;
}

void
run_describe(struct runctx *c, uint32_t i)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, c->g->s[i].id);
	strbuf_addc(&sb, '\t');
	exec_describe(&c->x, i, &sb);
	strbuf_addc(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
}

/*
 * -n --explain: whether step v is up to date, as far as it can be told
 * without running anything (up[] says which earlier steps are): 1 or 0,
 * and the line said.  A step whose needs all are up to date gets their
 * recorded outputs as its input; one with jq work (when, input,
 * templates) is decided when it starts.
 */
static int
dry_explain(struct runctx *c, uint32_t v, const uint8_t *up)
{
	const struct dag *g = c->g;
	struct strbuf in = STRBUF_INIT;
	struct cache_probe p;
	struct cmdspec cmd;
	uint32_t k, n;
	char *why = NULL, *text;
	size_t len;
	int any = 0, got = 0;

	for (k = g->need_off[v]; k < g->need_off[v + 1] && why == NULL; k++)
		if (!up[n = g->need[k]])
			why = xasprintf("need %s runs first", g->s[n].id);
	if (why == NULL && !cache_wanted(g, v))
		why = xstrdup(g->s[v].cache == 1 ? "\"cache\": false" :
		    "no inputs or outputs declared");
	else if (why == NULL && (exec_needs_prep(g, v) ||
	    g->s[v].kind == CMD_TRANSFORM))
		why = xstrdup("decided when it starts (when, input, "
		    "templates or transform)");
	else if (why == NULL && exec_literal(&c->x, v, &cmd, &why) == 0) {
		/* The input it would get: as exec_default_input makes it. */
		strbuf_adds(&in, g->need_off[v] == g->need_off[v + 1] ? "null" :
		    "{");
		for (k = g->need_off[v]; k < g->need_off[v + 1]; k++) {
			n = g->need[k];
			if ((text = cache_output(&c->cache, n, &len)) == NULL)
				continue;
			exec_input_member(&in, any, g->s[n].id, text, len);
			free(text);
			any = 1;
		}
		if (in.buf[0] == '{')
			strbuf_adds(&in, any || g->s[v].launcher != JNONE ?
			    "}\n" : "}");
		got = cache_probe(&c->cache, &c->x, v, &cmd, in.buf, in.len,
		    &p);
		why = got ? NULL : xstrdup(p.why);
		cache_probe_release(&p);
		cmdspec_release(&cmd);
	}
	fprintf(stderr, "%s: %s%s\n", g->s[v].id, got ? "up to date" :
	    "runs: ", got ? "" : why);
	free(why);
	strbuf_release(&in);
	return got;
}

/* -n: what would run, in topological order; a resume's finished steps
 * would not, nor (with --explain) the steps up to date. */
static void
dry_run(struct runctx *c, int explain)
{
	uint8_t *up = xcalloc(c->g->n + 1, 1);
	uint32_t k, v;

	for (k = 0; k < c->g->n; k++) {
		v = DAG_ORDER(c->g, k);
		if (!c->rs.s[v].selected)
			continue;
		if (c->rs.s[v].status == ST_SUCCEEDED ||
		    c->rs.s[v].status == ST_CACHED ||
		    c->rs.s[v].status == ST_SKIPPED)
			up[v] = 1;
		else if (explain && (up[v] = (uint8_t)dry_explain(c, v, up)))
			continue;
		else
			run_describe(c, v);
	}
	free(up);
}

char *
run_dir_of(const char *runs, const char *arg)
{
	struct stat st;

	if (strcmp(arg, "latest") == 0)
		return xasprintf("%s/latest", runs);
	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		return xstrdup(arg);
	return xasprintf("%s/%s", runs, arg);
}

int
run_open(struct runctx *c, const char *runs, const char *arg,
    const char *opt, int quiet_busy)
{
	char *dir = run_dir_of(runs, arg);
	struct stat st;
	struct diag d;
	int rc;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		run_say(0, "%s %s: no such run (%s)", opt, arg, dir);
		free(dir);
		return EXIT_USAGE;
	}
	diag_init(&d, "dag-run");
	if ((rc = rundir_open(&c->rd, dir, 0, &d)) != 0) {
		diag_print(&d, stderr);
		if (rc == -2 && !quiet_busy)
			run_say(0, "'%s' is locked: a dag-run or dag-step is "
			    "working on it", dir);
		diag_release(&d);
		free(dir);
		return rc == -2 ? EXIT_LOCKED : EXIT_SYSERR;
	}
	diag_release(&d);
	free(dir);
	if ((rc = run_load_frozen(c, c->rd.path)) != EXIT_OK)
		return rc;
	if (journal_load(c->rd.dfd, c->g, &c->rs) == -1) {
		run_say(errno, "read '%s/events.jsonl'", c->rd.path);
		return EXIT_SYSERR;
	}
	c->rs.id = xstrdup(c->rd.id);
	return EXIT_OK;
}

/*
 * The id of a run in --run-dir dir: the directory's name, as a resume or
 * dag-step will see it (trailing slashes are no part of it).  NULL when
 * that name cannot be a run id.  malloc'd.
 */
static char *
dir_id(const char *dir)
{
	char *p = xstrdup(dir), *b;
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	b = xstrdup((b = strrchr(p, '/')) != NULL ? b + 1 : p);
	free(p);
	if (rundir_id_ok(b) == -1) {
		free(b);
		return NULL;
	}
	return b;
}

/* A generated id no run of runs has yet (runs started in one second
 * differ in 16 random bits only). */
static char *
fresh_id(const char *runs, const char *name)
{
	struct stat st;
	char *id, *path;
	int k;

	for (k = 0;; k++) {
		id = rundir_new_id(name);
		path = xasprintf("%s/%s", runs, id);
		if (k == 16 || lstat(path, &st) == -1) {
			free(path);
			return id;
		}
		free(path);
		free(id);
	}
}

/* A new run's directory, its dag.json and its id. */
static int
create_run(struct runctx *c, const struct run_opts *o, const char *runs)
{
	struct diag d;
	char *id;
	int rc = EXIT_OK;

	if (o->run_dir != NULL)
		id = dir_id(o->run_dir);
	else if (o->run_id != NULL)
		id = xstrdup(o->run_id);
	else
		id = fresh_id(runs, c->g->name);
	if (id == NULL) {
		run_say(0, "--run-dir '%s': its name cannot be a run id "
		    "(UTF-8, no control character, not '.', '..' or 'latest')",
		    o->run_dir);
		return EXIT_USAGE;
	}
	diag_init(&d, "dag-run");
	if (rundir_create(&c->rd, runs, o->run_dir, id, &d) != 0) {
		diag_print(&d, stderr);
		rc = d.worst == DIAG_SYSERR ? EXIT_SYSERR : EXIT_USAGE;
		diag_release(&d);
		free(id);
		return rc;
	}
	diag_release(&d);
	c->rs.id = id;
	if (dag_freeze(c->g, c->rd.dfd, o->prepare) == -1) {
		run_say(errno, "write '%s/dag.json'", c->rd.path);
		rc = EXIT_SYSERR;
	}
	return rc;
}

static unsigned
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

/* The incremental cache, --explain and --force: EXIT_OK or EXIT_USAGE. */
static int
open_cache(struct runctx *c, const struct run_opts *o, const char *runs)
{
	uint32_t n, v, nv;
	int k;

	/* A DAG with nothing to cache leaves the runs directory alone. */
	for (n = 0; n < c->g->n && !cache_wanted(c->g, n); n++)
		;
	if (n < c->g->n || o->explain)
		(void)cache_open(&c->cache, runs, c->g, o->dry_run,
		    &c->news);
	c->cache.explain = o->explain;
	c->cache.force_all = o->force_all;
	if (o->nforce > 0)
		c->cache.force = xcalloc(c->g->n + 1, 1);
	for (k = 0; k < o->nforce; k++) {
		if (dag_lookup(c->g, o->force[k], &v, &nv) == -1) {
			run_say(0, "--force=%s: no such step", o->force[k]);
			return EXIT_USAGE;
		}
		while (nv-- > 0)
			c->cache.force[v++] = 1;
	}
	return EXIT_OK;
}

/* Everything but the run directory: DAG, journal, params, targets, plan. */
static int
set_up(struct runctx *c, const struct run_opts *o, const char *runs)
{
	double *hist;
	uint32_t i;
	int rc;

	if (o->resume != NULL) {
		rc = run_open(c, runs, o->resume, "--resume", 0);
		/* dag-steps of a prepared run read its index and their needs'
		 * own lines (step.c); once a dag-run has worked on it, they
		 * read the whole DAG and journal. */
		if (rc == EXIT_OK && !o->dry_run && unlinkat(c->rd.dfd,
		    "dag.idx", 0) == -1 && errno != ENOENT) {
			run_say(errno, "remove '%s/dag.idx'", c->rd.path);
			rc = EXIT_SYSERR;
		}
		if (rc == EXIT_OK && o->edited)
			rc = rerun_edit(c, o->input, o->quiet, o->dry_run);
	} else
		rc = run_load(c, o->input, input_name(o->input), o->launcher);
	if (rc != EXIT_OK)
		return rc;
	if (o->keep_going)
		c->g->on_failure = ONF_CONTINUE;
	if (run_params(c, o->params_file, o->params, o->nparams,
	    o->resume != NULL, o->params_changed) == -1 ||
	    select_targets(c, o->targets,
	    o->ntargets) == -1)
		return EXIT_USAGE;
	/* With steps the cache may take, the history waits for the first
	 * command: a no-op run need not read the past runs' run.json. */
	hist = NULL;
	for (i = 0; i < c->g->n && c->hist_runs == NULL; i++)
		if (cache_wanted(c->g, i))
			c->hist_runs = xstrdup(runs);
	if (c->hist_runs == NULL)
		hist = history_estimates(runs, c->g);
	plan_compute(c->g, hist, &c->plan);
	free(hist);
	exec_init(&c->x, c->g, &c->rs, &c->rd);
	return EXIT_OK;
}

/*
 * run.json and the journal written, or said why not (unless the runner
 * said it already: r, or NULL): 0 or -1.
 */
static int
saved(struct runctx *c, const struct runner *r)
{
	int rc = 0;

	if (runctx_snapshot(c) == -1) {
		if (r == NULL || !r->told_snapshot)
			run_say(errno, "write '%s/run.json'", c->rd.path);
		rc = -1;
	}
	if (c->jr.error != 0) {
		if (r == NULL || !r->told_journal)
			run_say(0, "write '%s/events.jsonl': %s", c->rd.path,
			    strerror(c->jr.error));
		c->jr.error = 0;
		rc = -1;
	}
	return rc;
}

/* --prepare: the run exists, for dag-step drivers; nothing starts. */
static int
prepare(struct runctx *c)
{
	struct diag d;

	int rc = EXIT_OK;

	c->rs.external = 1;
	journal_run_started(&c->jr, &c->rs, c->g, 0, 0);
	if (saved(c, NULL) == -1)
		rc = EXIT_SYSERR;
	diag_init(&d, "dag-run");
	(void)rundir_latest(&c->rd, &d);
	diag_release(&d);
	printf("%s\n", c->rd.path);
	return rc;
}

/* Steps this invocation has to decide, for the progress's total. */
static uint32_t
to_do(const struct runctx *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->g->n; i++)
		n += c->rs.s[i].selected &&
		    !step_status_terminal(c->rs.s[i].status);
	return n;
}

/* run_finished, the last run.json, --json and the last word. */
static int
conclude(struct runctx *c, struct runner *r, const struct run_opts *o)
{
	struct strbuf sb = STRBUF_INIT;

	c->rs.status = (uint8_t)runner_status(r);
	c->rs.finished = clock_wall_ms();
	journal_run_finished(&c->jr, &c->rs);
	if (saved(c, r) == -1)
		r->syserr = 1;
	progress_done(&c->pg);
	if (o->json) {
		state_emit(&c->rs, c->g, &sb);
		strbuf_addc(&sb, '\n');
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	}
	if (!o->quiet && c->rs.status != RUN_SUCCEEDED)
		fprintf(stderr, "dag-run: run %s %s (%s)\n", c->rs.id,
		    run_status_names[c->rs.status], c->rd.path);
	if (r->cancel_sig && c->rs.status != RUN_TIMED_OUT)
		return exit_for_signal(r->cancel_sig);
	if (c->rs.status == RUN_TIMED_OUT)
		return EXIT_TIMEOUT;
	if (r->syserr)
		return EXIT_SYSERR;
	return c->rs.status == RUN_SUCCEEDED ? EXIT_OK : EXIT_FAILED;
}

/* The run itself, once its directory and journal are open. */
static int
execute(struct runctx *c, const struct run_opts *o, const uint8_t *rerun)
{
	struct runner r;
	struct diag d;
	unsigned jobs = o->jobs ? o->jobs : c->g->max_parallel ?
	    c->g->max_parallel : ncpu();
	int rc;

	if (runner_init(&r, c, &(struct runner_opts){ jobs,
	    o->declaration_order, o->verbose, 0, o->no_handlers }) == -1) {
		run_say(errno, "setting up signals");
		runner_release(&r);
		return EXIT_SYSERR;
	}
	if (o->resume != NULL) {
		/* What a dead dag-run of this run left running. */
		run_kill_left(c, -1);
		runner_resume(&r);
		rerun_apply(&r, rerun);
	}
	progress_init(&c->pg, to_do(c), o->quiet);
	journal_run_started(&c->jr, &c->rs, c->g, o->ntargets > 0,
	    o->resume != NULL);
	runner_begin(&r);
	diag_init(&d, "dag-run");
	if (rundir_latest(&c->rd, &d) == -1)
		diag_print(&d, stderr);
	diag_release(&d);
	run_drive(&r, o->quiet);
	runner_end(&r);
	run_tell(c, o->quiet);
	rc = conclude(c, &r, o);
	runner_release(&r);
	return rc;
}

int
run_main(const struct run_opts *o)
{
	const char *runs = rundir_runs(o->runs);
	struct runctx c;
	struct diag d;
	uint8_t *rerun = NULL;
	int rc, lockfd = -1;

	if (o->run_id != NULL && rundir_id_ok(o->run_id) == -1) {
		run_say(0, "--run-id '%s': not a valid run id (UTF-8, no '/', "
		    "not '.', '..' or 'latest')", o->run_id);
		return EXIT_USAGE;
	}
	if (o->params_changed && o->resume == NULL) {
		run_say(0, "--params-changed goes with --resume");
		return EXIT_USAGE;
	}
	/* Big buffers (a log, a DAG, run.json) come and go: from the heap,
	 * kept for reuse, they are not mapped and faulted in anew each
	 * time. */
	(void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
	runctx_init(&c);
	if ((rc = set_up(&c, o, runs)) != EXIT_OK || (!o->prepare &&
	    (rc = open_cache(&c, o, runs)) != EXIT_OK) ||
	    (rc = rerun_select(&c, o->rerun, o->nrerun, o->downstream,
	    &rerun)) != EXIT_OK)
		goto out;
	if (o->dry_run) {
		rerun_clear(&c, rerun);
		dry_run(&c, o->explain);
		goto out;
	}
	diag_init(&d, "dag-run");
	if (o->lock && (lockfd = rundir_cron_lock(runs, c.g->name,
	    o->lock_wait, &d)) < 0) {
		diag_print(&d, stderr);
		rc = lockfd == -2 ? EXIT_LOCKED : EXIT_SYSERR;
		lockfd = -1;
	}
	diag_release(&d);
	if (rc != EXIT_OK || (o->resume == NULL && (rc = create_run(&c, o,
	    runs)) != EXIT_OK))
		goto out;
	free(c.rs.dag);
	c.rs.dag = xstrdup(c.g->name);
	free(c.rs.dir);
	c.rs.dir = xstrdup(c.rd.path);
	c.rs.pid = getpid();
	c.rs.started = o->resume != NULL && c.rs.started ? c.rs.started :
	    clock_wall_ms();
	c.rs.status = RUN_RUNNING;
	c.rs.finished = 0;
	if (journal_open(&c.jr, c.rd.dfd, c.rs.id) == -1) {
		run_say(errno, "open '%s/events.jsonl'", c.rd.path);
		rc = EXIT_SYSERR;
		goto out;
	}
	if (o->events)
		journal_mirror(&c.jr, STDOUT_FILENO);
	rc = o->prepare ? prepare(&c) : execute(&c, o, rerun);
out:
	if (lockfd != -1)
		close(lockfd);
	free(rerun);
	runctx_release(&c);
	return rc;
}
