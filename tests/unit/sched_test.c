/*
 * The scheduler without processes (ninja's PlanTest): graphs built by
 * hand, events fed in, the actions and statuses that come out checked.
 * Built and run by "make test" (and under ASan by "make test-asan").
 * Prints one line per group and exits 1 if any check failed.
 */
#include "../../lib/compat.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "../../lib/dag.h"
#include "../../lib/diag.h"
#include "../../lib/journal.h"
#include "../../lib/sched.h"
#include "../../lib/state.h"

static int fails, checks;

#define CHECK(c) do {							\
	checks++;							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__,	\
		    __LINE__, __func__, #c);				\
		fails++;						\
	}								\
} while (0)

/* A test graph: needs given as pairs (step, need), CSR built here. */
struct tg {
	uint32_t		 n;
	uint32_t		*need_off, *need, *dep_off, *dep;
	struct sched_step	*pol;
	struct sstate		*ss;
	uint32_t		 pool_cap[4];
	int64_t			*rank;
	struct sched_graph	 g;
	struct sched		 s;
	struct sched_action	 log[256];	/* the last drain's actions */
	size_t			 nlog;
};

static void
tg_init(struct tg *t, uint32_t n, const uint32_t (*e)[2], size_t ne)
{
	uint32_t i, *fill;
	size_t k;

	memset(t, 0, sizeof(*t));
	t->n = n;
	t->need_off = calloc(n + 1, sizeof(uint32_t));
	t->dep_off = calloc(n + 1, sizeof(uint32_t));
	t->need = calloc(ne + 1, sizeof(uint32_t));
	t->dep = calloc(ne + 1, sizeof(uint32_t));
	fill = calloc(n + 1, sizeof(uint32_t));
	t->pol = calloc(n, sizeof(*t->pol));
	t->ss = calloc(n, sizeof(*t->ss));
	if (t->need_off == NULL || t->dep_off == NULL || t->need == NULL ||
	    t->dep == NULL || fill == NULL || t->pol == NULL || t->ss == NULL)
		abort();
	for (k = 0; k < ne; k++) {
		t->need_off[e[k][0] + 1]++;
		t->dep_off[e[k][1] + 1]++;
	}
	for (i = 0; i < n; i++) {
		t->need_off[i + 1] += t->need_off[i];
		t->dep_off[i + 1] += t->dep_off[i];
	}
	for (k = 0; k < ne; k++)
		t->need[t->need_off[e[k][0]] + fill[e[k][0]]++] = e[k][1];
	memset(fill, 0, (n + 1) * sizeof(uint32_t));
	for (k = 0; k < ne; k++)
		t->dep[t->dep_off[e[k][1]] + fill[e[k][1]]++] = e[k][0];
	free(fill);
	for (i = 0; i < n; i++) {
		t->pol[i] = (struct sched_step){ .trigger = TRIG_ALL_SUCCESS,
		    .pool = -1, .pool2 = SCHED_NONE, .parent = SCHED_NONE,
		    .grp = SCHED_NONE, .attempts = 1, .delay = 1,
		    .factor = 2, .max_delay = 300 };
		t->ss[i].exit_code = -1;
		t->ss[i].selected = 1;
	}
	t->g = (struct sched_graph){ n, n, t->need_off, t->need, t->dep_off,
	    t->dep, NULL, t->pol, sizeof(*t->pol), NULL, 0, t->pool_cap,
	    ONF_STOP, 1000, 42 };
}

/* Builds the scheduler once the test has set pol, ss and g. */
static void
tg_start(struct tg *t)
{
	t->g.rank = t->rank;
	sched_init(&t->s, &t->g, t->ss);
}

static void
tg_free(struct tg *t)
{
	sched_release(&t->s);
	free(t->need_off);
	free(t->dep_off);
	free(t->need);
	free(t->dep);
	free(t->pol);
	free(t->ss);
	free(t->rank);
}

/* Takes every action there is now into t->log; returns how many. */
static size_t
drain(struct tg *t, int64_t now)
{
	t->nlog = 0;
	while (t->nlog < 256 && sched_next(&t->s, now, &t->log[t->nlog]))
		t->nlog++;
	return t->nlog;
}

/* 1 if the last drain had an action of kind for step i. */
static int
saw(const struct tg *t, int kind, uint32_t i)
{
	size_t k;

	for (k = 0; k < t->nlog; k++)
		if (t->log[k].kind == kind && t->log[k].step == i)
			return 1;
	return 0;
}

static size_t
count(const struct tg *t, int kind)
{
	size_t k, c = 0;

	for (k = 0; k < t->nlog; k++)
		c += t->log[k].kind == kind;
	return c;
}

static const struct sched_action *
find(const struct tg *t, int kind, uint32_t i)
{
	size_t k;

	for (k = 0; k < t->nlog; k++)
		if (t->log[k].kind == kind && t->log[k].step == i)
			return &t->log[k];
	return NULL;
}

/* How a need may have ended, as a journal records it. */
enum outcome { O_OK, O_FAILED, O_ALLOWED, O_TIMED_OUT, O_SKIPPED,
    O_UPFAIL, O_CANCELLED, O__N };
static const char *const outcome_names[] = { "succeeded", "failed",
    "failed+allow_failure", "timed_out", "skipped", "upstream_failed",
    "cancelled" };
static const char *const rule_names[] = { "all_success", "all_done",
    "all_failed", "one_failed", "one_success", "none_failed" };

static void
set_outcome(struct sstate *ss, int o)
{
	static const uint8_t st[O__N] = { ST_SUCCEEDED, ST_FAILED, ST_FAILED,
	    ST_TIMED_OUT, ST_SKIPPED, ST_UPSTREAM_FAILED, ST_CANCELLED };

	ss->status = st[o];
	ss->allowed = o == O_ALLOWED;
	ss->attempts = o == O_SKIPPED || o == O_UPFAIL ? 0 : 1;
}

/*
 * The oracle, written from the rules as the man page states them rather
 * than from the counts: what a step with trigger rule and needs that
 * ended as o[0..n) becomes: ST_RUNNING (it starts), ST_SKIPPED or
 * ST_UPSTREAM_FAILED.
 */
static int
expect(int rule, const int *o, int n)
{
	int k, any_ok = 0, all_ok = 1, any_bad = 0, all_bad = 1;
	int all_skip = 1, any_skip = 0;

	for (k = 0; k < n; k++) {
		/* An allowed failure is a success to dependents. */
		int ok = o[k] == O_OK || o[k] == O_ALLOWED;
		int skip = o[k] == O_SKIPPED;
		int bad = !ok && !skip;

		any_ok |= ok;
		all_ok &= ok || skip;	/* skipped needs do not block */
		any_bad |= bad;
		all_bad &= bad;
		all_skip &= skip;
		any_skip |= skip;
	}
	switch (rule) {
	case TRIG_ALL_SUCCESS:
		/* A skip cascades, unless something failed. */
		return !all_ok ? ST_UPSTREAM_FAILED : any_skip ? ST_SKIPPED :
		    ST_RUNNING;
	case TRIG_NONE_FAILED:
		return all_ok ? ST_RUNNING : ST_UPSTREAM_FAILED;
	case TRIG_ALL_DONE:
		return ST_RUNNING;
	case TRIG_ALL_FAILED:
		return all_bad ? ST_RUNNING : ST_SKIPPED;
	case TRIG_ONE_FAILED:
		return any_bad ? ST_RUNNING : ST_SKIPPED;
	default:
		return any_ok ? ST_RUNNING : all_skip ? ST_SKIPPED :
		    ST_UPSTREAM_FAILED;
	}
}

