/*
 * The scheduler and the run's lifecycle, as decisions only: which steps
 * may start (trigger rules over the outcomes of their needs, -j slots,
 * pools, the ready heap ordered by remaining critical path), what a
 * failure stops (on_failure), whether an attempt is retried and after how
 * long, and the run's final status.  Rules of this file: it includes no
 * header that does I/O, reads no clock (times come with the events), and
 * prints nothing; every change it makes to the graph's state is handed to
 * the caller as an action.  It is unit-tested without processes
 * (tests/unit/sched_test.c), and dag-run, dag-step and dag-step --finish
 * all go through it.  Long: a foreach's instances (sched_expand) are
 * steps added while it runs, with a few cases of their own throughout.
 *
 * Each step keeps the counts of its needs that ended well (succeeded, or
 * failed with allow_failure), skipped, or badly, so deciding a step is
 * O(1) however many needs it has.  A step's end is propagated by a
 * worklist, never by recursion: a failing chain of a million steps
 * settles in one loop with a flat stack.  A step ends once per
 * scheduler, so the worklist is one array of n entries, used once.
 */
#include "compat.h"

#include <math.h>

#include "heap.h"
#include "sched.h"
#include "state.h"
#include "xalloc.h"

enum decision { D_WAIT, D_RUN, D_SKIP, D_UPFAIL };

static const struct sched_step *
pol(const struct sched *s, uint32_t i)
{
	return (const struct sched_step *)(const void *)((const char *)
	    s->g.pol + (size_t)i * s->g.stride);
}

/* all_done, one_failed, all_failed: cleanups and alerts, which still
 * start after a failure stopped the run. */
static int
is_handler(const struct sched_step *p)
{
	return p->trigger == TRIG_ALL_DONE || p->trigger == TRIG_ONE_FAILED ||
	    p->trigger == TRIG_ALL_FAILED;
}

/* A failure that fails the run: not one that allow_failure excuses. */
static int
is_failure(const struct sstate *ss)
{
	return (ss->status == ST_FAILED || ss->status == ST_TIMED_OUT) &&
	    !ss->allowed;
}

static void
push_action(struct sched *s, int kind, uint32_t i, int st, const char *why)
{
	if (s->qtail == s->qcap) {
		s->qcap = s->qcap ? 2 * s->qcap : 64;
		s->q = xreallocarray(s->q, s->qcap, sizeof(*s->q));
	}
	s->q[s->qtail++] = (struct sched_action){ (uint8_t)kind, (uint8_t)st,
	    0, i, 0, why, SCHED_NONE };
}

static void consider(struct sched *, uint32_t);
static void settle(struct sched *);
static int group_status(const uint32_t c[5], const char **why,
    int *allowed);

/* The step whose dependents are step i's: an instance's foreach step. */
static uint32_t
dep_src(const struct sched *s, uint32_t i)
{
	uint32_t p = pol(s, i)->parent;

	return p != SCHED_NONE ? p : i;
}

/*
 * Foreach step h's instances have all ended: h ends with what they add
 * up to (not ended(): its dependents counted each instance).
 */
int
sched_group_status(const struct sstate *ss, const uint32_t *m, uint32_t n,
    const char **why, int *allowed)
{
	uint32_t k, c[5] = { 0 };	/* ok, fail, allow, upfail, cancel */
	const struct sstate *e;

	for (k = 0; k < n; k++) {
		e = &ss[m[k]];
		if (e->status == ST_CANCELLED || e->status == ST_PENDING)
			c[4]++;
		else if (is_failure(e))
			c[1]++;
		else if (e->status == ST_FAILED || e->status == ST_TIMED_OUT)
			c[2]++;
		else if (e->status == ST_UPSTREAM_FAILED)
			c[3]++;
		else if (e->status != ST_SKIPPED)
			c[0]++;
	}
	return group_status(c, why, allowed);
}

/* What instances that ended so (counts c: ok, failed, failed but
 * allowed, upstream_failed, cancelled or unrun) add up to. */
static int
group_status(const uint32_t c[5], const char **why, int *allowed)
{
	*allowed = c[2] > 0 && c[1] == 0 && c[3] == 0 && c[4] == 0;
	*why = NULL;
	if (c[1] > 0)
		*why = "an instance failed";
	else if (c[3] > 0)
		*why = "an instance's need did not succeed";
	else if (c[4] > 0)
		*why = "an instance was cancelled or did not start";
	else if (c[0] + c[2] == 0)
		*why = "every instance was skipped";
	else if (c[2] > 0)
		*why = "an instance failed (allowed)";
	return c[1] > 0 ? ST_FAILED : c[3] > 0 ? ST_UPSTREAM_FAILED :
	    c[4] > 0 ? ST_CANCELLED : c[0] + c[2] == 0 ? ST_SKIPPED :
	    c[2] > 0 ? ST_FAILED : ST_SUCCEEDED;
}

