#ifndef RUNNER_H
#define RUNNER_H

#include <stdint.h>

#include "attempt.h"
#include "cache.h"
#include "capture.h"
#include "diag.h"
#include "exec.h"
#include "heap.h"
#include "journal.h"
#include "plan.h"
#include "procset.h"
#include "progress.h"
#include "reaper.h"
#include "rundir.h"
#include "sched.h"
#include "spawn.h"
#include "state.h"

/*
 * What one dag-run or dag-step invocation works on: set up by run.c or
 * step.c, which own it, and borrowed by the runner.
 */
struct runctx {
	struct dag		*g;
	struct runstate		 rs;
	struct rundir		 rd;
	struct journal		 jr;
	struct execctx		 x;
	struct plan		 plan;
	char			*hist_runs;	/* history not read yet: the
						   first start reads it */
	struct progress		 pg;
	struct cache		 cache;	/* dag-run's; off for dag-step */
	struct diag		 news;	/* for run.c or step.c to print */
};

struct runner_opts {
	unsigned	 jobs;		/* slots, >= 1 */
	int		 declaration_order;
	int		 verbose;	/* -v: relay the steps' output */
	int		 single;	/* dag-step: no snapshot, no deadline */
	int		 no_handlers;	/* a cancel or deadline starts nothing */
};

/*
 * The engine's loop (ninja's Builder): it applies the scheduler's
 * actions, starts and ends attempts, and waits in poll(2) for the next
 * event: a signal (SIGCHLD among them), output, or the nearest deadline
 * (an attempt's, a retry's, a group kill's, the run's, the next run.json).
 */
struct runner {
	struct runctx		*c;
	struct sched		 sc;
	struct procset		 ps;
	struct reaper		 rp;
	struct capset		 cs;
	struct attempt_ctx	 ac;
	struct envv		 base;		/* the steps' environment */
	char			*run_env;
	int			 empty;		/* the sealed {} input */
	char			*empty_path;
	struct attempt		*att;		/* one per slot */
	uint32_t		*freeslot, nfree;
	uint32_t		 slots, room;	/* room: steps fds allow */
	uint32_t		*slot_of;	/* per step */
	int64_t			*t_attempt;	/* per step: attempt began */
	struct heap		 timers;	/* attempts' deadlines: slots */
	struct pollfd		*pfd;
	size_t			 pfdcap;
	int64_t			 deadline;	/* the run's, mono ms; 0 none */
	int64_t			 snap_at;	/* next run.json, 0: none due */
	int64_t			 snap_every;	/* ms */
	int			 single;
	int			 resumed;	/* runner_resume was called */
	int			 snapped;	/* run.json written once */
	int			 cancel_sig;	/* the first signal that came */
	pid_t			 cancel_by;	/* its sender, 0: the kernel */
	int64_t			 cancel_at;	/* when it came (monotonic ms) */
	int			 syserr;	/* exit 4 */
	int			 told_journal, told_snapshot, told_bignum;
};

void	runctx_init(struct runctx *);
void	runctx_release(struct runctx *);
/* The scheduler's view of c's DAG: borrows c->g and c->plan. */
void	runctx_graph(const struct runctx *, uint32_t slots, int decl_order,
	    struct sched_graph *);
/*
 * Records what action a (not a start or a kill) did to its step in the
 * step's state, the journal and the progress; secs: its attempt's time.
 */
void	runctx_record(struct runctx *, const struct sched_action *a,
	    double secs);
/* Writes run.json (after the journal's queued lines); 0 or -1 (errno). */
int	runctx_snapshot(struct runctx *);

/*
 * Takes signals, becomes subreaper, raises the fd limit, builds the
 * steps' environment and the scheduler over c (whose statuses the
 * journal gave).  0, or -1 with errno.
 */
int	runner_init(struct runner *, struct runctx *,
	    const struct runner_opts *);
void	runner_release(struct runner *);
/* --resume: steps that did not succeed or get skipped are reset. */
void	runner_resume(struct runner *);
/* dag-step, --rerun: step i runs again, whatever it was (why: static
 * text for the journal, or NULL). */
void	runner_rerun(struct runner *, uint32_t i, const char *why);
/* Writes run.json, arms the run's deadline (but for dag-step) and
 * decides what can be decided. */
void	runner_begin(struct runner *);
/*
 * One turn of the loop: applies what there is to do, then waits for the
 * next event.  Returns 0 to go on, 1 when the run is over, -1 when the
 * loop itself failed (errno).
 */
int	runner_turn(struct runner *);
/* Sweeps the strays steps left and writes the journal's last lines. */
void	runner_end(struct runner *);
/* The run's status (enum run_status). */
int	runner_status(const struct runner *);

#endif