/* The step decided by sched_begin given needs recorded as ended. */
static int
decided(int rule, const int *o, int n)
{
	uint32_t e[3][2] = { { 3, 0 }, { 3, 1 }, { 3, 2 } };
	struct tg t;
	int k, got;

	tg_init(&t, 4, (const uint32_t (*)[2])e, (size_t)n);
	for (k = 0; k < n; k++)
		set_outcome(&t.ss[k], o[k]);
	t.pol[3].trigger = (uint8_t)rule;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	got = t.ss[3].status;
	if (got == ST_RUNNING)
		CHECK(saw(&t, SA_START, 3));
	else
		CHECK(saw(&t, SA_SKIP, 3) && find(&t, SA_SKIP, 3)->why !=
		    NULL);
	tg_free(&t);
	return got;
}

static void
test_triggers(void)
{
	/* One need, spelled out: rule x outcome -> what the step becomes.
	 * R: runs, S: skipped, U: upstream_failed. */
	static const char table[6][O__N + 1] = {
		/*            ok fail allow tmo skip upf canc */
		[TRIG_ALL_SUCCESS] = "RURUSUU",
		[TRIG_ALL_DONE] =    "RRRRRRR",
		[TRIG_ALL_FAILED] =  "SRSRSRR",
		[TRIG_ONE_FAILED] =  "SRSRSRR",
		[TRIG_ONE_SUCCESS] = "RURUSUU",
		[TRIG_NONE_FAILED] = "RURURUU",
	};
	int rule, a, b, o[2], n = 0;

	for (rule = 0; rule < 6; rule++)
		for (a = 0; a < O__N; a++) {
			int want = table[rule][a] == 'R' ? ST_RUNNING :
			    table[rule][a] == 'S' ? ST_SKIPPED :
			    ST_UPSTREAM_FAILED;

			o[0] = a;
			CHECK(expect(rule, o, 1) == want);
			if (decided(rule, o, 1) != want) {
				fprintf(stderr, "  %s, need %s\n",
				    rule_names[rule], outcome_names[a]);
				fails++;
			}
			n++;
		}
	/* Two needs: every combination, against the oracle. */
	for (rule = 0; rule < 6; rule++)
		for (a = 0; a < O__N; a++)
			for (b = 0; b < O__N; b++) {
				o[0] = a;
				o[1] = b;
				checks++;
				if (decided(rule, o, 2) != expect(rule, o, 2)) {
					fprintf(stderr, "  %s, needs %s, %s\n",
					    rule_names[rule], outcome_names[a],
					    outcome_names[b]);
					fails++;
				}
				n++;
			}
	printf("triggers: %d cases (6 rules, every outcome of 1 and 2 "
	    "needs)\n", n);
}

/* one_failed and one_success decide before every need has ended. */
static void
test_triggers_early(void)
{
	uint32_t e[2][2] = { { 2, 0 }, { 2, 1 } };
	struct tg t;

	tg_init(&t, 3, (const uint32_t (*)[2])e, 2);
	t.pol[2].trigger = TRIG_ONE_FAILED;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(saw(&t, SA_START, 0) && saw(&t, SA_START, 1));
	sched_finished(&t.s, 0, ST_FAILED, 1, 10);
	drain(&t, 10);
	CHECK(saw(&t, SA_FINAL, 0) && saw(&t, SA_START, 2));
	CHECK(t.ss[1].status == ST_RUNNING);
	tg_free(&t);

	tg_init(&t, 3, (const uint32_t (*)[2])e, 2);
	t.pol[2].trigger = TRIG_ONE_SUCCESS;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	sched_finished(&t.s, 1, ST_SUCCEEDED, 0, 10);
	drain(&t, 10);
	CHECK(saw(&t, SA_START, 2));
	tg_free(&t);

	/* all_success waits for every need before a skip cascades, so a
	 * failure of the other need makes it upstream_failed whatever the
	 * order the needs ended in. */
	tg_init(&t, 3, (const uint32_t (*)[2])e, 2);
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	sched_skip(&t.s, 0, "when is false");
	drain(&t, 0);
	CHECK(t.ss[2].status == ST_PENDING && t.ss[1].status == ST_RUNNING);
	sched_finished(&t.s, 1, ST_FAILED, 1, 10);
	drain(&t, 10);
	CHECK(t.ss[2].status == ST_UPSTREAM_FAILED && !saw(&t, SA_START, 2));
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_FAILED);
	tg_free(&t);
	printf("triggers: one_failed, one_success start before the last "
	    "need ends; all_success waits for it to cascade a skip\n");
}

/* Four independent steps, one slot, ranks 5, 9, 5, 1: begun. */
static void
ranked4(struct tg *t)
{
	tg_init(t, 4, NULL, 0);
	t->g.slots = 1;
	t->rank = calloc(4, sizeof(int64_t));
	t->rank[0] = 5;
	t->rank[1] = 9;
	t->rank[2] = 5;
	t->rank[3] = 1;
	tg_start(t);
	sched_begin(&t->s);
}