static void
end_head(struct sched *s, uint32_t h)
{
	const struct sched_node *v = &s->v[h];
	struct sstate *ss = &s->ss[h];
	const uint32_t c[5] = { v->gok, v->gfail, v->gallow, v->gupfail,
	    v->gcancel };
	const char *why;
	int st, allowed;

	st = group_status(c, &why, &allowed);
	ss->status = (uint8_t)st;
	ss->allowed = (uint8_t)allowed;
	push_action(s, SA_FINAL, h, st, why);
	if (is_failure(ss))
		s->failed = s->failures = 1;
}

/* Instance i has ended (or, unrun, will not start): its foreach step
 * counts it, and ends with the last. */
static void
member_ended(struct sched *s, uint32_t i, int unrun)
{
	uint32_t h = pol(s, i)->parent;
	struct sched_node *v = &s->v[h];
	const struct sstate *ss = &s->ss[i];

	if (!v->expanded || v->left == 0)
		return;
	if (unrun || ss->status == ST_CANCELLED)
		v->gcancel++;
	else if (is_failure(ss))
		v->gfail++;
	else if (ss->status == ST_FAILED || ss->status == ST_TIMED_OUT)
		v->gallow++;
	else if (ss->status == ST_UPSTREAM_FAILED)
		v->gupfail++;
	else if (ss->status != ST_SKIPPED)
		v->gok++;
	if (--v->left == 0) {
		v->expanded = 0;
		s->nopen--;
		end_head(s, h);
	}
}

/* Instance i will not start in this invocation (the run stopped): its
 * step and the step's dependents count it as not run. */
static void
unrun_instance(struct sched *s, uint32_t i)
{
	const struct sched_graph *g = &s->g;
	uint32_t h = pol(s, i)->parent, k;

	s->v[i].unrun = 1;
	member_ended(s, i, 1);
	for (k = g->dep_off[h]; k < g->dep_off[h + 1]; k++) {
		s->v[g->dep[k]].nnot++;
		consider(s, g->dep[k]);
	}
}

/*
 * Nothing runs or waits, and nothing could start: the instances still
 * pending will not start in this invocation (a stop came after their
 * step expanded), so their steps end.  1 if that queued actions.
 */
static int
close_heads(struct sched *s)
{
	size_t before = s->qtail;
	uint32_t i;

	for (i = s->g.nstatic; i < s->g.n && s->nopen > 0; i++)
		if (!s->v[i].dormant && !s->v[i].unrun &&
		    s->ss[i].selected && s->ss[i].status == ST_PENDING &&
		    s->v[pol(s, i)->parent].expanded)
			unrun_instance(s, i);
	settle(s);
	return s->qtail > before;
}

void
sched_init(struct sched *s, const struct sched_graph *g, struct sstate *ss)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->g = *g;
	s->ss = ss;
	s->v = xcalloc(g->n + 1, sizeof(*s->v));
	s->work = xcalloc(g->n + 1, sizeof(*s->work));
	s->poolq = xcalloc(g->npools + 1, sizeof(*s->poolq));
	s->pool_used = xcalloc(g->npools + 1, sizeof(*s->pool_used));
	s->rng = g->seed != 0 ? g->seed : 0x9e3779b97f4a7c15ULL;
	heap_init(&s->ready);
	heap_init(&s->waits);
	for (i = 0; i < g->npools; i++)
		heap_init(&s->poolq[i]);
	for (i = 0; i < g->n; i++) {
		s->v[i].base = ss[i].attempts;
		s->v[i].dormant = pol(s, i)->parent != SCHED_NONE;
	}
}

