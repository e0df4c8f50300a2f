#ifndef SCHED_H
#define SCHED_H

#include <stdint.h>

#include "heap.h"

struct sstate;

enum trigger {
	TRIG_ALL_SUCCESS, TRIG_ALL_DONE, TRIG_ALL_FAILED, TRIG_ONE_FAILED,
	TRIG_ONE_SUCCESS, TRIG_NONE_FAILED
};
enum on_failure { ONF_STOP, ONF_CONTINUE, ONF_ABORT };

/*
 * The scheduler: what may run next, and the run's lifecycle, with no
 * processes, files, clocks or printing (ninja's Plan).  It is told what
 * happened (an attempt ended, time passed, the run must stop) and answers
 * with actions (start step i, step i was skipped, kill step i, retry step
 * i in d ms, step i ended), which the runner applies.  The same scheduler
 * serves dag-run, --resume, dag-step and dag-step --finish, so a step's
 * trigger, its retries and the run's status are decided in one place.
 *
 * Statuses live in the caller's struct sstate array (state.h): the
 * scheduler writes status, attempts and allowed there, and reads selected;
 * everything else in it is the runner's bookkeeping.
 */

/* What the scheduler needs to know of one step: embedded in struct step. */
struct sched_step {
	uint8_t		 trigger;	/* enum trigger */
	uint8_t		 allow_failure;
	uint8_t		 jitter;
	uint8_t		 fail_fast;	/* an instance's failure cancels the
					   others of its foreach */
	int32_t		 pool;		/* index or -1 */
	uint32_t	 pool2;		/* its foreach's max_parallel pool, or
					   SCHED_NONE */
	uint32_t	 parent;	/* an instance's foreach step, whose
					   dependents are its own; SCHED_NONE */
	uint32_t	 grp;		/* an instance's group (fail_fast), or
					   SCHED_NONE */
	uint32_t	 attempts;	/* per invocation, the first included */
	double		 delay, factor, max_delay, max_duration;  /* seconds */
	uint8_t		*exit_codes;	/* 256 flags, or NULL: any failure */
};

/* The graph and the run's policy, all borrowed. */
struct sched_graph {
	uint32_t		 n;		/* steps and instances */
	uint32_t		 nstatic;	/* those of the CSR and order */
	const uint32_t		*need_off, *need;	/* CSR */
	const uint32_t		*dep_off, *dep;		/* CSR */
	const uint32_t		*order;		/* topological, or NULL */
	const struct sched_step	*pol;		/* step i's: pol + i * stride */
	size_t			 stride;	/* in bytes */
	const int64_t		*rank;		/* priority; NULL: by index */
	uint32_t		 npools;
	const uint32_t		*pool_cap;
	int			 on_failure;	/* enum on_failure */
	uint32_t		 slots;		/* steps in flight, >= 1 */
	uint64_t		 seed;		/* of the jitter, not 0 */
};

/* Why the run stops starting steps, weakest first: a cancel outranks a
 * deadline, as the run's status and exit say. */
enum sched_stop {
	STOP_NONE, STOP_FAILURE, STOP_ABORT, STOP_SYSERR, STOP_DEADLINE,
	STOP_CANCEL
};

enum sched_act {
	SA_START,	/* start an attempt of step (status running) */
	SA_SKIP,	/* step decided without running: status, why */
	SA_RETRY,	/* an attempt ended (status) and another comes in ms */
	SA_FINAL,	/* step ended with status; why set: the scheduler ended
			   it (a wait cut short), and it has no exit code */
	SA_KILL,	/* terminate step's attempt: reason (STOP_*) */
	SA_RESET	/* step is pending again (resume, dag-step) */
};

struct sched_action {
	uint8_t		 kind;		/* enum sched_act */
	uint8_t		 status;	/* enum step_status */
	uint8_t		 reason;	/* SA_KILL: enum sched_stop */
	uint32_t	 step;
	int64_t		 ms;		/* SA_RETRY: the delay */
	const char	*why;		/* static text, or NULL; with need
					   set, a format whose %s is its id */
	uint32_t	 need;		/* SA_SKIP: the need that decided,
					   or SCHED_NONE */
};
#define SCHED_NONE	UINT32_MAX

