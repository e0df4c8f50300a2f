/*
 * dag-step's entry point: one step of an existing run (made by dag-run or
 * by dag-run --prepare), run by the same scheduler and runner as dag-run
 * with that step alone selected, so its trigger, when, retries (a full
 * budget, as a resume gets) and timeout behave the same.  Any change of
 * the step's status is followed by the run's status, recomputed by the
 * scheduler's rule from the whole journal.  --finish closes a run an
 * external engine drove: the steps it never ran get the status dag-run
 * would give them.
 *
 * Locks: the run's lock shared (dag-steps of one run work together, not
 * beside a dag-run), the step's exclusively, and the journal's flock
 * while the run's status is recomputed, so two dag-steps ending together
 * do not both decide it from half the story.
 */
#include "compat.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "clock.h"
#include "dag.h"
#include "exitcode.h"
#include "foreach.h"
#include "run.h"
#include "runner.h"
#include "step.h"
#include "stepidx.h"
#include "strbuf.h"
#include "xalloc.h"

static int step_some(const struct step_opts *, const char *const *,
    uint32_t);

/* No such run is a usage error. */
static int
is_run_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		run_say(0, "no such run: %s", dir);
		return 0;
	}
	return 1;
}

/* The run's lock (shared): one that cannot be read or locked is a
 * system error, or says who holds it. */
static int
lock_run(struct runctx *c, const char *dir)
{
	struct diag d;
	int rc;

	diag_init(&d, "dag-step");
	if ((rc = rundir_open(&c->rd, dir, 1, &d)) != 0) {
		diag_print(&d, stderr);
		if (rc == -2)
			run_say(0, "'%s' is locked by a dag-run working on it",
			    dir);
		diag_release(&d);
		return rc == -2 ? EXIT_LOCKED : EXIT_SYSERR;
	}
	diag_release(&d);
	c->rs.id = xstrdup(c->rd.id);
	c->rs.dag = xstrdup(c->g->name);
	c->rs.dir = xstrdup(c->rd.path);
	return EXIT_OK;
}

/* Loads the run's frozen DAG, then takes its lock (but for nolock). */
static int
open_run(struct runctx *c, const char *dir, int nolock)
{
	int rc;

	if (!is_run_dir(dir))
		return EXIT_USAGE;
	if ((rc = run_load_frozen(c, dir)) != EXIT_OK || nolock)
		return rc;
	return lock_run(c, dir);
}

/*
 * A prepared run's step through its index (stepidx.c): only the step's
 * neighbourhood is loaded.  EXIT_OK with c->g set; -1 when the index
 * cannot serve (no index, a foreach...): the whole DAG is loaded then.
 */
static int
open_near(struct runctx *c, const char *dir, const char *id, int64_t *idx)
{
	struct diag d;
	char *display;
	int dfd;

	if (!is_run_dir(dir))
		return EXIT_USAGE;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	display = xasprintf("%s/dag.json", dir);
	diag_init(&d, display);
	c->g = stepidx_load(dfd, display, id, &d);
	close(dfd);
	if (c->g != NULL && (*idx = dag_find(c->g, id, strlen(id))) < 0) {
		dag_free(c->g);
		c->g = NULL;
	}
	if (c->g != NULL)
		diag_print(&d, stderr);
	diag_release(&d);
	free(display);
	if (c->g == NULL)
		return -1;
	state_init(&c->rs, c->g);
	return lock_run(c, dir);
}

/* The journal, with the params the run began with. */
static int
read_run(struct runctx *c)
{
	if (journal_load(c->rd.dfd, c->g, &c->rs) == -1) {
		run_say(errno, "read '%s/events.jsonl'", c->rd.path);
		return EXIT_SYSERR;
	}
	if (run_params(c, NULL, NULL, 0, 0, 0) == -1)
		return EXIT_USAGE;
	exec_init(&c->x, c->g, &c->rs, &c->rd);
	return EXIT_OK;
}

/* The journal's first line (run_started: the params) applied: 0, or -1
 * with errno. */