static void
test_slots_pools_order(void)
{
	struct tg t;
	uint32_t i;

	/* -j2: two start, one more each time one ends. */
	tg_init(&t, 5, NULL, 0);
	t.g.slots = 2;
	tg_start(&t);
	sched_begin(&t.s);
	CHECK(drain(&t, 0) == 2 && count(&t, SA_START) == 2);
	CHECK(saw(&t, SA_START, 0) && saw(&t, SA_START, 1));
	sched_finished(&t.s, 0, ST_SUCCEEDED, 0, 1);
	drain(&t, 1);
	CHECK(saw(&t, SA_FINAL, 0) && saw(&t, SA_START, 2) &&
	    count(&t, SA_START) == 1);
	CHECK(t.s.running == 2 && !sched_done(&t.s));
	for (i = 1; i < 5; i++) {
		sched_finished(&t.s, i, ST_SUCCEEDED, 0, 2);
		drain(&t, 2);
	}
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_SUCCEEDED);
	tg_free(&t);

	/* A pool of 1 among 4 slots: its steps one at a time, in order;
	 * the free step does not wait for them. */
	tg_init(&t, 4, NULL, 0);
	t.g.slots = 4;
	t.g.npools = 1;
	t.pool_cap[0] = 1;
	t.pol[0].pool = t.pol[1].pool = t.pol[2].pool = 0;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(count(&t, SA_START) == 2 && saw(&t, SA_START, 0) &&
	    saw(&t, SA_START, 3));
	sched_finished(&t.s, 3, ST_SUCCEEDED, 0, 1);
	CHECK(drain(&t, 1) == 1 && saw(&t, SA_FINAL, 3));
	sched_finished(&t.s, 0, ST_SUCCEEDED, 0, 2);
	drain(&t, 2);
	CHECK(count(&t, SA_START) == 1 && saw(&t, SA_START, 1));
	sched_finished(&t.s, 1, ST_SUCCEEDED, 0, 3);
	drain(&t, 3);
	CHECK(count(&t, SA_START) == 1 && saw(&t, SA_START, 2));
	tg_free(&t);

	/* Longest remaining path first, ties by declaration; no rank:
	 * declaration order. */
	ranked4(&t);
	{
		uint32_t want[4] = { 1, 0, 2, 3 }, k;

		for (k = 0; k < 4; k++) {
			drain(&t, 0);
			CHECK(t.nlog >= 1 && t.log[t.nlog - 1].kind ==
			    SA_START && t.log[t.nlog - 1].step == want[k]);
			sched_finished(&t.s, want[k], ST_SUCCEEDED, 0, 0);
		}
	}
	tg_free(&t);

	/* New ranks while steps wait (history read at the first start):
	 * the waiting ones go by them. */
	ranked4(&t);
	drain(&t, 0);
	CHECK(t.nlog >= 1 && t.log[t.nlog - 1].kind == SA_START &&
	    t.log[t.nlog - 1].step == 1);
	{
		int64_t again[4] = { 1, 0, 7, 3 };
		uint32_t want[3] = { 2, 3, 0 }, k;

		sched_rerank(&t.s, again);
		sched_finished(&t.s, 1, ST_SUCCEEDED, 0, 0);
		for (k = 0; k < 3; k++) {
			drain(&t, 0);
			CHECK(t.nlog >= 1 && t.log[t.nlog - 1].kind ==
			    SA_START && t.log[t.nlog - 1].step == want[k]);
			sched_finished(&t.s, want[k], ST_SUCCEEDED, 0, 0);
		}
	}
	tg_free(&t);
	printf("slots, pools, ready order\n");
}

/* Fails step i's attempt at now, returning the action that follows. */
static const struct sched_action *
fail_at(struct tg *t, uint32_t i, int st, int code, int64_t now)
{
	sched_finished(&t->s, i, st, code, now);
	drain(t, now);
	return t->nlog > 0 ? &t->log[0] : NULL;
}

static void
test_retries(void)
{
	const struct sched_action *a;
	struct tg t;
	int64_t lo = INT64_MAX, hi = 0, ms;
	int k;

	/* attempts 4, delay 1 s, factor 2, max_delay 3 s. */
	tg_init(&t, 1, NULL, 0);
	t.pol[0].attempts = 4;
	t.pol[0].max_delay = 3;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	a = fail_at(&t, 0, ST_FAILED, 1, 100);
	CHECK(a != NULL && a->kind == SA_RETRY && a->ms == 1000 &&
	    a->status == ST_FAILED);
	CHECK(t.ss[0].status == ST_RETRY_WAIT && sched_wake(&t.s) == 1100);
	sched_tick(&t.s, 1099);
	CHECK(drain(&t, 1099) == 0);
	sched_tick(&t.s, 1100);
	drain(&t, 1100);
	CHECK(saw(&t, SA_START, 0) && t.ss[0].attempts == 2);
	a = fail_at(&t, 0, ST_TIMED_OUT, 143, 1200);
	CHECK(a != NULL && a->kind == SA_RETRY && a->ms == 2000);
	sched_tick(&t.s, 3200);
	drain(&t, 3200);
	a = fail_at(&t, 0, ST_FAILED, 1, 3300);
	CHECK(a != NULL && a->kind == SA_RETRY && a->ms == 3000);
	sched_tick(&t.s, 6300);
	drain(&t, 6300);
	CHECK(t.ss[0].attempts == 4);
	a = fail_at(&t, 0, ST_FAILED, 1, 6400);
	CHECK(a != NULL && a->kind == SA_FINAL && a->status == ST_FAILED);
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_FAILED);
	tg_free(&t);

	/* exit_codes: only the listed statuses are retried; a cancel never. */
	tg_init(&t, 2, NULL, 0);
	t.pol[0].attempts = t.pol[1].attempts = 3;
	t.pol[0].exit_codes = calloc(256, 1);
	t.pol[0].exit_codes[75] = 1;
	t.g.slots = 2;
	t.g.on_failure = ONF_CONTINUE;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	a = fail_at(&t, 0, ST_FAILED, 75, 0);
	CHECK(a != NULL && a->kind == SA_RETRY);
	a = fail_at(&t, 1, ST_CANCELLED, 143, 0);
	CHECK(a != NULL && a->kind == SA_FINAL && a->status == ST_CANCELLED);
	/* A timeout is not an exit status listed, whatever its code. */
	t.pol[0].exit_codes[143] = 1;
	sched_tick(&t.s, 1000);
	drain(&t, 1000);
	a = fail_at(&t, 0, ST_TIMED_OUT, 143, 1000);
	CHECK(a != NULL && a->kind == SA_FINAL && a->status == ST_TIMED_OUT);
	free(t.pol[0].exit_codes);
	tg_free(&t);

	/* max_duration 2.5 s: no retry whose delay ends past it. */
	tg_init(&t, 1, NULL, 0);
	t.pol[0].attempts = 10;
	t.pol[0].max_duration = 2.5;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	a = fail_at(&t, 0, ST_FAILED, 1, 0);
	CHECK(a != NULL && a->kind == SA_RETRY && a->ms == 1000);
	sched_tick(&t.s, 1000);
	drain(&t, 1000);
	a = fail_at(&t, 0, ST_FAILED, 1, 1000);	/* 1000 + 2000 >= 2500 */
	CHECK(a != NULL && a->kind == SA_FINAL && t.ss[0].attempts == 2);
	tg_free(&t);

	/* jitter: each delay drawn from [d/2, d]. */
	tg_init(&t, 1, NULL, 0);
	t.pol[0].delay = 10;
	t.pol[0].jitter = 1;
	tg_start(&t);
	for (k = 0; k < 2000; k++) {
		ms = sched_backoff(&t.s, &t.pol[0], 1);
		CHECK(ms >= 5000 && ms <= 10000);
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	CHECK(lo < 5500 && hi > 9500);
	tg_free(&t);
	printf("retries: backoff, max_delay, exit_codes, max_duration, "
	    "jitter\n");
}

/*
 * 0 fails; 1 runs beside it; 2 waits to retry; 3 is not started yet;
 * 4 is a handler (one_failed on 0).  slots 3.
 */
