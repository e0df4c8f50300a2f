#ifndef ATTEMPT_H
#define ATTEMPT_H

#include <stdint.h>
#include <sys/types.h>

#include "capture.h"

struct cache;
struct cache_probe;
struct capset;
struct dag;
struct diag;
struct envv;
struct journal;
struct execctx;
struct procset;

/*
 * One attempt of one step, the same in dag-run and dag-step: its jq
 * evaluation in a forked child (when, input, templates; or a transform),
 * the command, its output check, its timeout and the kill that follows,
 * and the result.  A state machine: each event (the process ended, a
 * timer fired, the run wants it killed) goes through a [state][event]
 * table of small handlers, and says what came of it: nothing to tell, a
 * process started (to journal), or the attempt is over (its result).
 */
enum attempt_state {
	AT_FREE,	/* no attempt */
	AT_PREPARING,	/* evaluator: when, input, templates */
	AT_TRANSFORMING, /* evaluator: the transform is the command */
	AT_RUNNING,	/* the command */
	AT_CHECKING,	/* evaluator: output and check */
	AT_TERMINATING,	/* SIGTERM sent, kill_grace running */
	AT_CANCELLING,	/* slurm: scancel sent, srun gets another grace */
	AT_KILLED,	/* SIGKILL sent */
	AT__N
};

/* Why an attempt is being stopped. */
enum attempt_kill { AK_NONE, AK_TIMEOUT, AK_CANCEL, AK_DEADLINE, AK_ABORT };

/* What an event came to. */
enum attempt_news { AN_NONE, AN_STARTED, AN_DONE };

struct attempt_result {
	uint8_t		 status;	/* enum step_status; skipped: when */
	uint8_t		 syserr;	/* the machine's fault, not the step */
	uint8_t		 output;	/* output.json written */
	uint8_t		 bignum;	/* a number past 2^53 went through jq */
	int		 exit_code;	/* -1: none */
	int		 signal;	/* 0: none */
	long		 expand;	/* a foreach step's items, or -1 */
	char		*reason;	/* malloc'd, or NULL */
};

/* What every attempt borrows from the runner. */
struct attempt_ctx {
	const struct dag	*g;
	struct execctx		*x;
	struct procset		*ps;
	struct capset		*cs;
	const struct envv	*base;		/* the steps' environment */
	const char		*run_env;	/* DAG_RUN_ID=, DAG_RUN_DIR= */
	int			 empty;		/* sealed memfd holding {} */
	const char		*empty_path;	/* /proc/<pid>/fd/<empty> */
	struct diag		*news;		/* what the user should hear */
	struct cache		*cache;		/* NULL: none (dag-step) */
	struct journal		*jr;		/* flushed before a cacheable
						   step spawns (runner.c) */
};

struct attempt {
	uint32_t	 step;
	uint32_t	 tag;		/* its procset tag and timer key */
	uint8_t		 state;		/* enum attempt_state */
	uint8_t		 eval;		/* pid is a forked evaluator */
	uint8_t		 kill;		/* enum attempt_kill */
	uint8_t		 has_input;	/* 1 input.json, 2 the sealed {} */
	pid_t		 pid;		/* the process (group) now, 0 none */
	int		 memfd;		/* the evaluator's result */
	int64_t		 timer;		/* next deadline, mono ms, 0 none */
	struct capture	 cap;
	struct attempt_result res;
	struct cache_probe *probe;	/* the cache's key of this attempt,
					   for a success to record */
	char		*explain;	/* --explain's line, for the runner
					   to print (malloc'd) */
};

/* The attempt in slot tag is free. */
void	attempt_init(struct attempt *, uint32_t tag);
/*
 * Starts an attempt of step (the scheduler counted it already) at mono
 * ms now.  Returns AN_STARTED when a process is journal-worthy (its pid
 * in a->pid), AN_DONE when it ended already (a->res), AN_NONE when an
 * evaluator runs first.
 */
int	attempt_begin(struct attempt *, const struct attempt_ctx *,
	    uint32_t step, int64_t now);
/* a->pid ended with wait status ws. */
int	attempt_exit(struct attempt *, const struct attempt_ctx *, int ws,
	    int64_t now);
/* a->timer is due. */
int	attempt_timer(struct attempt *, const struct attempt_ctx *,
	    int64_t now);
/* The run stops it: why is AK_CANCEL, AK_DEADLINE or AK_ABORT. */
int	attempt_kill(struct attempt *, const struct attempt_ctx *, int why,
	    int64_t now);
/* A second signal: SIGKILL at once (a SLURM job: scancel, and SIGKILL
 * to srun a second later if it is still there; a->timer is set then). */
void	attempt_kill_now(struct attempt *, const struct attempt_ctx *,
	    int64_t now);
/* After AN_DONE: the result is taken, the slot free again. */
void	attempt_release(struct attempt *);
/* 1 if step i runs under the built-in slurm launcher. */
int	attempt_is_slurm(const struct dag *, uint32_t i);

#endif
