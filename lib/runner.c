/*
 * The engine's glue: one thread, one poll(2) loop, no sleeping.  The loop
 * waits on a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), on the output
 * pipes of running steps, on a slow --events reader, and on the nearest
 * deadline: an attempt's (timeout, kill grace), a retry's (sched.c), a
 * group kill's (procset.c), the run's, the next run.json snapshot.  It
 * applies the scheduler's actions: a start becomes an attempt (attempt.c)
 * in a free slot, a kill goes to the attempt, everything else is recorded
 * in the run's state, its journal and the progress.  When an attempt
 * ends, its result goes back to the scheduler, which decides the rest.
 *
 * Per event the bookkeeping is O(1) amortized: one journal line, counters,
 * heap operations.  Journal lines are batched, but written before any
 * step starts and right after one has: a dependent never starts on a
 * success the journal has not kept, and a started step's process group
 * is on disk for a resume to find.
 * run.json is rewritten when its timer fires, at an interval that grows
 * with the cost of writing it, and at the end.
 *
 * Nothing here prints but progress (progress.c) and the -v relay
 * (capture.c): what the user must hear goes to c->news, which run.c and
 * step.c print between turns.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "attempt.h"
#include "clock.h"
#include "dag.h"
#include "foreach.h"
#include "history.h"
#include "jdoc.h"
#include "jqexpr.h"
#include "runner.h"
#include "strbuf.h"
#include "xalloc.h"

extern char **environ;

/* Processes reaped, drained and ended together. */
#define REAP_BATCH	16
#define NO_SLOT		UINT32_MAX

void
runctx_init(struct runctx *c)
{
	memset(c, 0, sizeof(*c));
	c->rd.dfd = c->rd.sdfd = c->rd.lockfd = -1;
	c->jr.fd = c->jr.mirror = -1;
	c->x.params = jv_invalid();
	c->cache.dfd = c->cache.logfd = -1;
	diag_init(&c->news, NULL);
}

void
runctx_release(struct runctx *c)
{
	journal_close(&c->jr);
	cache_close(&c->cache);
	plan_release(&c->plan);
	free(c->hist_runs);
	jv_free(c->x.params);
	free(c->x.checked);
	state_release(&c->rs);
	rundir_close(&c->rd);
	dag_free(c->g);
	diag_release(&c->news);
	spawn_cache_free();
	memset(c, 0, sizeof(*c));
}

void
runctx_graph(const struct runctx *c, uint32_t slots, int decl_order,
    struct sched_graph *sg)
{
	const struct dag *g = c->g;

	*sg = (struct sched_graph){ g->n, g->nstatic, g->need_off, g->need,
	    g->dep_off, g->dep, g->order, &g->s[0].pol, sizeof(g->s[0]),
	    decl_order ? NULL : c->plan.rank, g->npools, g->pool_cap,
	    g->on_failure, slots, ((uint64_t)arc4random() << 32) |
	    arc4random() | 1 };
}

/* A step's failure that fails the run gets the tail of its stderr. */
static int
fails_run(const struct sstate *ss, int st)
{
	return (st == ST_FAILED || st == ST_TIMED_OUT) && !ss->allowed;
}

void
runctx_record(struct runctx *c, const struct sched_action *a, double secs)
{
	struct sstate *ss = &c->rs.s[a->step];
	const char *id = c->g->s[a->step].id;
	int64_t wall = clock_wall_ms();

	switch (a->kind) {
	case SA_SKIP:
		ss->finished = wall;
		if (a->need != SCHED_NONE) {
			char *why = xasprintf(a->why, c->g->s[a->need].id);

			state_set_reason(ss, why);
			free(why);
		} else
			state_set_reason(ss, a->why);
		journal_step_skipped(&c->jr, id, ss);
		progress_step(&c->pg, id, a->status, ss->attempts, 0,
		    ss->reason);
		break;
	case SA_RETRY:
		journal_step_finished(&c->jr, id, ss, a->status, secs, 1);
		journal_step_retry(&c->jr, id, ss->attempts + 1,
		    (double)a->ms / 1000);
		progress_step(&c->pg, id, ST_RETRY_WAIT, ss->attempts, secs,
		    ss->reason);
		break;
	case SA_FINAL:
		if (a->why != NULL) {	/* a wait cut short: no exit */
			ss->exit_code = -1;
			ss->signal = 0;
			state_set_reason(ss, a->why);
		}
		ss->finished = wall;
		ss->duration = ss->started ? (double)(wall - ss->started) /
		    1000 : 0;
		if (a->status == ST_CACHED)
			journal_step_cached(&c->jr, id, ss);
		else
			journal_step_finished(&c->jr, id, ss, a->status, secs,
			    0);
		progress_step(&c->pg, id, a->status, ss->attempts, secs,
		    ss->reason);
		if (fails_run(ss, a->status))
			progress_tail(&c->pg, c->rd.sdfd, id, ss->attempts);
		break;
	case SA_RESET:
		state_clear(ss);
		journal_step_reset(&c->jr, id, a->why);
		break;
	default:
		diag_bug("runctx_record: a start or a kill");
	}
}