static void
failure_setup(struct tg *t, int onf)
{
	static const uint32_t e[1][2] = { { 4, 0 } };

	tg_init(t, 5, e, 1);
	t->g.slots = 3;
	t->g.on_failure = onf;
	t->pol[2].attempts = 5;
	t->pol[4].trigger = TRIG_ONE_FAILED;
	tg_start(t);
	sched_begin(&t->s);
	drain(t, 0);
	CHECK(saw(t, SA_START, 0) && saw(t, SA_START, 1) &&
	    saw(t, SA_START, 2));
	(void)fail_at(t, 2, ST_FAILED, 1, 0);
	CHECK(t->ss[2].status == ST_RETRY_WAIT);
	CHECK(saw(t, SA_START, 3));	/* 2's slot went to 3 */
	sched_finished(&t->s, 3, ST_SUCCEEDED, 0, 1);
	drain(t, 1);
	(void)fail_at(t, 0, ST_FAILED, 1, 2);
}

static void
test_on_failure(void)
{
	struct tg t;

	/* stop: nothing new, the wait ends with its failure, the handler
	 * runs, what runs goes on. */
	failure_setup(&t, ONF_STOP);
	CHECK(saw(&t, SA_FINAL, 0));
	CHECK(saw(&t, SA_FINAL, 2) && find(&t, SA_FINAL, 2)->status ==
	    ST_FAILED && find(&t, SA_FINAL, 2)->why == NULL);
	CHECK(saw(&t, SA_START, 4) && !saw(&t, SA_KILL, 1));
	sched_finished(&t.s, 4, ST_SUCCEEDED, 0, 3);
	sched_finished(&t.s, 1, ST_SUCCEEDED, 0, 3);
	drain(&t, 3);
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_FAILED);
	tg_free(&t);

	/* continue: the wait goes on and retries. */
	failure_setup(&t, ONF_CONTINUE);
	CHECK(!saw(&t, SA_FINAL, 2) && t.ss[2].status == ST_RETRY_WAIT);
	sched_tick(&t.s, 5000);
	drain(&t, 5000);
	CHECK(t.ss[2].status == ST_RUNNING || saw(&t, SA_START, 2));
	tg_free(&t);

	/* abort: what runs is killed, the wait cancelled. */
	failure_setup(&t, ONF_ABORT);
	CHECK(saw(&t, SA_KILL, 1) && find(&t, SA_KILL, 1)->reason ==
	    STOP_ABORT);
	CHECK(saw(&t, SA_FINAL, 2) && find(&t, SA_FINAL, 2)->status ==
	    ST_CANCELLED);
	sched_finished(&t.s, 1, ST_CANCELLED, 143, 3);
	drain(&t, 3);
	tg_free(&t);

	/* on_failure stop: a failure with allow_failure stops nothing. */
	tg_init(&t, 2, NULL, 0);
	t.g.slots = 1;
	t.pol[0].allow_failure = 1;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	(void)fail_at(&t, 0, ST_FAILED, 1, 0);
	CHECK(t.ss[0].allowed && saw(&t, SA_START, 1));
	sched_finished(&t.s, 1, ST_SUCCEEDED, 0, 1);
	drain(&t, 1);
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_SUCCEEDED);
	tg_free(&t);
	printf("on_failure: stop, continue, abort, allow_failure\n");
}

/* 0 runs, 1 waits to retry, 2 needs 0, 3 is a handler of 0; then the
 * run stops for why. */
static void
stop_setup(struct tg *t, int why)
{
	static const uint32_t e[2][2] = { { 2, 0 }, { 3, 0 } };

	tg_init(t, 4, e, 2);
	t->pol[1].attempts = 2;
	t->pol[3].trigger = TRIG_ALL_DONE;
	tg_start(t);
	sched_begin(&t->s);
	drain(t, 0);
	(void)fail_at(t, 1, ST_FAILED, 1, 0);
	sched_stop(&t->s, why);
	drain(t, 1);
}

/*
 * A retry whose delay is over but that waits for a slot when the run
 * stops ends with its last outcome, as one still waiting for its delay:
 * 0 runs long, 1 fails and retries, 2 fails in 1's slot meanwhile.
 */
static void
test_retry_queued(void)
{
	struct tg t;
	int onf;

	for (onf = ONF_STOP; onf <= ONF_ABORT; onf++) {
		tg_init(&t, 3, NULL, 0);
		t.g.slots = 2;
		t.g.on_failure = onf;
		t.pol[1].attempts = 2;
		t.pol[1].delay = 0.1;
		t.g.rank = NULL;
		tg_start(&t);
		sched_begin(&t.s);
		drain(&t, 0);
		CHECK(saw(&t, SA_START, 0) && saw(&t, SA_START, 1));
		(void)fail_at(&t, 1, ST_FAILED, 1, 0);
		CHECK(saw(&t, SA_RETRY, 1) && saw(&t, SA_START, 2));
		sched_tick(&t.s, 100);	/* its delay is over: no slot */
		CHECK(drain(&t, 100) == 0 && t.ss[1].status == ST_PENDING);
		(void)fail_at(&t, 2, ST_FAILED, 1, 200);
		if (onf == ONF_CONTINUE) {
			CHECK(saw(&t, SA_START, 1));
			tg_free(&t);
			continue;
		}
		CHECK(saw(&t, SA_FINAL, 1) && !saw(&t, SA_START, 1));
		CHECK(t.ss[1].status == (onf == ONF_STOP ? ST_FAILED :
		    ST_CANCELLED));
		sched_finished(&t.s, 0, onf == ONF_STOP ? ST_SUCCEEDED :
		    ST_CANCELLED, 0, 300);
		drain(&t, 300);
		CHECK(!saw(&t, SA_START, 1) && sched_done(&t.s));
		tg_free(&t);
	}
	printf("retries: one waiting for a slot ends with the run's stop\n");
}