void
sched_release(struct sched *s)
{
	uint32_t i;

	for (i = 0; s->poolq != NULL && i < s->g.npools; i++)
		heap_release(&s->poolq[i]);
	free(s->poolq);
	free(s->pool_used);
	heap_release(&s->ready);
	heap_release(&s->waits);
	free(s->q);
	free(s->work);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
sched_reset(struct sched *s, uint32_t i, int all, const char *why)
{
	struct sstate *ss = &s->ss[i];

	if (!ss->selected || ss->status == ST_PENDING || (!all &&
	    (ss->status == ST_SUCCEEDED || ss->status == ST_CACHED ||
	    ss->status == ST_SKIPPED)))
		return;
	ss->status = ST_PENDING;
	ss->allowed = 0;
	push_action(s, SA_RESET, i, ST_PENDING, why);
}

void
sched_resume(struct sched *s)
{
	const struct sched_graph *g = &s->g;
	uint32_t i, k, v;

	/* In topological order, so a need is reset before its dependents
	 * look at it: an exit handler that watched a step that runs again
	 * is decided again. */
	for (i = 0; i < g->nstatic; i++) {
		v = g->order != NULL ? g->order[i] : i;
		sched_reset(s, v, 0, NULL);
		if (!is_handler(pol(s, v)) || s->ss[v].status == ST_PENDING)
			continue;
		for (k = g->need_off[v]; k < g->need_off[v + 1]; k++)
			if (s->ss[g->need[k]].selected &&
			    s->ss[g->need[k]].status == ST_PENDING) {
				sched_reset(s, v, 1, NULL);
				break;
			}
	}
}

/* Step d learns that its need k ended. */
static void
count_need(struct sched_node *d, const struct sstate *k)
{
	if (k->status == ST_SUCCEEDED || k->status == ST_CACHED || k->allowed)
		d->nok++;
	else if (k->status == ST_SKIPPED)
		d->nskip++;
	else
		d->nbad++;
}

/* An all_success step's reason, naming the need (the action's need). */
static const char need_skipped[] = "need %s was skipped";

/*
 * What step i's trigger makes of its needs so far (Airflow's rules): run
 * it, wait, or end it skipped or upstream_failed (*why says why).  O(1).
 */
static enum decision
decide(const struct sched *s, uint32_t i, const char **why)
{
	const struct sched_node *v = &s->v[i];
	uint32_t n, done = v->nok + v->nskip + v->nbad + v->nnot;

	*why = NULL;
	if (i >= s->g.nstatic)	/* an instance: its step's trigger ran */
		return D_RUN;
	n = s->g.need_off[i + 1] - s->g.need_off[i] + v->extra;
	switch (pol(s, i)->trigger) {
	case TRIG_ALL_SUCCESS:
		if (v->nbad > 0) {
			*why = "a need did not succeed";
			return D_UPFAIL;
		}
		if (done < n)
			return D_WAIT;
		if (v->nskip > 0) {	/* a skip cascades */
			*why = need_skipped;
			return D_SKIP;
		}
		return D_RUN;
	case TRIG_NONE_FAILED:
		if (v->nbad > 0) {
			*why = "a need did not succeed";
			return D_UPFAIL;
		}
		return done == n ? D_RUN : D_WAIT;
	case TRIG_ALL_DONE:
		return done == n ? D_RUN : D_WAIT;
	case TRIG_ALL_FAILED:
		if (v->nok + v->nskip + v->nnot > 0) {
			*why = "trigger all_failed: a need did not fail";
			return D_SKIP;
		}
		return done == n ? D_RUN : D_WAIT;
	case TRIG_ONE_FAILED:
		if (v->nbad > 0)
			return D_RUN;
		if (done < n)
			return D_WAIT;
		*why = "trigger one_failed: no need failed";
		return D_SKIP;
	default:	/* one_success */
		if (v->nok > 0)
			return D_RUN;
		if (done < n)
			return D_WAIT;
		if (v->nskip == n) {
			*why = "trigger one_success: every need was skipped";
			return D_SKIP;
		}
		*why = "trigger one_success: no need succeeded";
		return D_UPFAIL;
	}
}

/* Step i has ended: its dependents learn it when the worklist drains. */
static void
ended(struct sched *s, uint32_t i)
{
	s->work[s->wtail++] = i;
}

/* The first of step i's needs that was skipped.  O(its needs), once. */
static uint32_t
skipped_need(const struct sched *s, uint32_t i)
{
	uint32_t e;

	for (e = s->g.need_off[i]; e < s->g.need_off[i + 1]; e++)
		if (s->ss[s->g.need[e]].status == ST_SKIPPED)
			return s->g.need[e];
	return SCHED_NONE;
}

/* Step i ends without running: skipped, upstream_failed, cancelled. */
static void
end_unrun(struct sched *s, uint32_t i, int st, const char *why)
{
	s->ss[i].status = (uint8_t)st;
	push_action(s, SA_SKIP, i, st, why);
	if (why == need_skipped &&
	    (s->q[s->qtail - 1].need = skipped_need(s, i)) == SCHED_NONE)
		s->q[s->qtail - 1].why = "an instance of a need was skipped";
	ended(s, i);
}

static void end_wait(struct sched *, uint32_t, int, const char *);

/*
 * fail_fast: instance i failed, and the others of its group that have
 * not ended are cancelled: killed, or ended without running.  O(V), once
 * per failure.
 */
static void
fail_fast(struct sched *s, uint32_t i)
{
	static const char why[] = "fail_fast: another instance failed";
	uint32_t u, grp = pol(s, i)->grp;

	for (u = 0; u < s->g.n; u++) {
		if (u == i || pol(s, u)->grp != grp || s->v[u].dormant ||
		    !s->ss[u].selected)
			continue;
		if (s->ss[u].status == ST_RUNNING) {
			push_action(s, SA_KILL, u, ST_RUNNING, NULL);
			s->q[s->qtail - 1].reason = STOP_ABORT;
		} else if (s->ss[u].status == ST_RETRY_WAIT ||
		    (s->ss[u].status == ST_PENDING && s->v[u].retrying))
			end_wait(s, u, ST_CANCELLED, why);
		else if (s->ss[u].status == ST_PENDING)
			end_unrun(s, u, ST_CANCELLED, why);
	}
}

/* Step i ends with status st; why: the scheduler's reason, if it is. */
static void
finalize(struct sched *s, uint32_t i, int st, const char *why)
{
	struct sstate *ss = &s->ss[i];

	ss->status = (uint8_t)st;
	ss->allowed = (st == ST_FAILED || st == ST_TIMED_OUT) &&
	    pol(s, i)->allow_failure;
	push_action(s, SA_FINAL, i, st, why);
	if (is_failure(ss))
		s->failed = s->failures = 1;
	ended(s, i);
	if (is_failure(ss) && pol(s, i)->fail_fast)
		fail_fast(s, i);
}

/* h with its items' keys taken from rank again. */
static void
rekey(struct heap *h, const int64_t *rank)
{
	struct heap old = *h;
	size_t k;

	heap_init(h);
	for (k = 0; k < old.n; k++)
		heap_push(h, rank != NULL ? -rank[old.v[k].val] : 0,
		    old.v[k].val);
	heap_release(&old);
}

void
sched_rerank(struct sched *s, const int64_t *rank)
{
	uint32_t p;

	s->g.rank = rank;
	rekey(&s->ready, rank);
	for (p = 0; p < s->g.npools; p++)
		rekey(&s->poolq[p], rank);
}

static void
enqueue(struct sched *s, uint32_t i)
{
	s->v[i].queued = 1;
	heap_push(&s->ready, s->g.rank != NULL ? -s->g.rank[i] : 0, i);
}

/* Step i may be decidable now: queue it, or end it unrun. */
static void
consider(struct sched *s, uint32_t i)
{
	const char *why;

	if (!s->ss[i].selected || s->ss[i].status != ST_PENDING ||
	    s->v[i].queued || s->v[i].unrun || s->v[i].dormant || s->frozen)
		return;
	switch (decide(s, i, &why)) {
	case D_RUN:
		enqueue(s, i);
		break;
	case D_SKIP:
		end_unrun(s, i, ST_SKIPPED, why);
		break;
	case D_UPFAIL:
		end_unrun(s, i, ST_UPSTREAM_FAILED, why);
		break;
	default:
		break;
	}
}

/*
 * A retry wait ends now with the outcome of the attempt before it: one
 * still waiting for its delay, or one whose delay is over but that waits
 * in the ready heap or a pool's queue for room (popped later, it is
 * skipped then: it is no longer pending).
 */
static void
end_wait(struct sched *s, uint32_t i, int st, const char *why)
{
	if (s->ss[i].status == ST_RETRY_WAIT)
		s->waiting--;
	s->v[i].retrying = 0;
	finalize(s, i, st, why);
}

/* 1 if step i waits to retry: for its delay, or for room after it. */
static int
is_waiting(const struct sched *s, uint32_t i)
{
	return s->ss[i].status == ST_RETRY_WAIT ||
	    (s->ss[i].status == ST_PENDING && s->v[i].retrying);
}

/* Ends the retry waits: of every step (handlers too) or of non-handlers,
 * with their last outcome (st < 0) or with st and why. */
static void
end_waits(struct sched *s, int handlers, int st, const char *why)
{
	uint32_t i;

	for (i = 0; i < s->g.n; i++)
		if (is_waiting(s, i) && (handlers || !is_handler(pol(s, i))))
			end_wait(s, i, st < 0 ? s->v[i].wait_st : st, why);
}

/* Kills the running steps: all of them, or (handlers 0) all but the
 * exit handlers. */
static void
kill_running(struct sched *s, int reason, int handlers)
{
	uint32_t i;

	for (i = 0; i < s->g.n; i++)
		if (s->ss[i].status == ST_RUNNING && !s->v[i].expanded &&
		    (handlers || !is_handler(pol(s, i)))) {
			push_action(s, SA_KILL, i, ST_RUNNING, NULL);
			s->q[s->qtail - 1].reason = (uint8_t)reason;
		}
}

static void
raise_stop(struct sched *s, int why)
{
	/* A signal after the deadline leaves the run timed out: the
	 * status and exit status are the first cause's. */
	if (why > s->stop && !(why == STOP_CANCEL && s->stop == STOP_DEADLINE))
		s->stop = (uint8_t)why;
}

/* A step failed for good: what on_failure says to do about it. */
static void
on_failure(struct sched *s)
{
	if (s->g.on_failure == ONF_STOP && !s->stopping) {
		s->stopping = s->unrun_due = 1;
		raise_stop(s, STOP_FAILURE);
		end_waits(s, 0, -1, NULL);	/* a retry is something new */
	} else if (s->g.on_failure == ONF_ABORT && !s->aborting) {
		s->stopping = s->aborting = s->unrun_due = 1;
		raise_stop(s, STOP_ABORT);
		end_waits(s, 1, ST_CANCELLED, "cancelled while waiting to "
		    "retry");
		kill_running(s, STOP_ABORT, 1);
	}
}

/*
 * The run stopped starting steps but exit handlers: every pending step
 * that is not one will not start, and the handlers among its dependents
 * count it as not run (so one that waits for it is decided).  Pending
 * steps that a need's outcome still decides were decided before.
 * O(V + E) each time the run stops further.
 */
static void
mark_unrun(struct sched *s)
{
	const struct sched_graph *g = &s->g;
	uint32_t i, k, src;

	s->unrun_due = 0;
	for (i = 0; i < g->n; i++)
		if (s->ss[i].selected && s->ss[i].status == ST_PENDING &&
		    !s->v[i].unrun && !s->v[i].dormant &&
		    !is_handler(pol(s, i)))
			s->v[i].unrun = 2;	/* newly */
	for (i = 0; i < g->n; i++) {
		if (s->v[i].unrun != 2)
			continue;
		s->v[i].unrun = 1;
		src = dep_src(s, i);
		if (src != i)
			member_ended(s, i, 1);
		for (k = g->dep_off[src]; k < g->dep_off[src + 1]; k++) {
			s->v[g->dep[k]].nnot++;
			consider(s, g->dep[k]);
		}
	}
}

/*
 * Propagates what has ended: each ended step's dependents count it and
 * may be decided, ending in turn.  A worklist, so the stack stays flat;
 * O(out-degree) per ended step.
 */
static void
settle(struct sched *s)
{
	const struct sched_graph *g = &s->g;
	uint32_t i, k, src;

	for (;;) {
		if (s->failed) {
			s->failed = 0;
			on_failure(s);
			continue;
		}
		if (s->whead == s->wtail) {
			if (!s->unrun_due)
				break;
			mark_unrun(s);
			continue;
		}
		i = s->work[s->whead++];
		if ((src = dep_src(s, i)) != i)
			member_ended(s, i, 0);
		for (k = g->dep_off[src]; k < g->dep_off[src + 1]; k++) {
			count_need(&s->v[g->dep[k]], &s->ss[i]);
			consider(s, g->dep[k]);
		}
	}
}

/* Each step counts its needs that have ended, once statuses are set. */
static void
count_all(struct sched *s)
{
	const struct sched_graph *g = &s->g;
	uint32_t i, k;

	for (i = 0; i < g->nstatic; i++)
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			if (step_status_terminal(s->ss[g->need[k]].status))
				count_need(&s->v[i], &s->ss[g->need[k]]);
}

void
sched_begin(struct sched *s)
{
	const struct sched_graph *g = &s->g;
	uint32_t i, v;

	count_all(s);
	for (i = 0; i < g->nstatic; i++) {
		v = g->order != NULL ? g->order[i] : i;
		consider(s, v);
		settle(s);
	}
	for (i = g->nstatic; i < g->n; i++) {	/* sched_adopt's */
		consider(s, i);
		settle(s);
	}
}

/* Takes step i into a slot (and its pool). */
static void
start(struct sched *s, uint32_t i, int64_t now)
{
	const struct sched_step *p = pol(s, i);

	s->running++;
	if (p->pool >= 0)
		s->pool_used[p->pool]++;
	if (p->pool2 != SCHED_NONE)
		s->pool_used[p->pool2]++;
	s->ss[i].attempts++;
	s->ss[i].status = ST_RUNNING;
	s->v[i].retrying = 0;
	if (!s->v[i].began) {
		s->v[i].began = 1;
		s->v[i].t_first = now;
	}
}

/* Gives back step i's slot and pool place, waking a step that waits for
 * the pool. */
static void
release(struct sched *s, uint32_t i)
{
	const struct sched_step *p = pol(s, i);
	struct heap_item it;

	s->running--;
	if (p->pool >= 0) {
		s->pool_used[p->pool]--;
		if (heap_pop(&s->poolq[p->pool], &it) == 0)
			heap_push(&s->ready, it.key, it.val);
	}
	if (p->pool2 != SCHED_NONE) {
		s->pool_used[p->pool2]--;
		if (heap_pop(&s->poolq[p->pool2], &it) == 0)
			heap_push(&s->ready, it.key, it.val);
	}
}

/* The next queued action into *a: 1, or 0 when there is none. */
static int
pop_action(struct sched *s, struct sched_action *a)
{
	if (s->qhead == s->qtail)
		return 0;
	*a = s->q[s->qhead++];
	if (s->qhead == s->qtail)
		s->qhead = s->qtail = 0;
	return 1;
}

/* The start of the best ready step that slots and pools let start. */
static int
start_next(struct sched *s, int64_t now, struct sched_action *a)
{
	const struct sched_step *p;
	struct heap_item it;

	while (s->running < s->g.slots && heap_pop(&s->ready, &it) == 0) {
		p = pol(s, it.val);
		s->v[it.val].queued = 0;
		if (s->ss[it.val].status != ST_PENDING)
			continue;	/* a retry that a stop ended */
		/* Stopped: it stays pending (for --resume). */
		if (s->frozen || s->syserr || (s->stopping && !is_handler(p)))
			continue;
		if (p->pool >= 0 && s->pool_used[p->pool] >=
		    s->g.pool_cap[p->pool]) {
			s->v[it.val].queued = 1;
			heap_push(&s->poolq[p->pool], it.key, it.val);
			continue;
		}
		if (p->pool2 != SCHED_NONE && s->pool_used[p->pool2] >=
		    s->g.pool_cap[p->pool2]) {	/* the step's max_parallel */
			s->v[it.val].queued = 1;
			heap_push(&s->poolq[p->pool2], it.key, it.val);
			continue;
		}
		start(s, it.val, now);
		*a = (struct sched_action){ SA_START, ST_RUNNING, 0, it.val, 0,
		    NULL, SCHED_NONE };
		return 1;
	}
	return 0;
}

int
sched_next(struct sched *s, int64_t now, struct sched_action *a)
{
	if (pop_action(s, a))
		return 1;
	if (s->paused && !s->closing)
		return 0;
	if (start_next(s, now, a))
		return 1;
	/* Nothing runs, waits or could start: instances a stop left end
	 * their foreach step (an action, which comes next). */
	return s->running == 0 && s->waiting == 0 && s->nopen > 0 &&
	    close_heads(s) && pop_action(s, a);
}

static uint64_t
next_random(struct sched *s)
{
	/* xorshift64*: the jitter needs spread, not secrecy. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

int64_t
sched_backoff(struct sched *s, const struct sched_step *p, uint32_t attempt)
{
	double d = p->delay * pow(p->factor, attempt > 0 ? attempt - 1 : 0);

	if (!(d <= p->max_delay))	/* inf and nan too */
		d = p->max_delay;
	if (p->jitter && d > 0)
		d = d / 2 + d / 2 * ((double)(next_random(s) >> 11) *
		    0x1.0p-53);
	return llround(d * 1000);
}

/*
 * Whether step i, whose attempt ended with st and code, gets another
 * attempt, and after how many ms (*ms).  A retry is a new start: none
 * once the run is stopping (but for handlers), none past the step's
 * budget for this invocation or past max_duration.
 */
static int
want_retry(struct sched *s, uint32_t i, int st, int code, int64_t now,
    int64_t *ms)
{
	const struct sched_step *p = pol(s, i);
	const struct sched_node *v = &s->v[i];

	if (st != ST_FAILED && st != ST_TIMED_OUT)
		return 0;
	if (s->ss[i].attempts - v->base >= p->attempts || s->frozen ||
	    s->aborting || s->syserr || (s->stopping && !is_handler(p)))
		return 0;
	/* With exit_codes, only those statuses: a timeout is not one. */
	if (p->exit_codes != NULL && (st == ST_TIMED_OUT || code < 0 ||
	    code > 255 || !p->exit_codes[code]))
		return 0;
	*ms = sched_backoff(s, p, s->ss[i].attempts - v->base);
	if (p->max_duration > 0 && now + *ms - v->t_first >=
	    llround(p->max_duration * 1000))
		return 0;
	return 1;
}

void
sched_finished(struct sched *s, uint32_t i, int st, int code, int64_t now)
{
	struct sched_node *v = &s->v[i];
	int64_t ms;

	release(s, i);
	if (st == ST_CACHED)
		s->ss[i].attempts--;	/* it did not run */
	if (want_retry(s, i, st, code, now, &ms)) {
		s->ss[i].status = ST_RETRY_WAIT;
		v->wait_st = (uint8_t)st;
		v->wake = now + ms;
		heap_push(&s->waits, v->wake, i);
		s->waiting++;
		push_action(s, SA_RETRY, i, st, NULL);
		s->q[s->qtail - 1].ms = ms;
		return;
	}
	finalize(s, i, st, NULL);
	settle(s);
}

void
sched_skip(struct sched *s, uint32_t i, const char *why)
{
	release(s, i);
	s->ss[i].attempts--;
	end_unrun(s, i, ST_SKIPPED, why);
	settle(s);
}

void
sched_adopt(struct sched *s, uint32_t i)
{
	s->v[i].dormant = 0;
}

void
sched_grow(struct sched *s, const struct sched_graph *g, struct sstate *ss)
{
	uint32_t i, old = s->g.n, n = g->n;

	s->v = xreallocarray(s->v, n + 1, sizeof(*s->v));
	s->work = xreallocarray(s->work, n + 1, sizeof(*s->work));
	memset(s->v + old, 0, (size_t)(n + 1 - old) * sizeof(*s->v));
	s->g.n = n;
	s->g.need_off = g->need_off;
	s->g.need = g->need;
	s->g.dep_off = g->dep_off;
	s->g.dep = g->dep;
	s->g.order = g->order;
	s->g.pol = g->pol;
	if (s->g.rank != NULL)
		s->g.rank = g->rank;
	s->ss = ss;
	for (i = old; i < n; i++) {
		s->v[i].base = ss[i].attempts;
		s->v[i].dormant = 1;
	}
}

void
sched_expand(struct sched *s, uint32_t h, const uint32_t *m, uint32_t n)
{
	const struct sched_graph *g = &s->g;
	struct sched_node *v = &s->v[h];
	uint32_t k, u;

	release(s, h);
	v->expanded = 1;
	v->left = n;
	s->nopen++;
	v->gok = v->gfail = v->gallow = v->gupfail = v->gcancel = 0;
	for (k = g->dep_off[h]; k < g->dep_off[h + 1]; k++)
		s->v[g->dep[k]].extra += n - 1;
	for (k = 0; k < n; k++) {
		u = m[k];
		s->v[u].dormant = 0;
		s->v[u].base = s->ss[u].attempts;
		if (step_status_terminal(s->ss[u].status))
			ended(s, u);	/* kept from an earlier run */
		else
			consider(s, u);
	}
	settle(s);
}

int64_t
sched_wake(const struct sched *s)
{
	const struct heap_item *top = heap_top(&s->waits);

	return top != NULL ? top->key : -1;
}

void
sched_tick(struct sched *s, int64_t now)
{
	const struct heap_item *top;
	struct heap_item it;
	uint32_t i;

	while ((top = heap_top(&s->waits)) != NULL && top->key <= now) {
		(void)heap_pop(&s->waits, &it);
		i = it.val;
		if (s->ss[i].status != ST_RETRY_WAIT || s->v[i].wake != it.key)
			continue;	/* ended while it waited, or stale */
		if (s->syserr || s->frozen || (s->stopping &&
		    !is_handler(pol(s, i)))) {
			end_wait(s, i, s->v[i].wait_st, NULL);
			continue;
		}
		s->waiting--;
		s->ss[i].status = ST_PENDING;
		s->v[i].retrying = 1;
		enqueue(s, i);
	}
	settle(s);
}

/* Ends the waits and kills the running steps, handlers too or not. */
static void
stop_now(struct sched *s, int why, int handlers)
{
	if (why == STOP_DEADLINE)
		end_waits(s, handlers, ST_TIMED_OUT, "run deadline exceeded");
	else
		end_waits(s, handlers, ST_CANCELLED, "cancelled while waiting "
		    "to retry");
	kill_running(s, why, handlers);
}

void
sched_stop(struct sched *s, int why)
{
	raise_stop(s, why);
	s->stopping = 1;
	switch (why) {
	case STOP_SYSERR:
		/* Nothing new starts, retries included: the waits end now
		 * with what their last attempt did. */
		s->syserr = 1;
		end_waits(s, 1, -1, NULL);
		break;
	case STOP_CANCEL:
	case STOP_DEADLINE:
		/* What has not started stays pending, for --resume. */
		if (s->frozen || (s->closing && why == STOP_DEADLINE))
			break;
		if (!s->no_handlers && !(s->closing && s->cancelled &&
		    why == STOP_CANCEL)) {
			/* The exit handlers still run (also when a first
			 * signal follows the deadline). */
			s->cancelled |= why == STOP_CANCEL;
			if (!s->closing) {
				s->closing = s->unrun_due = 1;
				stop_now(s, why, 0);
			}
			break;
		}
		/* A second signal, or no handlers: decide nothing more. */
		s->frozen = 1;
		stop_now(s, why, 1);
		break;
	default:
		break;
	}
	settle(s);
}

void
sched_abandon(struct sched *s, uint32_t i, const char *why)
{
	/* Not ended(): sched_close counts every need's status afresh. */
	if (s->ss[i].status != ST_RUNNING && s->ss[i].status != ST_RETRY_WAIT)
		return;
	s->ss[i].status = ST_CANCELLED;
	push_action(s, SA_SKIP, i, ST_CANCELLED, why);
}

void
sched_close(struct sched *s, const char *why)
{
	const struct sched_graph *g = &s->g;
	const char *r;
	uint32_t i, v;
	int st;

	/* Decided in topological order, each from needs already ended; the
	 * propagation only counts. */
	count_all(s);
	s->frozen = 1;
	for (i = 0; i < g->nstatic; i++) {
		v = g->order != NULL ? g->order[i] : i;
		if (!s->ss[v].selected || s->ss[v].status != ST_PENDING)
			continue;
		switch (decide(s, v, &r)) {
		case D_SKIP:
			st = ST_SKIPPED;
			break;
		case D_UPFAIL:
			st = ST_UPSTREAM_FAILED;
			break;
		default:
			st = ST_CANCELLED;
			r = why;
		}
		end_unrun(s, v, st, r);
		settle(s);
	}
	for (i = g->nstatic; i < g->n; i++)	/* a foreach's, left */
		if (s->ss[i].selected && s->ss[i].status == ST_PENDING) {
			end_unrun(s, i, ST_CANCELLED, why);
			settle(s);
		}
}

int
sched_done(const struct sched *s)
{
	return s->running == 0 && s->waiting == 0 && s->qhead == s->qtail &&
	    s->ready.n == 0;
}

int
sched_fails_run(const struct sstate *ss)
{
	return is_failure(ss) || ss->status == ST_UPSTREAM_FAILED ||
	    ss->status == ST_CANCELLED;
}

int
sched_status_of(const struct sstate *ss, uint32_t n, int stop)
{
	uint32_t i;

	if (stop == STOP_CANCEL)
		return RUN_CANCELLED;
	if (stop == STOP_DEADLINE)
		return RUN_TIMED_OUT;
	for (i = 0; i < n; i++)
		if (ss[i].selected && (!step_status_terminal(ss[i].status) ||
		    sched_fails_run(&ss[i])))
			return RUN_FAILED;
	return stop == STOP_SYSERR ? RUN_FAILED : RUN_SUCCEEDED;
}

int
sched_status_now(const struct sched *s)
{
	if (s->stop == STOP_CANCEL)
		return RUN_CANCELLED;
	if (s->stop == STOP_DEADLINE)
		return RUN_TIMED_OUT;
	return s->failures || s->stop != STOP_NONE ? RUN_FAILED : RUN_RUNNING;
}

int
sched_status(const struct sched *s)
{
	return sched_status_of(s->ss, s->g.n, s->syserr && s->stop <
	    STOP_DEADLINE ? STOP_SYSERR : s->stop);
}

int
sched_restatus(const struct sstate *ss, uint32_t n, int prev)
{
	uint32_t i;
	int unended = 0, cancelled = 0, timed_out = 0;

	for (i = 0; i < n; i++) {
		if (!ss[i].selected)
			continue;
		unended |= !step_status_terminal(ss[i].status);
		cancelled |= ss[i].status == ST_CANCELLED;
		timed_out |= ss[i].status == ST_TIMED_OUT && !ss[i].allowed;
	}
	if (prev == RUN_RUNNING && unended)
		return RUN_RUNNING;
	if (prev == RUN_CANCELLED && (unended || cancelled))
		return RUN_CANCELLED;
	if (prev == RUN_TIMED_OUT && (unended || timed_out))
		return RUN_TIMED_OUT;
	return sched_status_of(ss, n, STOP_NONE);
}