int
runctx_snapshot(struct runctx *c)
{
	/* The journal, the source of truth, is never behind run.json. */
	(void)journal_flush(&c->jr);
	return state_save(&c->rs, c->g, c->rd.dfd);
}

/* -- set-up ---------------------------------------------------------- */

static const char *const dag_vars[] = { "DAG_RUN_ID", "DAG_RUN_DIR",
    "DAG_STEP_ID", "DAG_ATTEMPT", "DAG_INPUT", "DAG_OUTPUT",
    "DAG_RUN_STATUS", "DAG_MATRIX", "DAG_ITEM", "DAG_ITEM_INDEX", NULL };

/* Base environment: ours without DAG_* vars, plus the DAG's plain env
 * (templated values are rendered per step); and the run's two DAG_*. */
static void
setup_env(struct runner *r)
{
	const struct dag *g = r->c->g;
	const struct jdoc *j = &g->doc;
	struct strbuf sb = STRBUF_INIT;
	uint32_t k, n;

	envv_from(&r->base, environ, dag_vars);
	for (k = g->env + 1, n = 0; g->env != JNONE && k < j->n[g->env].end;
	    k = j->n[k + 1].end, n++) {
		struct strbuf kb = STRBUF_INIT, vb = STRBUF_INIT;

		if (g->env_tmpl != NULL && g->env_tmpl[n].n > 0)
			continue;
		jdoc_str(j, k, &kb);
		jdoc_str(j, k + 1, &vb);
		envv_set(&r->base, strbuf_str(&kb), kb.len, strbuf_str(&vb),
		    vb.len);
		strbuf_release(&kb);
		strbuf_release(&vb);
	}
	strbuf_adds(&sb, "DAG_RUN_ID=");
	strbuf_adds(&sb, r->c->rs.id);
	strbuf_addc(&sb, '\0');
	strbuf_adds(&sb, "DAG_RUN_DIR=");
	strbuf_adds(&sb, r->c->rd.path);
	r->run_env = strbuf_detach(&sb, NULL);
}

/*
 * The input of the steps whose input is {}: a memfd sealed against any
 * write, shared by them all, so no step can change another's input and
 * none costs a file.  Steps find it at /proc/<our pid>/fd/<n>.
 */