static void
test_stops(void)
{
	struct tg t;
	int why;

	for (why = STOP_DEADLINE; why <= STOP_CANCEL; why++) {
		int st = why == STOP_CANCEL ? ST_CANCELLED : ST_TIMED_OUT;
		int rs = why == STOP_CANCEL ? RUN_CANCELLED : RUN_TIMED_OUT;

		stop_setup(&t, why);
		CHECK(saw(&t, SA_KILL, 0) && find(&t, SA_KILL, 0)->reason ==
		    why);
		CHECK(saw(&t, SA_FINAL, 1) && find(&t, SA_FINAL, 1)->status ==
		    st && find(&t, SA_FINAL, 1)->why != NULL);
		CHECK(sched_status_now(&t.s) == rs);
		sched_finished(&t.s, 0, st, 143, 2);
		drain(&t, 2);
		/* The exit handler 3 starts once its need is killed; 2 stays
		 * pending, for --resume. */
		CHECK(saw(&t, SA_START, 3) && !saw(&t, SA_START, 2));
		CHECK(t.ss[2].status == ST_PENDING && !sched_done(&t.s));
		sched_finished(&t.s, 3, ST_SUCCEEDED, 0, 3);
		drain(&t, 3);
		CHECK(sched_done(&t.s) && sched_status(&t.s) == rs &&
		    t.ss[2].status == ST_PENDING);
		tg_free(&t);

		/* no_handlers: nothing more is decided, 3 stays pending. */
		tg_init(&t, 4, (const uint32_t[][2]){ { 2, 0 }, { 3, 0 } }, 2);
		t.pol[3].trigger = TRIG_ALL_DONE;
		tg_start(&t);
		t.s.no_handlers = 1;
		sched_begin(&t.s);
		drain(&t, 0);
		sched_stop(&t.s, why);
		drain(&t, 1);
		CHECK(saw(&t, SA_KILL, 0) && saw(&t, SA_KILL, 1));
		sched_finished(&t.s, 0, st, 143, 2);
		sched_finished(&t.s, 1, st, 143, 2);
		drain(&t, 2);
		CHECK(!saw(&t, SA_START, 3) && t.ss[3].status == ST_PENDING);
		CHECK(sched_done(&t.s) && sched_status(&t.s) == rs);
		tg_free(&t);
	}

	/* A second cancel kills the handlers; a deadline after a cancel
	 * does not. */
	stop_setup(&t, STOP_CANCEL);
	sched_finished(&t.s, 0, ST_CANCELLED, 143, 2);
	drain(&t, 2);
	CHECK(saw(&t, SA_START, 3));
	sched_stop(&t.s, STOP_DEADLINE);
	CHECK(drain(&t, 3) == 0 && sched_status_now(&t.s) == RUN_CANCELLED);
	sched_stop(&t.s, STOP_CANCEL);
	drain(&t, 4);
	CHECK(saw(&t, SA_KILL, 3) && find(&t, SA_KILL, 3)->reason ==
	    STOP_CANCEL);
	sched_finished(&t.s, 3, ST_CANCELLED, 143, 5);
	drain(&t, 5);
	CHECK(sched_done(&t.s) && t.ss[2].status == ST_PENDING &&
	    sched_status(&t.s) == RUN_CANCELLED);
	tg_free(&t);

	/* A system error: no handler, no retry; waits end as they were. */
	stop_setup(&t, STOP_SYSERR);
	CHECK(saw(&t, SA_FINAL, 1) && find(&t, SA_FINAL, 1)->status ==
	    ST_FAILED && !saw(&t, SA_KILL, 0));
	sched_finished(&t.s, 0, ST_SUCCEEDED, 0, 2);
	drain(&t, 2);
	CHECK(!saw(&t, SA_START, 2) && !saw(&t, SA_START, 3));
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_FAILED);
	tg_free(&t);
	printf("stops: cancel, deadline (exit handlers run, again kills "
	    "them), system error\n");
}

/*
 * Exit handlers after a stop, with a need that never started (one slot:
 * 0 runs, 1 waits for the slot): killed counts as failed, never started
 * as not run.  2 all_done [1], 3 one_failed [0 1], 4 all_failed [0 1],
 * 5 all_success [2], 6 all_failed [0].
 */
static void
test_handlers_unrun(void)
{
	static const uint32_t e[][2] = { { 2, 1 }, { 3, 0 }, { 3, 1 },
	    { 4, 0 }, { 4, 1 }, { 5, 2 }, { 6, 0 } };
	struct tg t;
	int onf;

	tg_init(&t, 7, e, nitems(e));
	t.g.slots = 1;
	t.pol[2].trigger = TRIG_ALL_DONE;
	t.pol[3].trigger = TRIG_ONE_FAILED;
	t.pol[4].trigger = TRIG_ALL_FAILED;
	t.pol[6].trigger = TRIG_ALL_FAILED;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(saw(&t, SA_START, 0) && t.ss[1].status == ST_PENDING);
	CHECK(sched_status_now(&t.s) == RUN_RUNNING);
	sched_stop(&t.s, STOP_CANCEL);
	drain(&t, 1);
	/* 2 waits for no one now; 4 is skipped: 1 did not fail. */
	CHECK(saw(&t, SA_KILL, 0) && t.ss[4].status == ST_SKIPPED);
	sched_finished(&t.s, 0, ST_CANCELLED, 143, 2);
	drain(&t, 2);
	CHECK(saw(&t, SA_START, 2) || saw(&t, SA_START, 3) ||
	    saw(&t, SA_START, 6));
	while (!sched_done(&t.s)) {
		uint32_t i;

		for (i = 0; i < 7; i++)
			if (t.ss[i].status == ST_RUNNING)
				sched_finished(&t.s, i, ST_SUCCEEDED, 0, 3);
		drain(&t, 3);
	}
	CHECK(t.ss[2].status == ST_SUCCEEDED && t.ss[3].status ==
	    ST_SUCCEEDED && t.ss[6].status == ST_SUCCEEDED);
	CHECK(t.ss[1].status == ST_PENDING && t.ss[5].status == ST_PENDING);
	CHECK(sched_status(&t.s) == RUN_CANCELLED);
	tg_free(&t);

	/* A failure that stops the run: the cleanup of a step that never
	 * started runs (it used to wait for it for ever); with abort too. */
	for (onf = ONF_STOP; onf <= ONF_ABORT; onf += ONF_ABORT - ONF_STOP) {
		static const uint32_t e2[][2] = { { 2, 0 }, { 2, 1 } };

		tg_init(&t, 3, e2, nitems(e2));
		t.g.slots = 1;
		t.g.on_failure = onf;
		t.pol[2].trigger = TRIG_ALL_DONE;
		tg_start(&t);
		sched_begin(&t.s);
		drain(&t, 0);
		CHECK(saw(&t, SA_START, 0));
		(void)fail_at(&t, 0, ST_FAILED, 1, 1);
		CHECK(saw(&t, SA_START, 2) && !saw(&t, SA_START, 1));
		CHECK(sched_status_now(&t.s) == RUN_FAILED);
		(void)fail_at(&t, 2, ST_SUCCEEDED, 0, 2);
		CHECK(sched_done(&t.s) && t.ss[1].status == ST_PENDING);
		tg_free(&t);
	}
	printf("exit handlers: a need killed fails, one never started did "
	    "not run\n");
}