static int
read_head(struct runctx *c)
{
	struct strbuf sb = STRBUF_INIT;
	const char *nl = NULL;
	char buf[4096];
	off_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = rundir_open_file(c->rd.dfd, "events.jsonl", O_RDONLY)) ==
	    -1)
		return -1;
	while (nl == NULL && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
		strbuf_add(&sb, buf, (size_t)n);
		nl = memchr(sb.buf + off, '\n', (size_t)n);
		off += n;
	}
	close(fd);
	if (nl != NULL)
		(void)journal_apply(sb.buf, (size_t)(nl - sb.buf), c->g,
		    &c->rs);
	strbuf_release(&sb);
	return nl != NULL ? 0 : (errno = EINVAL, -1);
}

/* Step i's lines as the dag-step that ran it kept them, applied. */
static int
read_own(struct runctx *c, uint32_t i)
{
	char name[300];
	size_t len;
	char *text;

	(void)snprintf(name, sizeof(name), "%s/journal", c->g->s[i].id);
	if ((text = rundir_read(c->rd.sdfd, name, &len)) == NULL)
		return 0;
	(void)journal_replay(text, len, c->g, &c->rs);
	free(text);
	return 1;
}

/*
 * read_run for a neighbourhood: the journal's first line, then the lines
 * each step's dag-step kept of it.  A need or a read ancestor with none,
 * or not ended there (run by a dag-run, or its dag-step died), sends it
 * to the whole journal after all.
 */
static int
read_near(struct runctx *c, uint32_t i, int *left)
{
	const struct dag *g = c->g;
	uint32_t k, n = g->need_off[i + 1] - g->need_off[i];

	if (read_head(c) == -1) {
		run_say(errno, "read '%s/events.jsonl'", c->rd.path);
		return EXIT_SYSERR;
	}
	for (k = 0; k < g->n; k++)
		if (read_own(c, k) && k == i)
			*left = 1;
	/* A copy of its own that did not end: its dag-step died, maybe
	 * before the lines reached it; the journal tells. */
	*left &= !step_status_terminal(c->rs.s[i].status);
	for (k = 0; k < n + g->s[i].nrefs; k++)
		if (!step_status_terminal(c->rs.s[k < n ? g->need[g->need_off[
		    i] + k] : g->s[i].refs[k - n]].status))
			break;
	if (k == n + g->s[i].nrefs && !*left) {
		if (run_params(c, NULL, NULL, 0, 0, 0) == -1)
			return EXIT_USAGE;
		exec_init(&c->x, c->g, &c->rs, &c->rd);
		return EXIT_OK;
	}
	for (k = 0; k < g->n; k++)
		state_clear(&c->rs.s[k]);
	return read_run(c);
}

/*
 * The run's status once a step's changed (changed set): replayed afresh
 * under the journal's lock (other dag-steps write it too), recomputed,
 * and appended as run_finished when it differs; run.json rewritten.
 * 0, or -1 after saying why.
 */
static int
close_run(struct runctx *c, int changed)
{
	struct runstate fresh;
	int rc = 0, st;

	if (journal_lock(&c->jr) == -1) {
		run_say(errno, "flock '%s/events.jsonl'", c->rd.path);
		return -1;
	}
	state_init(&fresh, c->g);
	fresh.id = xstrdup(c->rs.id);
	fresh.dag = xstrdup(c->g->name);
	if (journal_load(c->rd.dfd, c->g, &fresh) == -1) {
		run_say(errno, "read '%s/events.jsonl'", c->rd.path);
		rc = -1;
		goto out;
	}
	if (fresh.params == NULL)
		fresh.params = xstrdup(c->rs.params);
	st = sched_restatus(fresh.s, fresh.n, fresh.status);
	if (changed && st != fresh.status) {
		fresh.status = (uint8_t)st;
		fresh.finished = clock_wall_ms();
		journal_run_finished(&c->jr, &fresh);
	}
	if (state_save(&fresh, c->g, c->rd.dfd) == -1) {
		run_say(errno, "write '%s/run.json'", c->rd.path);
		rc = -1;
	}
	if (c->jr.error != 0) {
		run_say(0, "write '%s/events.jsonl': %s", c->rd.path,
		    strerror(c->jr.error));
		rc = -1;
	}
out:
	journal_unlock(&c->jr);
	state_release(&fresh);
	return rc;
}

