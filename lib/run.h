#ifndef RUN_H
#define RUN_H

#include <stdint.h>

struct runctx;
struct runner;

struct run_opts {
	const char	*input;		/* DAG or plan file, "-": stdin */
	const char	*runs;		/* --runs */
	const char	*run_dir;	/* --run-dir */
	const char	*run_id;	/* --run-id */
	const char	*resume;	/* --resume RUN */
	unsigned	 jobs;		/* -j, 0: max_parallel or CPUs */
	int		 keep_going;	/* -k */
	int		 no_handlers;	/* --no-handlers */
	int		 dry_run;	/* -n */
	int		 events;	/* --events */
	int		 json;		/* --json */
	int		 verbose;	/* -v */
	int		 quiet;		/* -q: no progress */
	int		 lock;		/* --lock */
	double		 lock_wait;	/* --lock-wait seconds */
	int		 prepare;	/* --prepare */
	int		 params_changed; /* --params-changed */
	const char	*launcher;	/* --launcher: "slurm" or JSON array */
	int		 declaration_order; /* --order declaration */
	char		**targets;
	int		 ntargets;
	char		**params;	/* "key=value", "key:=json" */
	int		 nparams;
	const char	*params_file;	/* --params */
	int		 explain;	/* --explain */
	int		 force_all;	/* --force */
	char		**force;	/* --force=ID,... */
	int		 nforce;
	char		**rerun;	/* --rerun ID (with --resume) */
	int		 nrerun;
	int		 downstream;	/* --downstream */
	int		 edited;	/* --resume RUN FILE: input is the
					   edited DAG */
};

/* dag-run: returns the exit status of SPEC section 6. */
int	run_main(const struct run_opts *);

/*
 * What dag-step shares with dag-run (run.c prints; step.c calls these).
 * Loads the DAG at path into c->g, printing what is wrong: EXIT_OK, or
 * the exit status.
 */
int	run_load(struct runctx *, const char *path, const char *display,
	    const char *launcher);
/* The same for a run directory's frozen dir/dag.json, a regular file. */
int	run_load_frozen(struct runctx *, const char *dir);
/* The directory of run arg: a directory, "latest" or an id in runs. */
char	*run_dir_of(const char *runs, const char *arg);
/*
 * Opens run arg (run_dir_of) as --resume does: its lock first (taken
 * exclusive), then its frozen DAG and its journal into c.  opt names the
 * option in messages; quiet_busy: a lock held by another says nothing
 * (EXIT_LOCKED still).  Returns an exit status.
 */
int	run_open(struct runctx *, const char *runs, const char *arg,
	    const char *opt, int quiet_busy);
/*
 * c->x.params: the DAG's params, then those the run recorded (c->rs),
 * then those of the JSON object in file (--params; NULL: none), then
 * kv[0..n) ("key=value", typed by the param's default, or "key:=json").
 * On a resume (check set), a value that differs from the recorded one is
 * refused unless changed is set.  0, or -1 after saying why.
 */
int	run_params(struct runctx *, const char *file, char **kv, int n,
	    int check, int changed);
/* Prints step i's line of -n (its id, a tab, its command). */
void	run_describe(struct runctx *, uint32_t i);
/*
 * Kills what a dead dag-run or dag-step of c's run left running: every
 * process with the run's DAG_RUN_ID and DAG_RUN_DIR (and DAG_STEP_ID of
 * step, unless step is -1), and the process group of each such step the
 * journal shows running, if its leader still is the process journaled.
 */
void	run_kill_left(struct runctx *, int64_t step);
/* Runs the loop to its end, printing the news between turns. */
void	run_drive(struct runner *, int quiet);
/*
 * Says fmt on stderr after the program's name, with ": strerror(e)" when
 * e is not 0, as one line of valid UTF-8 whatever bytes it quotes.
 */
void	run_say(int e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints c's news and forgets them; notes only unless quiet. */
void	run_tell(struct runctx *, int quiet);

#endif