static void
test_targets_when(void)
{
	static const uint32_t e[2][2] = { { 1, 0 }, { 2, 0 } };
	struct tg t;

	/* --target 1: 2 is not part of the run. */
	tg_init(&t, 3, e, 2);
	t.ss[2].selected = 0;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	sched_finished(&t.s, 0, ST_SUCCEEDED, 0, 0);
	drain(&t, 0);
	CHECK(saw(&t, SA_START, 1) && !saw(&t, SA_START, 2));
	sched_finished(&t.s, 1, ST_SUCCEEDED, 0, 0);
	drain(&t, 0);
	CHECK(sched_done(&t.s) && sched_status(&t.s) == RUN_SUCCEEDED &&
	    t.ss[2].status == ST_PENDING);
	tg_free(&t);

	/* when false: skipped, the attempt not counted; the skip cascades
	 * to all_success dependents, naming the need; none_failed ones go
	 * on. */
	tg_init(&t, 3, e, 2);
	t.pol[2].trigger = TRIG_NONE_FAILED;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	sched_skip(&t.s, 0, "when is false");
	drain(&t, 0);
	CHECK(t.ss[0].status == ST_SKIPPED && t.ss[0].attempts == 0);
	CHECK(saw(&t, SA_SKIP, 0) && saw(&t, SA_SKIP, 1) &&
	    saw(&t, SA_START, 2));
	CHECK(t.ss[1].status == ST_SKIPPED && find(&t, SA_SKIP, 1)->need == 0 &&
	    strcmp(find(&t, SA_SKIP, 1)->why, "need %s was skipped") == 0);
	CHECK(find(&t, SA_SKIP, 0)->need == SCHED_NONE);
	tg_free(&t);
	printf("targets, when\n");
}

static void
test_resume(void)
{
	static const uint32_t e[2][2] = { { 2, 1 }, { 4, 3 } };
	struct tg t;
	int k;

	/* 0 succeeded, 1 failed its 3 attempts, 2 upstream_failed, 3
	 * skipped, 4 was running when dag-run died. */
	tg_init(&t, 5, e, 2);
	set_outcome(&t.ss[0], O_OK);
	set_outcome(&t.ss[1], O_FAILED);
	t.ss[1].attempts = 3;
	set_outcome(&t.ss[2], O_UPFAIL);
	set_outcome(&t.ss[3], O_SKIPPED);
	t.ss[4].status = ST_RUNNING;
	t.ss[4].attempts = 1;
	t.pol[1].attempts = 3;
	t.pol[1].delay = 0;
	t.g.slots = 2;
	tg_start(&t);
	sched_resume(&t.s);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(saw(&t, SA_RESET, 1) && saw(&t, SA_RESET, 2) &&
	    saw(&t, SA_RESET, 4));
	CHECK(!saw(&t, SA_RESET, 0) && !saw(&t, SA_RESET, 3));
	CHECK(saw(&t, SA_START, 1) && t.ss[1].attempts == 4);
	/* A full budget again: attempts 4, 5, 6. */
	for (k = 0; k < 2; k++) {
		CHECK(fail_at(&t, 1, ST_FAILED, 1, 0)->kind == SA_RETRY);
		sched_tick(&t.s, 0);
		drain(&t, 0);
	}
	CHECK(fail_at(&t, 1, ST_FAILED, 1, 0)->kind == SA_FINAL &&
	    t.ss[1].attempts == 6);
	CHECK(saw(&t, SA_SKIP, 2) && t.ss[2].status == ST_UPSTREAM_FAILED);
	tg_free(&t);

	/* dag-step: one step run again whatever it was. */
	tg_init(&t, 2, e, 0);
	set_outcome(&t.ss[0], O_OK);
	t.ss[1].selected = 0;
	tg_start(&t);
	sched_reset(&t.s, 0, 1, NULL);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(saw(&t, SA_RESET, 0) && saw(&t, SA_START, 0) &&
	    t.ss[0].attempts == 2);
	tg_free(&t);

	/* The exit handlers of a step run again are decided again: 2
	 * (all_done [1]) and 3 (one_failed [1]) ran after 1 failed; 4
	 * (all_done [0]) watched only what succeeded. */
	{
		static const uint32_t e3[][2] = { { 2, 1 }, { 3, 1 },
		    { 4, 0 } };

		tg_init(&t, 5, e3, nitems(e3));
		set_outcome(&t.ss[0], O_OK);
		set_outcome(&t.ss[1], O_FAILED);
		set_outcome(&t.ss[2], O_OK);
		set_outcome(&t.ss[3], O_OK);
		set_outcome(&t.ss[4], O_OK);
		t.pol[2].trigger = t.pol[4].trigger = TRIG_ALL_DONE;
		t.pol[3].trigger = TRIG_ONE_FAILED;
		tg_start(&t);
		sched_resume(&t.s);
		sched_begin(&t.s);
		drain(&t, 0);
		CHECK(saw(&t, SA_RESET, 1) && saw(&t, SA_RESET, 2) &&
		    saw(&t, SA_RESET, 3) && !saw(&t, SA_RESET, 4));
		(void)fail_at(&t, 1, ST_SUCCEEDED, 0, 1);
		CHECK(saw(&t, SA_START, 2) && saw(&t, SA_SKIP, 3));
		tg_free(&t);
	}
	printf("resume: resets, a fresh retry budget, attempts go on, exit "
	    "handlers decided again\n");
}

/*
 * Resume from a real journal: the statuses journal_replay restores are
 * what the scheduler starts from (a, succeeded, stays; b failed its two
 * attempts and gets two more; c, upstream_failed, is decided again).
 */