/* Per step: the counts of its needs' outcomes and its retry state. */
struct sched_node {
	uint32_t	 nok, nskip, nbad;	/* needs ended so */
	uint32_t	 nnot;		/* needs that will not run: the run
					   stopped before they started */
	uint32_t	 base;		/* attempts before this invocation */
	int64_t		 t_first;	/* first attempt of this invocation */
	int64_t		 wake;		/* retry_wait: until when */
	uint8_t		 queued;	/* in the ready heap or a pool's */
	uint8_t		 retrying;	/* queued again after a retry wait */
	uint8_t		 began;		/* t_first is set */
	uint8_t		 wait_st;	/* retry_wait: how the attempt ended */
	uint8_t		 unrun;		/* pending, and will not start in
					   this invocation */
	uint8_t		 dormant;	/* an instance of an expansion that is
					   not (yet) this invocation's */
	uint8_t		 expanded;	/* a foreach step whose instances run */
	uint32_t	 extra;		/* needs beyond the CSR's: a foreach
					   need counts each instance */
	uint32_t	 left;		/* expanded: instances not ended */
	uint32_t	 gok, gfail, gallow, gupfail, gcancel;	/* expanded:
					   how its instances ended */
};

struct sched {
	struct sched_graph	 g;
	struct sstate		*ss;
	struct sched_node	*v;
	struct heap		 ready;
	struct heap		*poolq;		/* per pool: waiting for room */
	uint32_t		*pool_used;
	struct heap		 waits;		/* retry_wait steps by wake */
	struct sched_action	*q;		/* actions not yet taken */
	size_t			 qhead, qtail, qcap;
	uint32_t		*work;		/* ended steps to propagate */
	uint32_t		 whead, wtail;
	uint32_t		 running, waiting;
	uint64_t		 rng;
	uint8_t			 stop;		/* strongest enum sched_stop */
	uint8_t			 stopping;	/* no new non-handler starts */
	uint8_t			 aborting;
	uint8_t			 syserr;
	uint8_t			 frozen;	/* decide nothing more */
	uint8_t			 failed;	/* a failure not yet acted on */
	uint8_t			 failures;	/* a step failed the run */
	uint8_t			 closing;	/* cancelled or timed out: only
						   exit handlers start */
	uint8_t			 cancelled;	/* a STOP_CANCEL came */
	uint8_t			 unrun_due;	/* mark what will not start */
	uint8_t			 no_handlers;	/* caller's: a cancel or a
						   deadline starts nothing */
	uint32_t		 nopen;		/* foreach steps expanded whose
						   instances have not all ended */
	uint8_t			 paused;	/* caller's: nothing starts,
						   but exit handlers once
						   the run is cancelled or
						   timed out */
};

/*
 * Prepares a scheduler over g (copied; its arrays borrowed) and ss, the
 * statuses of g->n steps as the journal left them.  Each step's retry
 * budget starts afresh from its recorded attempts.  Nothing is decided
 * until sched_begin.  O(V + E).
 */
void	 sched_init(struct sched *, const struct sched_graph *,
	    struct sstate *ss);
void	 sched_release(struct sched *);
/*
 * The priorities are now rank (the scheduler borrows it, as it did the
 * first): the ready and pool queues are ordered again.  O(V log V).
 */
void	 sched_rerank(struct sched *, const int64_t *rank);
/*
 * Makes step i pending again if it is selected and did not succeed or get
 * skipped (all = 0), or whatever it is (all = 1, dag-step): an SA_RESET,
 * with why (static text, or NULL).
 * Only before sched_begin.
 */
void	 sched_reset(struct sched *, uint32_t i, int all, const char *why);
/* --resume: sched_reset of every step. */
void	 sched_resume(struct sched *);
/* Decides every selected pending step whose needs allow it.  O(V + E). */
void	 sched_begin(struct sched *);
/*
 * The next action, into *a: those queued first, then starts of ready
 * steps while slots and pools have room.  Returns 1, or 0 when there is
 * nothing to do now.  now: monotonic ms (max_duration counts from the
 * first start).  O(log V) per start.
 */
int	 sched_next(struct sched *, int64_t now, struct sched_action *a);
/*
 * An attempt of running step i ended with status st (succeeded, failed,
 * timed_out, cancelled) and exit code (-1: none).  Then comes an SA_RETRY
 * or an SA_FINAL for i, and what that decides for the others.
 */