static int
empty_input(struct runner *r)
{
	if ((r->empty = memfd_create("dagkit-empty-input", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1 ||
	    journal_write_all(r->empty, "{}\n", 3) == -1 ||
	    fcntl(r->empty, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1)
		return -1;
	r->empty_path = xasprintf("/proc/%ld/fd/%d", (long)getpid(),
	    r->empty);
	return 0;
}

int
runner_init(struct runner *r, struct runctx *c, const struct runner_opts *o)
{
	struct sched_graph sg;
	uint32_t k, n = c->g->n;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->empty = -1;
	r->single = o->single;
	r->snap_every = 250;
	heap_init(&r->timers);
	r->slots = o->jobs > 0 ? o->jobs : 1;
	for (k = 0; k < c->g->nstatic && c->g->s[k].foreach < 0; k++)
		;
	if (r->slots > n && k == c->g->nstatic)	/* no foreach: n at most */
		r->slots = n;
	if (procset_init(&r->ps, r->slots, &r->room) == -1 ||
	    empty_input(r) == -1)
		return -1;
	/* Past the fd limit, steps wait rather than fail with EMFILE. */
	if (r->slots > r->room)
		r->slots = r->room;
	procset_shut_in_child(&r->ps, c->rd.lockfd);
	reaper_init(&r->rp);
	capset_init(&r->cs, c->rd.sdfd, o->verbose, &c->pg);
	setup_env(r);
	r->att = xcalloc(r->slots, sizeof(*r->att));
	r->freeslot = xcalloc(r->slots, sizeof(*r->freeslot));
	for (k = 0; k < r->slots; k++) {
		attempt_init(&r->att[k], k);
		r->freeslot[r->nfree++] = r->slots - 1 - k;
	}
	r->slot_of = xcalloc(n + 1, sizeof(*r->slot_of));
	for (k = 0; k < n; k++)
		r->slot_of[k] = NO_SLOT;
	r->t_attempt = xcalloc(n + 1, sizeof(*r->t_attempt));
	r->ac = (struct attempt_ctx){ c->g, &c->x, &r->ps, &r->cs, &r->base,
	    r->run_env, r->empty, r->empty_path, &c->news,
	    c->cache.on ? &c->cache : NULL, &c->jr };
	runctx_graph(c, r->slots, o->declaration_order, &sg);
	sched_init(&r->sc, &sg, c->rs.s);
	r->sc.no_handlers = (uint8_t)(o->no_handlers != 0);
	return 0;
}

void
runner_release(struct runner *r)
{
	uint32_t k;

	for (k = 0; r->att != NULL && k < r->slots; k++)
		attempt_release(&r->att[k]);
	free(r->att);
	free(r->freeslot);
	free(r->slot_of);
	free(r->t_attempt);
	free(r->pfd);
	free(r->run_env);
	free(r->empty_path);
	if (r->empty != -1)
		close(r->empty);
	heap_release(&r->timers);
	sched_release(&r->sc);
	capset_release(&r->cs);
	reaper_release(&r->rp);
	procset_release(&r->ps);
	envv_release(&r->base);
	memset(r, 0, sizeof(*r));
}

/* -- bookkeeping ----------------------------------------------------- */

/* run.json is behind: rewrite it when the snapshot timer fires. */
static void
dirty(struct runner *r)
{
	if (r->snap_at == 0 && !r->single)
		r->snap_at = clock_mono_ms() + r->snap_every;
}

/* A system error (disk full, out of processes): the run cannot be trusted
 * to go on, and exits 4. */
static void
syserr(struct runner *r)
{
	r->syserr = 1;
	sched_stop(&r->sc, STOP_SYSERR);
}

static void
check_io(struct runner *r)
{
	struct runctx *c = r->c;

	if (c->jr.error != 0) {
		if (!r->told_journal)
			diag_add(&c->news, DIAG_SYSERR, NULL, "write "
			    "'%s/events.jsonl': %s", c->rd.path,
			    strerror(c->jr.error));
		r->told_journal = 1;
		c->jr.error = 0;
		syserr(r);
	}
	if (r->cs.error != 0) {
		diag_add(&c->news, DIAG_SYSERR, NULL, "%s/%s: %s", c->rd.path,
		    r->cs.errpath, strerror(r->cs.error));
		r->cs.error = 0;
		syserr(r);
	}
}

static void
snapshot(struct runner *r)
{
	int64_t t0 = clock_mono_ms(), cost;

	r->snapped = 1;
	if (runctx_snapshot(r->c) == -1) {
		if (!r->told_snapshot)
			diag_add(&r->c->news, DIAG_SYSERR, NULL, "write "
			    "'%s/run.json': %s", r->c->rd.path,
			    strerror(errno));
		r->told_snapshot = 1;
		syserr(r);
	} else
		r->told_snapshot = 0;
	check_io(r);
	/* Keep snapshots under ~1% of the time: 100x their own cost. */
	cost = clock_mono_ms() - t0;
	r->snap_every = cost * 100 > 250 ? cost * 100 : 250;
}

/* -- attempts -------------------------------------------------------- */

static void ended(struct runner *, struct attempt *, int64_t);

/*
 * The past durations set_up left for the first command (a run whose
 * steps are all up to date never reads them): read now, and the queues
 * ordered by the plan they give.
 */
static void
late_history(struct runner *r)
{
	struct runctx *c = r->c;
	double *hist = history_estimates(c->hist_runs, c->g);

	plan_release(&c->plan);
	plan_compute(c->g, hist, &c->plan);
	free(hist);
	free(c->hist_runs);
	c->hist_runs = NULL;
	if (r->sc.g.rank != NULL)	/* not in declaration order */
		sched_rerank(&r->sc, c->plan.rank);
}

/* What an event of attempt a came to (news), with its timer as it was. */
static void
after(struct runner *r, struct attempt *a, int news, int64_t timer,
    int64_t now)
{
	struct runctx *c = r->c;
	struct sstate *ss;

	if (a->explain != NULL) {
		progress_explain(&c->pg, a->explain);
		free(a->explain);
		a->explain = NULL;
	}
	if (news == AN_DONE) {
		ended(r, a, now);
		return;
	}
	if (a->timer != 0 && a->timer != timer)
		heap_push(&r->timers, a->timer, a->tag);
	if (news == AN_STARTED) {
		if (c->hist_runs != NULL)
			late_history(r);
		ss = &c->rs.s[a->step];
		ss->pid = a->pid;
		journal_step_started(&c->jr, c->g->s[a->step].id, ss->attempts,
		    a->pid);
		/* On disk at once: after a kill -9 a resume must find the
		 * group of every step that started (one that cleared its
		 * environment is found by it alone). */
		(void)journal_flush(&c->jr);
		if (r->snapped || r->single)
			dirty(r);	/* dag-step writes run.json itself */
		else
			snapshot(r);
	}
}

/* The scheduler started step i: an attempt in a free slot. */
static void
start(struct runner *r, uint32_t i, int64_t now)
{
	struct sstate *ss = &r->c->rs.s[i];
	struct attempt *a;

	if (r->nfree == 0)
		diag_bug("a start with no free slot");
	a = &r->att[r->freeslot[--r->nfree]];
	r->slot_of[i] = a->tag;
	r->t_attempt[i] = now;
	ss->exit_code = -1;
	ss->signal = 0;
	state_set_reason(ss, NULL);
	if (ss->started == 0 || ss->attempts == 1)
		ss->started = clock_wall_ms();
	after(r, a, attempt_begin(a, &r->ac, i, now), 0, now);
}

/* c's per-step arrays follow its DAG, grown from old steps. */
static void
grow_arrays(struct runner *r, uint32_t old)
{
	struct runctx *c = r->c;
	uint32_t n = c->g->n, k;
	struct plan *p = &c->plan;

	r->slot_of = xreallocarray(r->slot_of, n + 1, sizeof(*r->slot_of));
	r->t_attempt = xreallocarray(r->t_attempt, n + 1,
	    sizeof(*r->t_attempt));
	for (k = old; k <= n; k++) {
		r->slot_of[k] = NO_SLOT;
		r->t_attempt[k] = 0;
	}
	if (p->rank != NULL) {
		p->level = xreallocarray(p->level, n + 1, sizeof(*p->level));
		p->est = xreallocarray(p->est, n + 1, sizeof(*p->est));
		p->es = xreallocarray(p->es, n + 1, sizeof(*p->es));
		p->ls = xreallocarray(p->ls, n + 1, sizeof(*p->ls));
		p->rank = xreallocarray(p->rank, n + 1, sizeof(*p->rank));
		for (k = old; k < n; k++)
			p->est[k] = PLAN_US_PER_SEC;
		p->n = n;
		plan_inherit(c->g, p, old);
	}
	c->x.checked = xreallocarray(c->x.checked, n + 1,
	    sizeof(*c->x.checked));
	memset(c->x.checked + old, 0, (n + 1 - old) * sizeof(*c->x.checked));
	cache_grow(&c->cache, c->g);
	c->pg.total += n - old;
}

/*
 * A foreach step's items, again: an instance kept from an earlier
 * expansion runs again unless it succeeded (or was cached or skipped)
 * with the same item, and, by place, in the same list.
 */
static void
keep_or_reset(struct runner *r, const struct group *gr, struct fitem *it,
    uint32_t old, uint32_t was)
{
	struct runctx *c = r->c;
	uint32_t k, u, same = gr->keyed || was == gr->n;
	int st, ok, changed;

	for (k = 0; k < gr->n && !gr->keyed; k++) {
		u = gr->member[k];
		same = same && u < old && c->g->s[u].item != NULL &&
		    strcmp(c->g->s[u].item, it[k].json) == 0;
	}
	if (!same && was > 0 && gr->n > 0)
		diag_add(&c->news, DIAG_WARNING, NULL, "%s: the list of items "
		    "changed: its %u items run again (foreach_key keeps the "
		    "instances whose items stay)", c->g->s[gr->head].id,
		    gr->n);
	for (k = 0; k < gr->n; k++) {
		u = gr->member[k];
		st = c->rs.s[u].status;
		ok = st == ST_SUCCEEDED || st == ST_CACHED || st == ST_SKIPPED;
		changed = c->g->s[u].item == NULL ||
		    strcmp(c->g->s[u].item, it[k].json) != 0;
		if (u < old && st != ST_PENDING && !(ok && same && !changed)) {
			/* Runs again: to_do did not count it if it ended. */
			c->pg.total += step_status_terminal(st);
			sched_reset(&r->sc, u, 1, !ok ? NULL : !same ?
			    "the list of items changed" : "its item changed");
		}
		free(c->g->s[u].item);
		c->g->s[u].item = it[k].json;
		it[k].json = NULL;
	}
}

/*
 * Foreach step h's evaluator wrote its n items: they become instances in
 * the DAG, the run's state and the scheduler, and h waits for them.
 */
static void
expand(struct runner *r, uint32_t h, int64_t now)
{
	struct runctx *c = r->c;
	uint32_t n, k, old = c->g->n, gi, was;
	struct sched_graph sg;
	struct fitem *it;
	char **keys = NULL, *err;
	int keyed;

	if (foreach_read(c->rd.sdfd, c->g->s[h].id, c->rs.s[h].attempts, &it,
	    &n, &keyed, &err) == -1) {
		diag_add(&c->news, DIAG_SYSERR, NULL, "%s", err);
		state_set_reason(&c->rs.s[h], err);
		free(err);
		syserr(r);
		sched_finished(&r->sc, h, ST_FAILED, -1, now);
		return;
	}
	if (keyed) {
		keys = xcalloc(n + 1, sizeof(*keys));
		for (k = 0; k < n; k++)
			keys[k] = it[k].key;
	}
	foreach_load_items(c->g, c->rd.sdfd, h);
	was = c->g->s[h].head_of != GROUP_NONE ?
	    c->g->groups[c->g->s[h].head_of].n : 0;
	gi = foreach_add(c->g, &c->rs, h, keys, n);
	c->g->groups[gi].attempt = c->rs.s[h].attempts;
	free(keys);
	journal_step_expanded(&c->jr, c->g->s[h].id, c->rs.s[h].attempts, n,
	    it);
	grow_arrays(r, old);
	runctx_graph(c, r->slots, 0, &sg);
	sched_grow(&r->sc, &sg, c->rs.s);
	keep_or_reset(r, &c->g->groups[gi], it, old, was);
	if (n == 0)
		sched_skip(&r->sc, h, "no items");
	else
		sched_expand(&r->sc, h, c->g->groups[gi].member, n);
	foreach_items_free(it, n);
}

/* Attempt a is over: its result goes to the step and the scheduler. */
static void
ended(struct runner *r, struct attempt *a, int64_t now)
{
	struct sstate *ss = &r->c->rs.s[a->step];
	const struct attempt_result *res = &a->res;
	uint32_t i = a->step;
	int64_t wall = clock_wall_ms();

	r->slot_of[i] = NO_SLOT;
	if (res->bignum && !r->told_bignum) {
		r->told_bignum = 1;
		diag_add(&r->c->news, DIAG_ERROR, NULL, "warning: step %s: a "
		    "number beyond 2^53 went through jq, which holds numbers "
		    "as doubles: there it may have lost digits (outputs and "
		    "inputs passed as files keep them)", r->c->g->s[i].id);
	}
	if (res->status == ST_SKIPPED)
		sched_skip(&r->sc, i, "when is false");
	else if (res->expand >= 0)
		expand(r, i, now);
	else if (res->status == ST_CACHED) {
		ss->exit_code = -1;
		ss->signal = 0;
		ss->has_output = res->output;
		ss->started = ss->finished = wall;
		ss->duration = 0;
		state_set_reason(ss, res->reason);
		sched_finished(&r->sc, i, ST_CACHED, -1, now);
	} else {
		ss->exit_code = res->exit_code;
		ss->signal = (int16_t)res->signal;
		ss->has_output = res->output;
		ss->finished = wall;
		ss->duration = (double)(wall - ss->started) / 1000;
		state_set_reason(ss, res->reason);
		/* The machine's fault: no retry, nothing new. */
		if (res->syserr)
			syserr(r);
		if (res->status == ST_SUCCEEDED && a->probe != NULL)
			cache_record(&r->c->cache, &r->c->x, a->probe,
			    res->output, &r->c->news);
		sched_finished(&r->sc, i, res->status, res->exit_code, now);
	}
	attempt_release(a);
	r->freeslot[r->nfree++] = a->tag;
	dirty(r);
}

/*
 * The run's status as a finally step i sees it: every other step has
 * ended or will not start, so the run failed if one failed and succeeded
 * so far if none did.  dag-step runs i alone, so this looks at the run's
 * steps, not at its scheduler's.
 */
static int
final_status(const struct runctx *c, uint32_t i)
{
	const struct sstate *ss = c->rs.s;
	uint32_t k;

	for (k = 0; k < c->g->n; k++)
		if (k != i && sched_fails_run(&ss[k]))
			return RUN_FAILED;
	return RUN_SUCCEEDED;
}

static void
apply(struct runner *r, const struct sched_action *a, int64_t now)
{
	struct attempt *at;
	int64_t timer;

	switch (a->kind) {
	case SA_START:
		/* What ended before goes to disk before anything starts: a
		 * dependent never runs on a need's success the journal has
		 * not kept.  A step the cache may find up to date starts
		 * nothing: its attempt flushes before it spawns, if it does
		 * (one write per cached step was most of a no-op run). */
		if (r->ac.cache == NULL || !cache_wanted(r->c->g, a->step))
			(void)journal_flush(&r->c->jr);
		r->c->x.run_status = sched_status_now(&r->sc);
		if (r->c->x.run_status == RUN_RUNNING)	/* dag-step: the run's */
			r->c->x.run_status = r->c->rs.status;
		if (r->c->x.run_status == RUN_RUNNING && r->c->g->s[a->step].final)
			r->c->x.run_status = final_status(r->c, a->step);
		start(r, a->step, now);
		break;
	case SA_KILL:
		if (r->slot_of[a->step] == NO_SLOT)
			break;
		at = &r->att[r->slot_of[a->step]];
		timer = at->timer;
		after(r, at, attempt_kill(at, &r->ac, a->reason ==
		    STOP_CANCEL ? AK_CANCEL : a->reason == STOP_DEADLINE ?
		    AK_DEADLINE : AK_ABORT, now), timer, now);
		break;
	default:
		runctx_record(r->c, a, (double)(now - r->t_attempt[a->step]) /
		    1000);
		dirty(r);
	}
}

/* Applies the scheduler's actions until it has none. */
static void
apply_all(struct runner *r)
{
	struct sched_action a;
	int64_t now = clock_mono_ms();

	/* The clock again after each action: a start takes a spawn. */
	while (sched_next(&r->sc, now, &a)) {
		apply(r, &a, now);
		now = clock_mono_ms();
	}
	r->c->pg.running = r->sc.running;
}

void
runner_resume(struct runner *r)
{
	r->resumed = 1;
	sched_resume(&r->sc);
	apply_all(r);
}

void
runner_rerun(struct runner *r, uint32_t i, const char *why)
{
	sched_reset(&r->sc, i, 1, why);
	apply_all(r);
}

void
runner_begin(struct runner *r)
{
	const struct dag *g = r->c->g;

	/* Lines are batched: see apply() and after() for when they go. */
	r->c->jr.batch = 1;
	if (!r->single) {
		/* A run paused when its dag-run died stays so. */
		if (r->c->rs.paused) {
			r->sc.paused = 1;
			diag_add(&r->c->news, DIAG_WARNING, NULL, "paused: no "
			    "step starts until dag-run --unpause %s",
			    r->c->rs.id);
		}
		/* A new run's first run.json, all pending, waits for its
		 * first command (a run of steps up to date may end first);
		 * one that goes on or stays paused says so at once. */
		if (r->c->rs.paused || r->resumed)
			snapshot(r);
		else
			dirty(r);
		if (g->timeout > 0)
			r->deadline = clock_mono_ms() +
			    (int64_t)llround(g->timeout * 1000);
	}
	sched_begin(&r->sc);
}

/* -- events ---------------------------------------------------------- */

/* Reaps what ended: attempts' processes, and strays. */
static void
reap(struct runner *r)
{
	struct procset_exit ex[REAP_BATCH];
	struct capture *caps[REAP_BATCH];
	struct attempt *a;
	size_t n, k, nc;
	int64_t now, timer;
	int more;

	do {
		n = procset_reap(&r->ps, ex, REAP_BATCH, &more);
		/* Evaluators have no pipes of ours. */
		for (k = nc = 0; k < n; k++)
			if (ex[k].tag != PROCSET_NONE &&
			    !r->att[ex[k].tag].eval)
				caps[nc++] = &r->att[ex[k].tag].cap;
		capset_drain(&r->cs, caps, nc);
		/* An output lost is a system error before the step ends:
		 * no retry for it. */
		check_io(r);
		now = clock_mono_ms();
		for (k = 0; k < n; k++) {
			if (ex[k].tag == PROCSET_NONE) {
				reaper_forget(&r->rp, ex[k].pid);
				continue;
			}
			a = &r->att[ex[k].tag];
			timer = a->timer;
			after(r, a, attempt_exit(a, &r->ac, ex[k].status, now),
			    timer, now);
		}
	} while (more);
}

/* --pause (on) and --unpause: recorded, and the scheduler told. */
static void
set_paused(struct runner *r, int on, pid_t by)
{
	struct runctx *c = r->c;

	if (r->single || c->rs.paused == on)
		return;		/* dag-step runs one step: nothing to hold */
	c->rs.paused = (uint8_t)on;
	r->sc.paused = (uint8_t)on;
	journal_run_control(&c->jr, on ? "run_paused" : "run_unpaused", NULL,
	    by);
	progress_done(&c->pg);
	if (on)
		diag_add(&c->news, DIAG_WARNING, NULL, "paused: no step "
		    "starts until dag-run --unpause %s%s", c->rs.id,
		    r->sc.closing ? " (but the exit handlers of a run that "
		    "stops)" : "");
	else
		diag_add(&c->news, DIAG_WARNING, NULL, "unpaused");
	/* Now, not at the next timer: dag-run --pause waits for it. */
	snapshot(r);
}

static void
on_signal(struct runner *r, int sig, pid_t by)
{
	char name[32];
	uint32_t k;

	if (sig == SIGCHLD) {
		reap(r);
		return;
	}
	if (sig == SIGUSR1 || sig == SIGUSR2) {
		set_paused(r, sig == SIGUSR1, by);
		return;
	}
	/* The same signal again from our parent at once: GNU timeout sends
	 * it to its child and to its process group, and `timeout 2h
	 * dag-run` must still run the exit handlers.  Once, then. */
	if (r->cancel_sig != 0 && sig == r->cancel_sig && by != 0 && by ==
	    r->cancel_by && by == getppid() && clock_mono_ms() -
	    r->cancel_at < 100)
		return;
	(void)snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(sig));
	journal_run_control(&r->c->jr, "run_cancel_requested", name, by);
	if (r->cancel_sig == 0) {
		r->cancel_sig = sig;
		r->cancel_by = by;
		r->cancel_at = clock_mono_ms();
		progress_done(&r->c->pg);
		diag_add(&r->c->news, DIAG_WARNING, NULL, "%s: cancelling%s "
		    "(again to kill at once)", strsignal(sig),
		    r->sc.no_handlers ? "" : "; exit handlers still run");
		sched_stop(&r->sc, STOP_CANCEL);
	} else {
		/* Again: the exit handlers too, and no grace. */
		int64_t now = clock_mono_ms(), t;

		sched_stop(&r->sc, STOP_CANCEL);
		for (k = 0; k < r->slots; k++) {
			t = r->att[k].timer;
			attempt_kill_now(&r->att[k], &r->ac, now);
			after(r, &r->att[k], AN_NONE, t, now);
		}
	}
}

/* Attempts whose timer is due. */
static void
attempt_timers(struct runner *r, int64_t now)
{
	const struct heap_item *top;
	struct heap_item it;
	struct attempt *a;

	while ((top = heap_top(&r->timers)) != NULL && top->key <= now) {
		(void)heap_pop(&r->timers, &it);
		a = &r->att[it.val];
		if (a->state == AT_FREE || a->timer != it.key)
			continue;	/* superseded */
		/* Its heap entry is gone: any timer it sets now is new, even
		 * one due at once (a kill_grace of 0). */
		after(r, a, attempt_timer(a, &r->ac, now), 0, now);
	}
}

static void
timers(struct runner *r, int64_t now)
{
	int64_t w;

	attempt_timers(r, now);
	if ((w = sched_wake(&r->sc)) != -1 && w <= now)
		sched_tick(&r->sc, now);
	if ((w = procset_wake(&r->ps)) != -1 && w <= now)
		procset_tick(&r->ps, now);
	/* After a cancel the deadline changes nothing. */
	if (r->deadline != 0 && r->deadline <= now && r->cancel_sig != 0)
		r->deadline = 0;
	if (r->deadline != 0 && r->deadline <= now) {
		r->deadline = 0;
		progress_done(&r->c->pg);
		diag_add(&r->c->news, DIAG_WARNING, NULL, "run deadline "
		    "exceeded");
		sched_stop(&r->sc, STOP_DEADLINE);
	}
	if (r->snap_at != 0 && r->snap_at <= now) {
		r->snap_at = 0;
		snapshot(r);
	}
}

/* The poll timeout: ms to the nearest deadline, 1 s at most. */
static int
next_timeout(const struct runner *r, int64_t now)
{
	const struct heap_item *top = heap_top(&r->timers);
	int64_t at[5], best = -1;
	int k;

	at[0] = top != NULL ? top->key : -1;
	at[1] = sched_wake(&r->sc);
	at[2] = procset_wake(&r->ps);
	at[3] = r->deadline != 0 ? r->deadline : -1;
	at[4] = r->snap_at != 0 ? r->snap_at : -1;
	for (k = 0; k < 5; k++)
		if (at[k] != -1 && (best == -1 || at[k] < best))
			best = at[k];
	if (best == -1)
		return r->c->pg.tty ? 1000 : -1;
	return best <= now ? 0 : best - now > 1000 ? 1000 : (int)(best - now);
}

static int
poll_once(struct runner *r)
{
	int sigs[32], mfd, mk = -1;
	pid_t from[32];
	size_t n = 1, k, ns;

	if (2 + 2 * (size_t)r->cs.nlive > r->pfdcap) {
		r->pfdcap = 2 + 4 * (size_t)r->cs.nlive;
		r->pfd = xreallocarray(r->pfd, r->pfdcap, sizeof(*r->pfd));
	}
	r->pfd[0] = (struct pollfd){ r->ps.sigfd, POLLIN, 0 };
	n += capset_poll(&r->cs, &r->pfd[1]);
	/* --events lines a slow reader has not taken yet. */
	if ((mfd = journal_mirror_fd(&r->c->jr)) != -1) {
		mk = (int)n;
		r->pfd[n++] = (struct pollfd){ mfd, POLLOUT, 0 };
	}
	if (poll(r->pfd, (nfds_t)n, next_timeout(r, clock_mono_ms())) == -1 &&
	    errno != EINTR)
		return -1;
	if (mk != -1 && r->pfd[mk].revents != 0)
		journal_mirror_push(&r->c->jr);
	/* Output first: a pipe that only hung up (a silent step's end) is
	 * closed without a read, and the reaping then has nothing left. */
	capset_polled(&r->cs, &r->pfd[1]);
	check_io(r);
	if (r->pfd[0].revents & POLLIN) {
		ns = procset_signals(&r->ps, sigs, from, nitems(sigs));
		for (k = 0; k < ns; k++)
			on_signal(r, sigs[k], from[k]);
	}
	timers(r, clock_mono_ms());
	check_io(r);
	progress_tick(&r->c->pg, -1);
	return 0;
}

int
runner_turn(struct runner *r)
{
	apply_all(r);
	capset_close_queued(&r->cs);
	(void)journal_flush(&r->c->jr);
	check_io(r);
	if (sched_done(&r->sc))
		return 1;
	if (!r->sc.stopping)
		capset_fill_spares(&r->cs, r->sc.running, r->room);
	procset_compact(&r->ps);
	if (poll_once(r) == -1) {
		diag_sys(&r->c->news, "poll");
		syserr(r);
		return -1;
	}
	return 0;
}

void
runner_end(struct runner *r)
{
	reaper_sweep(&r->rp, r->ps.sigfd);
	r->c->jr.batch = 0;
	(void)journal_flush(&r->c->jr);
	check_io(r);
}

int
runner_status(const struct runner *r)
{
	return sched_status(&r->sc);
}