static void
test_resume_journal(void)
{
	static const char doc[] = "{\"steps\": [{\"id\": \"a\", \"run\": "
	    "\"true\"}, {\"id\": \"b\", \"needs\": [\"a\"], \"run\": \"false\", "
	    "\"retry\": {\"attempts\": 2, \"delay\": 0}}, {\"id\": \"c\", "
	    "\"needs\": [\"b\"], \"run\": \"true\"}]}";
	static const char journal[] =
	    "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"run\":\"r\",\"event\":\"run_started\",\"dag\":\"t\",\"params\":{}}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.001Z\",\"run\":\"r\",\"event\":\"step_started\",\"step\":\"a\",\"attempt\":1,\"pid\":9}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.002Z\",\"run\":\"r\",\"event\":\"step_finished\",\"step\":\"a\",\"attempt\":1,\"status\":\"succeeded\",\"exit_code\":0}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.003Z\",\"run\":\"r\",\"event\":\"step_started\",\"step\":\"b\",\"attempt\":1,\"pid\":10}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.004Z\",\"run\":\"r\",\"event\":\"step_finished\",\"step\":\"b\",\"attempt\":1,\"status\":\"failed\",\"exit_code\":1,\"retry\":true}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.005Z\",\"run\":\"r\",\"event\":\"step_started\",\"step\":\"b\",\"attempt\":2,\"pid\":11}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.006Z\",\"run\":\"r\",\"event\":\"step_finished\",\"step\":\"b\",\"attempt\":2,\"status\":\"failed\",\"exit_code\":1}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.007Z\",\"run\":\"r\",\"event\":\"step_skipped\",\"step\":\"c\",\"status\":\"upstream_failed\",\"reason\":\"x\"}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.008Z\",\"run\":\"r\",\"event\":\"run_finished\",\"status\":\"failed\"}\n"
	    "{\"ts\":\"2026-01-01T00:00:00.009Z\",\"run\":\"r\",\"eve";	/* torn */
	struct sched_action a;
	struct sched_graph sg;
	struct runstate rs;
	struct diag d;
	struct sched s;
	struct dag *g;
	int resets = 0, k;

	diag_init(&d, "t");
	g = dag_load_buf(strdup(doc), sizeof(doc) - 1, "t", "t", 0, &d);
	CHECK(g != NULL);
	if (g == NULL) {
		diag_release(&d);
		return;
	}
	state_init(&rs, g);
	CHECK(journal_replay(journal, sizeof(journal) - 1, g, &rs) == 9);
	CHECK(rs.status == RUN_FAILED && rs.s[0].status == ST_SUCCEEDED &&
	    rs.s[1].status == ST_FAILED && rs.s[1].attempts == 2 &&
	    rs.s[2].status == ST_UPSTREAM_FAILED);
	sg = (struct sched_graph){ g->n, g->nstatic, g->need_off, g->need,
	    g->dep_off,
	    g->dep, g->order, &g->s[0].pol, sizeof(g->s[0]), NULL, 0, NULL,
	    g->on_failure, 2, 7 };
	sched_init(&s, &sg, rs.s);
	sched_resume(&s);
	sched_begin(&s);
	while (sched_next(&s, 0, &a)) {
		resets += a.kind == SA_RESET;
		CHECK(a.kind != SA_RESET || a.step != 0);
	}
	CHECK(resets == 2 && rs.s[1].status == ST_RUNNING &&
	    rs.s[1].attempts == 3 && rs.s[2].status == ST_PENDING);
	for (k = 0; k < 2; k++) {
		sched_finished(&s, 1, ST_FAILED, 1, 0);
		CHECK(sched_next(&s, 0, &a) && a.kind == (k == 0 ? SA_RETRY :
		    SA_FINAL));
		sched_tick(&s, 0);
		while (sched_next(&s, 0, &a))
			;
	}
	CHECK(rs.s[1].attempts == 4 && rs.s[2].status == ST_UPSTREAM_FAILED);
	CHECK(sched_done(&s) && sched_status(&s) == RUN_FAILED);
	sched_release(&s);
	state_release(&rs);
	dag_free(g);
	diag_release(&d);
	printf("resume: from a journal replayed, torn last line and all\n");
}

static void
test_close_status(void)
{
	static const uint32_t e[4][2] = { { 2, 1 }, { 3, 0 }, { 4, 1 },
	    { 5, 0 } };
	struct sstate ss[3];
	struct tg t;

	/* dag-step --finish: 0 succeeded, 1 failed; 2 all_success on 1,
	 * 3 on 0, 4 one_failed on 1, 5 all_failed on 0. */
	tg_init(&t, 6, e, 4);
	set_outcome(&t.ss[0], O_OK);
	set_outcome(&t.ss[1], O_FAILED);
	t.pol[4].trigger = TRIG_ONE_FAILED;
	t.pol[5].trigger = TRIG_ALL_FAILED;
	tg_start(&t);
	sched_close(&t.s, "never run");
	drain(&t, 0);
	CHECK(t.ss[2].status == ST_UPSTREAM_FAILED);
	CHECK(t.ss[3].status == ST_CANCELLED && find(&t, SA_SKIP, 3)->why !=
	    NULL && strcmp(find(&t, SA_SKIP, 3)->why, "never run") == 0);
	CHECK(t.ss[4].status == ST_CANCELLED);
	CHECK(t.ss[5].status == ST_SKIPPED);
	CHECK(count(&t, SA_START) == 0);
	tg_free(&t);

	/* A step a dead dag-step left running is abandoned first: what
	 * needs it is decided from that. */
	tg_init(&t, 6, e, 4);
	set_outcome(&t.ss[0], O_OK);
	t.ss[1].status = ST_RUNNING;
	t.ss[1].attempts = 1;
	tg_start(&t);
	sched_abandon(&t.s, 1, "died");
	sched_abandon(&t.s, 0, "not running: no-op");
	sched_close(&t.s, "never run");
	drain(&t, 0);
	CHECK(t.ss[1].status == ST_CANCELLED && t.ss[0].status ==
	    ST_SUCCEEDED);
	CHECK(t.ss[2].status == ST_UPSTREAM_FAILED && t.ss[4].status ==
	    ST_UPSTREAM_FAILED && t.ss[3].status == ST_CANCELLED);
	CHECK(find(&t, SA_SKIP, 1) != NULL && strcmp(find(&t, SA_SKIP,
	    1)->why, "died") == 0);
	CHECK(sched_status_of(t.ss, 6, STOP_NONE) == RUN_FAILED);
	tg_free(&t);

	/* The status of a recorded run, as dag-step recomputes it. */
	memset(ss, 0, sizeof(ss));
	ss[0].selected = ss[1].selected = ss[2].selected = 1;
	set_outcome(&ss[0], O_OK);
	set_outcome(&ss[1], O_OK);
	set_outcome(&ss[2], O_OK);
	CHECK(sched_restatus(ss, 3, RUN_FAILED) == RUN_SUCCEEDED);
	CHECK(sched_restatus(ss, 3, RUN_TIMED_OUT) == RUN_SUCCEEDED);
	set_outcome(&ss[2], O_FAILED);
	CHECK(sched_restatus(ss, 3, RUN_SUCCEEDED) == RUN_FAILED);
	set_outcome(&ss[2], O_ALLOWED);
	CHECK(sched_restatus(ss, 3, RUN_SUCCEEDED) == RUN_SUCCEEDED);
	set_outcome(&ss[2], O_CANCELLED);
	CHECK(sched_restatus(ss, 3, RUN_CANCELLED) == RUN_CANCELLED);
	CHECK(sched_restatus(ss, 3, RUN_SUCCEEDED) == RUN_FAILED);
	ss[2].status = ST_PENDING;
	CHECK(sched_restatus(ss, 3, RUN_RUNNING) == RUN_RUNNING);
	CHECK(sched_restatus(ss, 3, RUN_TIMED_OUT) == RUN_TIMED_OUT);
	CHECK(sched_restatus(ss, 3, RUN_FAILED) == RUN_FAILED);
	ss[2].selected = 0;
	CHECK(sched_restatus(ss, 3, RUN_RUNNING) == RUN_SUCCEEDED);
	printf("dag-step --finish, run status\n");
}

struct chain {
	uint32_t	n;
	int		ok;
	double		secs;
};

/* A failing chain of c->n steps settles in one loop. */
static void *
chain_run(void *arg)
{
	struct chain *c = arg;
	uint32_t (*e)[2], i, n = c->n, bad = 0;
	struct timespec t0, t1;
	struct tg t;

	if ((e = calloc(n, sizeof(*e))) == NULL)
		abort();
	for (i = 1; i < n; i++) {
		e[i - 1][0] = i;
		e[i - 1][1] = i - 1;
	}
	tg_init(&t, n, (const uint32_t (*)[2])e, n - 1);
	free(e);
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	sched_finished(&t.s, 0, ST_FAILED, 1, 0);
	while (sched_next(&t.s, 0, &t.log[0]))
		bad += t.log[0].kind == SA_SKIP;
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	c->secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	c->ok = bad == n - 1 && t.ss[n - 1].status == ST_UPSTREAM_FAILED &&
	    sched_done(&t.s) && sched_status(&t.s) == RUN_FAILED;
	tg_free(&t);
	return NULL;
}