void	 sched_finished(struct sched *, uint32_t i, int st, int code,
	    int64_t now);
/* Running step i will not run after all (its when is false). */
void	 sched_skip(struct sched *, uint32_t i, const char *why);
/*
 * What a foreach step's instances m[0 .. n) add up to, ended as ss says
 * (one pending counts as not run): failed if one failed the run, else
 * upstream_failed, cancelled, skipped (all were), failed but *allowed,
 * or succeeded; *why says why (static, or NULL).  As the scheduler ends
 * the step, for dag-step to do the same.
 */
int	 sched_group_status(const struct sstate *ss, const uint32_t *m,
	    uint32_t n, const char **why, int *allowed);
/* dag-step: instance i runs on its own, its foreach step not expanding
 * again.  Before sched_begin. */
void	 sched_adopt(struct sched *, uint32_t i);
/*
 * The caller's arrays grew to g->n steps (new instances at the end): the
 * scheduler takes g's arrays (not its slots, pools or seed) and ss.  The
 * new steps are dormant until an expansion names them.
 */
void	 sched_grow(struct sched *, const struct sched_graph *g,
	    struct sstate *ss);
/*
 * Running foreach step h expanded into m[0 .. n), n >= 1 (instances whose
 * pol.parent is h): its slot is free again, they are decided as steps of
 * their own (one that has ended already, kept from an earlier run, counts
 * at once), and h's dependents count each instead of h.  h ends when they
 * all have, with what they add up to.
 */
void	 sched_expand(struct sched *, uint32_t h, const uint32_t *m,
	    uint32_t n);
/* The earliest retry due, in monotonic ms, or -1. */
int64_t	 sched_wake(const struct sched *);
/* Ends the retry waits due by now: each step is ready again. */
void	 sched_tick(struct sched *, int64_t now);
/*
 * The run must stop.  STOP_SYSERR starts nothing more, not even a
 * handler.  STOP_ABORT kills what runs; exit handlers (all_done,
 * one_failed, all_failed) may still start.  STOP_CANCEL (a signal) and
 * STOP_DEADLINE (the run's timeout) kill what runs but the handlers,
 * which go on, and let handlers whose needs are now decided start: a
 * need killed counts as failed, one that never started as not run (it
 * stays pending, for --resume).  A second STOP_CANCEL, or the first one
 * with no_handlers set, kills the handlers too and starts nothing more;
 * a deadline after a cancel changes nothing, and a first cancel after
 * the deadline lets the handlers go on (the run stays timed out).
 */
void	 sched_stop(struct sched *, int why);
/*
 * The run's status as it stands while steps still run, for the steps
 * that start now: cancelled, timed out, failed (a step failed the run)
 * or running.
 */
int	 sched_status_now(const struct sched *);
/*
 * dag-step --finish: step i, which the journal left running or waiting
 * to retry but whose process is gone, ends cancelled (why).  Before
 * sched_close.
 */
void	 sched_abandon(struct sched *, uint32_t i, const char *why);
/*
 * dag-step --finish: every selected step still pending gets the status
 * its needs now give it, cancelled when they would let it run.
 */
void	 sched_close(struct sched *, const char *why);
/* 1 when nothing runs, waits or can start: the run is over. */
int	 sched_done(const struct sched *);
/* The run's status (enum run_status) as its steps and stop make it. */
int	 sched_status(const struct sched *);
/* Whether a step that ended so fails the run: failed or timed out
 * without allow_failure, upstream_failed, cancelled. */
int	 sched_fails_run(const struct sstate *);
/*
 * The same rule for a run recorded so far: ss the statuses the journal
 * gives, prev its last recorded run status.  A run that was cancelled or
 * timed out keeps that status while a step shows it; a run still running
 * (another dag-step, or a dag-run that died) while a step has not ended.
 */
int	 sched_status_of(const struct sstate *ss, uint32_t n, int stop);
int	 sched_restatus(const struct sstate *ss, uint32_t n, int prev);
/* The delay before attempt+1 of a step, ms, drawing the jitter from s. */
int64_t	 sched_backoff(struct sched *, const struct sched_step *,
	    uint32_t attempt);

#endif