/* 1 if a live dag-step holds step i's lock: it is running it now. */
static int
step_busy(struct runctx *c, uint32_t i)
{
	char name[300];
	int fd, busy;

	(void)snprintf(name, sizeof(name), "%s/lock", c->g->s[i].id);
	if ((fd = openat(c->rd.sdfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return 0;
	busy = flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/*
 * Before --finish closes the steps that have not ended: one a live
 * dag-step holds is left to it (not selected here); what a dead one left
 * of the others is killed, journaled or not; and a step the journal left
 * running or waiting to retry ends cancelled.
 */
static void
abandon_dead(struct runctx *c, struct sched *sc)
{
	uint32_t i;

	for (i = 0; i < c->g->n; i++) {
		if (!c->rs.s[i].selected ||
		    step_status_terminal(c->rs.s[i].status))
			continue;
		if (step_busy(c, i)) {
			c->rs.s[i].selected = 0;
			continue;
		}
		run_kill_left(c, i);
		sched_abandon(sc, i, "its attempt never ended: the dag-step or "
		    "dag-run running it died");
	}
}

/*
 * --finish: after an external engine ran what it would, every step still
 * pending gets the status dag-run would have given it (upstream_failed or
 * skipped when its trigger can no longer be met; else cancelled, since
 * the engine never ran it), and the run is closed; so are steps whose
 * attempt a dead process left unended.
 */
static int
finish(const struct step_opts *o)
{
	struct sched_action a;
	struct sched_graph sg;
	struct runctx c;
	struct sched sc;
	uint32_t k, npending = 0;
	int rc;

	runctx_init(&c);
	if ((rc = open_run(&c, o->run_dir, 0)) != EXIT_OK)
		goto out;
	if (journal_open(&c.jr, c.rd.dfd, c.rs.id) == -1 ||
	    journal_lock(&c.jr) == -1) {
		run_say(errno, "%s/events.jsonl", o->run_dir);
		rc = EXIT_SYSERR;
		goto out;
	}
	if ((rc = read_run(&c)) != EXIT_OK)
		goto out;
	for (k = 0; k < c.g->n; k++)
		npending += c.rs.s[k].selected &&
		    !step_status_terminal(c.rs.s[k].status);
	/* A line for each step it gives a status to. */
	progress_init(&c.pg, npending, o->quiet);
	runctx_graph(&c, 1, 1, &sg);
	sched_init(&sc, &sg, c.rs.s);
	abandon_dead(&c, &sc);
	sched_close(&sc, "never run by the external engine");
	while (sched_next(&sc, clock_mono_ms(), &a))
		runctx_record(&c, &a, 0);
	sched_release(&sc);
	(void)journal_flush(&c.jr);
	journal_unlock(&c.jr);
	rc = close_run(&c, 1) == -1 ? EXIT_SYSERR : EXIT_OK;
out:
	runctx_release(&c);
	return rc;
}

/* The step's own lock, in steps/<id>/lock: one dag-step of it at once. */
static int
lock_step(struct runctx *c, uint32_t i, int *fd)
{
	char name[300];

	(void)snprintf(name, sizeof(name), "%s/lock", c->g->s[i].id);
	if (rundir_step_dir(&c->rd, c->g->s[i].id) == -1 || (*fd =
	    openat(c->rd.sdfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) ==
	    -1) {
		run_say(errno, "%s/steps/%s", c->rd.path, c->g->s[i].id);
		return EXIT_SYSERR;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		run_say(0, "step \"%s\" is locked by another process",
		    c->g->s[i].id);
		return EXIT_LOCKED;
	}
	return EXIT_OK;
}

/* Every need of step i has ended, whatever its status. */
static int
needs_ended(const struct runctx *c, uint32_t i)
{
	const struct dag *g = c->g;
	uint32_t k, n;

	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		n = g->need[k];
		if (!step_status_terminal(c->rs.s[n].status)) {
			run_say(0, "step \"%s\" needs \"%s\", which has not "
			    "finished (%s)", g->s[i].id, g->s[n].id,
			    step_status_names[c->rs.s[n].status]);
			return 0;
		}
	}
	return 1;
}

static void
print_json(const struct runctx *c, uint32_t i)
{
	const struct sstate *s = &c->rs.s[i];
	struct strbuf sb = STRBUF_INIT;
	const char *id = c->g->s[i].id;

	strbuf_adds(&sb, "{\"id\":");
	strbuf_add_json_str(&sb, id, strlen(id));
	strbuf_addf(&sb, ",\"status\":\"%s\",\"attempts\":%u",
	    step_status_names[s->status], s->attempts);
	if (s->exit_code >= 0)
		strbuf_addf(&sb, ",\"exit_code\":%d", s->exit_code);
	else
		strbuf_adds(&sb, ",\"exit_code\":null");
	strbuf_adds(&sb, ",\"duration\":");
	strbuf_add_json_num(&sb, s->duration);
	strbuf_adds(&sb, ",\"reason\":");
	if (s->reason != NULL)
		strbuf_add_json_str(&sb, s->reason, strlen(s->reason));
	else
		strbuf_adds(&sb, "null");
	strbuf_adds(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
}

static int
step_exit(const struct runner *r, const struct sstate *s)
{
	if (r->cancel_sig)
		return exit_for_signal(r->cancel_sig);
	if (r->syserr)
		return EXIT_SYSERR;
	switch (s->status) {
	case ST_SUCCEEDED:
	case ST_CACHED:
	case ST_SKIPPED:
		return EXIT_OK;
	case ST_TIMED_OUT:
		return s->allowed ? EXIT_OK : EXIT_TIMEOUT;
	case ST_FAILED:
		return s->allowed ? EXIT_OK : EXIT_FAILED;
	default:
		return EXIT_FAILED;
	}
}

/*
 * An instance ran alone: its foreach step h ends again with what its
 * instances now add up to, once none is left to run (a journal line when
 * that changes it).
 */
static void
restatus_head(struct runctx *c, uint32_t h)
{
	const struct group *gr;
	struct sstate *ss = &c->rs.s[h];
	const char *why;
	uint32_t k;
	int st, allowed;

	if (c->g->s[h].head_of == GROUP_NONE)
		return;
	gr = &c->g->groups[c->g->s[h].head_of];
	for (k = 0; k < gr->n; k++)
		if (!step_status_terminal(c->rs.s[gr->member[k]].status))
			return;
	st = sched_group_status(c->rs.s, gr->member, gr->n, &why, &allowed);
	if (st == ss->status && allowed == ss->allowed)
		return;
	ss->status = (uint8_t)st;
	ss->allowed = (uint8_t)allowed;
	ss->finished = clock_wall_ms();
	state_set_reason(ss, why);
	journal_step_finished(&c->jr, c->g->s[h].id, ss, st, 0, 0);
}

/* A neighbourhood's step keeps a copy of its lines for its dependents'
 * dag-steps (read_near); what it had before is read already. */
static int
open_own(struct runctx *c, uint32_t i)
{
	char name[300];

	(void)snprintf(name, sizeof(name), "%s/journal", c->g->s[i].id);
	if ((c->jr.tee = openat(c->rd.sdfd, name, O_WRONLY | O_CREAT |
	    O_TRUNC | O_APPEND | O_CLOEXEC, 0666)) == -1) {
		run_say(errno, "open '%s/steps/%s'", c->rd.path, name);
		return -1;
	}
	return 0;
}

/* The run's status is not recomputed: that is its readers' and the last
 * dag-step --finish's (the lines of the whole run are not read here). */
static int
close_near(struct runctx *c)
{
	if (journal_flush(&c->jr) == -1 || c->jr.error != 0) {
		run_say(0, "write '%s/events.jsonl': %s", c->rd.path,
		    strerror(c->jr.error));
		return -1;
	}
	return 0;
}

/* What an earlier attempt of step i left, killed; a foreach's instance
 * adopted by its step; then i made to run again. */
static void
ready_step(struct runctx *c, struct runner *r, uint32_t i, int near,
    int alone)
{
	char name[300];

	/* Run here, the step keeps no copy of its lines: one an earlier
	 * dag-step kept would tell its dependents a stale story. */
	(void)snprintf(name, sizeof(name), "%s/journal", c->g->s[i].id);
	if (!near && unlinkat(c->rd.sdfd, name, 0) == -1 && errno != ENOENT)
		run_say(errno, "remove '%s/steps/%s'", c->rd.path, name);
	/* What a dead dag-step or dag-run left: looked for when the step
	 * runs alone on the whole DAG, or its copy of its lines, or the
	 * journal, shows a start not ended (the scan of /proc is most of a
	 * dag-step's own cost: not for each step of a group). */
	if ((alone && !near) || near == 2 ||
	    (c->rs.s[i].status != ST_PENDING &&
	    !step_status_terminal(c->rs.s[i].status)))
		run_kill_left(c, i);
	if (c->g->s[i].pol.parent != SCHED_NONE) {	/* a foreach's instance */
		foreach_load_items(c->g, c->rd.sdfd, c->g->s[i].pol.parent);
		sched_adopt(&r->sc, i);
	}
	runner_rerun(r, i, NULL);
}

/*
 * Runs steps idx[0..n), once their run is open and read (near: the one
 * step's neighbourhood; 2: where a dead dag-step of it left its copy of
 * its lines unended), jobs at once.  The exit status is the first
 * step's, in list order, that is not 0.
 */
static int
run_steps(struct runctx *c, const struct step_opts *o, const uint32_t *idx,
    uint32_t n, int near)
{
	struct runner r;
	uint32_t k, changed = 0;
	uint8_t *before = xcalloc(n, 1);
	int rc = EXIT_OK, st;

	for (k = 0; k < n; k++)
		before[k] = c->rs.s[idx[k]].status;
	if (journal_open(&c->jr, c->rd.dfd, c->rs.id) == -1) {
		run_say(errno, "open '%s/events.jsonl'", c->rd.path);
		free(before);
		return EXIT_SYSERR;
	}
	if (near && open_own(c, idx[0]) == -1) {
		free(before);
		return EXIT_SYSERR;
	}
	if (runner_init(&r, c, &(struct runner_opts){ o->jobs > 0 ? o->jobs :
	    1, 1, o->verbose, 1, 1 }) == -1) {
		run_say(errno, "setting up signals");
		runner_release(&r);
		free(before);
		return EXIT_SYSERR;
	}
	for (k = 0; k < n; k++)
		ready_step(c, &r, idx[k], near, n == 1);
	progress_init(&c->pg, n, o->quiet);
	runner_begin(&r);
	run_drive(&r, o->quiet);
	runner_end(&r);
	for (k = 0; k < n; k++)
		if (c->g->s[idx[k]].pol.parent != SCHED_NONE)
			restatus_head(c, c->g->s[idx[k]].pol.parent);
	run_tell(c, o->quiet);
	progress_done(&c->pg);
	for (k = 0; k < n; k++)
		changed |= c->rs.s[idx[k]].status != before[k];
	if ((near ? close_near(c) : close_run(c, changed)) == -1)
		r.syserr = 1;
	for (k = 0; k < n; k++) {
		if (o->json)
			print_json(c, idx[k]);
		if ((st = step_exit(&r, &c->rs.s[idx[k]])) != EXIT_OK &&
		    rc == EXIT_OK)
			rc = st;
	}
	runner_release(&r);
	free(before);
	return rc;
}

/*
 * A foreach's instance, "build[3]": the frozen DAG lacks it, the journal
 * names it.  The journal is read for it, and c's state made afresh to
 * the DAG's new size.  Its index, or -1.
 */
static int64_t
find_instance(struct runctx *c, const char *dir, const char *id)
{
	struct runstate tmp;
	int dfd = c->rd.dfd;

	if (strchr(id, '[') == NULL)
		return -1;
	/* -n opened no run directory: the journal is read all the same. */
	if (dfd == -1 && (dfd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	state_init(&tmp, c->g);
	(void)journal_load(dfd, c->g, &tmp);
	state_release(&tmp);
	if (dfd != c->rd.dfd)
		close(dfd);
	state_init(&tmp, c->g);
	tmp.id = c->rs.id;
	tmp.dag = c->rs.dag;
	tmp.dir = c->rs.dir;
	c->rs.id = c->rs.dag = c->rs.dir = NULL;
	state_release(&c->rs);
	c->rs = tmp;
	return dag_find(c->g, id, strlen(id));
}

/*
 * --array-list: the step of a SLURM array's task, line $SLURM_ARRAY_TASK_ID
 * (from 0) of file (the slurm export writes one per array).  malloc'd,
 * or NULL after saying why.
 */
static char *
array_step(const char *file, int *rc)
{
	const char *v = getenv("SLURM_ARRAY_TASK_ID"), *p, *nl;
	unsigned long long k;
	char *text, *end, *id = NULL;
	size_t len;

	errno = 0;
	if (v == NULL || *v < '0' || *v > '9' || (k = strtoull(v, &end, 10),
	    *end) || errno != 0) {
		run_say(0, "--array-list %s: SLURM_ARRAY_TASK_ID is %s%s%s: "
		    "it is set by sbatch --array", file, v ? "\"" : "unset",
		    v ? v : "", v ? "\", not a task index" : "");
		return NULL;
	}
	if ((text = rundir_read(AT_FDCWD, file, &len)) == NULL) {
		run_say(errno, "--array-list %s", file);
		*rc = EXIT_SYSERR;
		return NULL;
	}
	for (p = text; p < text + len && k > 0; k--)
		if ((p = memchr(p, '\n', (size_t)(text + len - p))) == NULL)
			p = text + len;
		else
			p++;
	/* The last line may lack its newline. */
	if ((nl = memchr(p, '\n', (size_t)(text + len - p))) == NULL)
		nl = text + len;
	if (p < text + len && nl > p)
		id = xstrndup(p, (size_t)(nl - p));
	else
		run_say(0, "--array-list %s: no line %s (task %s of an array "
		    "longer than its list?)", file, v, v);
	free(text);
	return id;
}

/* The ids in file, one per line or blank-separated, to *ids; their
 * count, or -1 after saying why.  *text holds them (malloc'd). */
static int64_t
read_list(const char *file, char ***ids, char **text)
{
	char *p, *nl;
	size_t len, n = 0;

	if ((*text = rundir_read(AT_FDCWD, file, &len)) == NULL) {
		run_say(errno, "--from %s", file);
		return -1;
	}
	*ids = xcalloc(len / 2 + 2, sizeof(**ids));
	/* One per line, or blank-separated (as make's $(file) writes). */
	for (p = *text; p < *text + len; p = nl + 1) {
		nl = p + strcspn(p, " \t\n");
		if (nl > *text + len)
			nl = *text + len;
		*nl = '\0';
		if (*p != '\0')
			(*ids)[n++] = p;
	}
	if (n == 0) {
		run_say(0, "--from %s: no step in it", file);
		free(*text);
		free(*ids);
		return -1;
	}
	return (int64_t)n;
}

int
step_main(const struct step_opts *o)
{
	char *id, **ids, *text;
	int64_t n;
	int rc;

	if (o->finish)
		return finish(o);
	if (o->array_list != NULL) {
		rc = EXIT_USAGE;
		if ((id = array_step(o->array_list, &rc)) == NULL)
			return rc;
		rc = step_some(o, (const char *const *)&id, 1);
		free(id);
		return rc;
	}
	if (o->from == NULL)
		return step_some(o, o->steps, o->nsteps);
	if ((n = read_list(o->from, &ids, &text)) == -1)
		return EXIT_USAGE;
	rc = step_some(o, (const char *const *)ids, (uint32_t)n);
	free(text);
	free(ids);
	return rc;
}

/* Step id's index in c's DAG (a foreach's instance: read from the
 * journal), or -1 after saying why. */
static int64_t
resolve(struct runctx *c, const char *dir, const char *id)
{
	uint32_t f, n;
	int64_t idx;

	if ((idx = dag_find(c->g, id, strlen(id))) < 0)
		idx = find_instance(c, dir, id);
	if (idx >= 0)
		return idx;
	if (dag_lookup(c->g, id, &f, &n) == 0)
		run_say(0, "%s: \"%s\" is a matrix of %u steps: name one, "
		    "such as \"%s\"", dir, id, n, c->g->s[f].id);
	else
		run_say(0, "%s: no step \"%s\" in this run", dir, id);
	return -1;
}

/* The steps ids[0..n) opened and locked (but for -n): how many, or -1
 * with *rc set. */
static int64_t
open_steps(struct runctx *c, const struct step_opts *o,
    const char *const *ids, uint32_t n, uint32_t *sel, int *sfd, int *rc)
{
	uint8_t *dup;
	uint32_t k, w = 0;
	int64_t idx;

	if ((*rc = open_run(c, o->run_dir, o->dry_run)) != EXIT_OK)
		return -1;
	for (k = 0; k < n; k++) {
		if ((idx = resolve(c, o->run_dir, ids[k])) < 0) {
			*rc = EXIT_USAGE;
			return -1;
		}
		sel[w++] = (uint32_t)idx;
	}
	/* A step named twice runs once. */
	dup = xcalloc(c->g->n, 1);
	for (k = 0, n = w, w = 0; k < n; k++)
		if (!dup[sel[k]]++)
			sel[w++] = sel[k];
	free(dup);
	for (k = 0; k < w && !o->dry_run; k++)
		if ((*rc = lock_step(c, sel[k], &sfd[k])) != EXIT_OK)
			return -1;
	return w;
}

/*
 * Runs the steps ids[0..n), -j at once.  One step of a prepared run reads
 * its neighbourhood only; several, or one elsewhere, the whole DAG and
 * journal.
 */
static int
step_some(const struct step_opts *o, const char *const *ids, uint32_t n)
{
	struct runctx c;
	uint32_t *sel = xcalloc(n, sizeof(*sel)), k;
	int *sfd = xcalloc(n, sizeof(*sfd));
	int64_t idx = -1, m = 1;
	int rc, near, left = 0;

	for (k = 0; k < n; k++)
		sfd[k] = -1;
	runctx_init(&c);
	if (!o->dry_run && n == 1 && (near = open_near(&c, o->run_dir, ids[0],
	    &idx)) != -1) {
		if ((rc = near) != EXIT_OK ||
		    (rc = lock_step(&c, (uint32_t)idx, &sfd[0])) != EXIT_OK)
			goto out;
		near = 1;
		sel[0] = (uint32_t)idx;
	} else if ((near = 0, m = open_steps(&c, o, ids, n, sel, sfd, &rc)) ==
	    -1)
		goto out;
	if (o->dry_run) {
		exec_init(&c.x, c.g, &c.rs, &c.rd);
		for (k = 0; k < m; k++)
			run_describe(&c, sel[k]);
		goto out;
	}
	if ((rc = near ? read_near(&c, sel[0], &left) : read_run(&c)) !=
	    EXIT_OK)
		goto out;
	for (k = 0; k < m; k++)
		if (!needs_ended(&c, sel[k])) {
			rc = EXIT_USAGE;
			goto out;
		}
	for (k = 0; k < c.g->n; k++)
		c.rs.s[k].selected = 0;
	for (k = 0; k < m; k++)
		c.rs.s[sel[k]].selected = 1;
	/* A step another dag-step runs or will retry (a matrix's sibling
	 * in the same job array) is its business: pending, here. */
	for (k = 0; k < c.g->n; k++)
		if (!c.rs.s[k].selected && (c.rs.s[k].status == ST_RUNNING ||
		    c.rs.s[k].status == ST_RETRY_WAIT))
			c.rs.s[k].status = ST_PENDING;
	rc = run_steps(&c, o, sel, (uint32_t)m, near ? 1 + left : 0);
out:
	for (k = 0; k < n; k++)
		if (sfd[k] != -1)
			close(sfd[k]);
	free(sfd);
	free(sel);
	runctx_release(&c);
	return rc;
}