static void
test_chain(void)
{
	struct chain c = { 1000000, 0, 0 };
	pthread_attr_t a;
	pthread_t th;

	/* On a 256 KiB stack: a frame per step would need ~100 MB. */
	CHECK(pthread_attr_init(&a) == 0);
	CHECK(pthread_attr_setstacksize(&a, 256 * 1024) == 0);
	CHECK(pthread_create(&th, &a, chain_run, &c) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	pthread_attr_destroy(&a);
	CHECK(c.ok);
	printf("chain: 1,000,000 steps, the first fails: settled in %.3f s "
	    "on a 256 KiB stack\n", c.secs);
}

/*
 * Appends k instances of foreach step h to t, as foreach.c does to a
 * DAG (pol copied, parent h; no needs the scheduler would read), into
 * m, and hands the grown arrays to the scheduler.
 */
static void
tg_instances(struct tg *t, uint32_t h, uint32_t k, uint32_t *m)
{
	uint32_t n = t->n + k, i;

	t->pol = realloc(t->pol, n * sizeof(*t->pol));
	t->ss = realloc(t->ss, n * sizeof(*t->ss));
	t->need_off = realloc(t->need_off, (n + 1) * sizeof(uint32_t));
	t->dep_off = realloc(t->dep_off, (n + 1) * sizeof(uint32_t));
	if (t->pol == NULL || t->ss == NULL || t->need_off == NULL ||
	    t->dep_off == NULL)
		abort();
	for (i = t->n; i < n; i++) {
		t->pol[i] = t->pol[h];
		t->pol[i].parent = h;
		t->pol[i].grp = 0;
		memset(&t->ss[i], 0, sizeof(t->ss[i]));
		t->ss[i].exit_code = -1;
		t->ss[i].selected = 1;
		t->need_off[i + 1] = t->need_off[i];
		t->dep_off[i + 1] = t->dep_off[i];
		m[i - t->n] = i;
	}
	t->n = t->g.n = n;
	t->g.need_off = t->need_off;
	t->g.dep_off = t->dep_off;
	t->g.pol = t->pol;
	sched_grow(&t->s, &t->g, t->ss);
}

static void
test_fanout(void)
{
	/* 0 is a foreach step; 1 one_failed, 2 all_success, 3 all_failed
	 * on it. */
	static const uint32_t e[][2] = { { 1, 0 }, { 2, 0 }, { 3, 0 } };
	static const uint32_t e2[][2] = { { 2, 0 }, { 2, 1 } };
	const struct sched_action *a;
	struct tg t;
	uint32_t m[3];

	tg_init(&t, 4, e, nitems(e));
	t.pol[1].trigger = TRIG_ONE_FAILED;
	t.pol[3].trigger = TRIG_ALL_FAILED;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(saw(&t, SA_START, 0) && count(&t, SA_START) == 1);
	tg_instances(&t, 0, 3, m);
	sched_expand(&t.s, 0, m, 3);
	drain(&t, 1);
	/* Its slot is free: the instances start, it stays running. */
	CHECK(count(&t, SA_START) == 3 && t.s.running == 3 &&
	    t.ss[0].status == ST_RUNNING);
	(void)fail_at(&t, 4, ST_SUCCEEDED, 0, 2);
	/* all_failed gives up at the first success; one_failed waits. */
	CHECK(t.ss[1].status == ST_PENDING && t.ss[3].status == ST_SKIPPED &&
	    t.ss[2].status == ST_PENDING);
	/* Each instance is a need: one_failed fires at the first failure,
	 * all_success gives up, before the last instance ends. */
	(void)fail_at(&t, 5, ST_FAILED, 1, 3);
	CHECK(saw(&t, SA_START, 1) && t.ss[2].status == ST_UPSTREAM_FAILED);
	(void)fail_at(&t, 6, ST_SUCCEEDED, 0, 4);
	a = find(&t, SA_FINAL, 0);
	CHECK(a != NULL && a->status == ST_FAILED && t.ss[0].status ==
	    ST_FAILED);
	tg_free(&t);

	/* Zero items: the step is skipped, and the skip cascades. */
	tg_init(&t, 4, e, nitems(e));
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	sched_skip(&t.s, 0, "no items");
	drain(&t, 1);
	CHECK(t.ss[0].status == ST_SKIPPED && t.ss[2].status == ST_SKIPPED &&
	    t.ss[1].status == ST_SKIPPED);
	tg_free(&t);

	/* A failure stops the run before the instances start: they do not
	 * start, the step ends cancelled, the all_done cleanup runs. */
	tg_init(&t, 3, e2, nitems(e2));
	t.g.slots = 2;
	t.pol[2].trigger = TRIG_ALL_DONE;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	CHECK(saw(&t, SA_START, 0) && saw(&t, SA_START, 1));
	tg_instances(&t, 1, 2, m);
	sched_expand(&t.s, 1, m, 2);
	(void)fail_at(&t, 0, ST_FAILED, 1, 1);
	CHECK(!saw(&t, SA_START, 3) && !saw(&t, SA_START, 4));
	a = find(&t, SA_FINAL, 1);
	CHECK(a != NULL && a->status == ST_CANCELLED && saw(&t, SA_START, 2));
	(void)fail_at(&t, 2, ST_SUCCEEDED, 0, 2);
	CHECK(sched_done(&t.s) && t.ss[3].status == ST_PENDING);
	tg_free(&t);

	/* fail_fast, one slot: the first failure cancels the rest. */
	tg_init(&t, 1, NULL, 0);
	t.g.slots = 1;
	t.pol[0].fail_fast = 1;
	tg_start(&t);
	sched_begin(&t.s);
	drain(&t, 0);
	tg_instances(&t, 0, 3, m);
	sched_expand(&t.s, 0, m, 3);
	drain(&t, 1);
	CHECK(count(&t, SA_START) == 1);
	(void)fail_at(&t, t.log[0].step, ST_FAILED, 1, 2);
	CHECK(count(&t, SA_SKIP) == 2 && t.ss[0].status == ST_FAILED &&
	    !saw(&t, SA_START, 2) && !saw(&t, SA_START, 3));
	tg_free(&t);
	printf("fan-out: instances as needs, zero items, a stop, fail_fast\n");
}

int
main(void)
{
	test_triggers();
	test_triggers_early();
	test_slots_pools_order();
	test_retries();
	test_on_failure();
	test_retry_queued();
	test_stops();
	test_handlers_unrun();
	test_targets_when();
	test_resume();
	test_resume_journal();
	test_close_status();
	test_chain();
	test_fanout();
	printf("sched: %d checks, %d failed\n", checks, fails);
	return fails != 0;
}
