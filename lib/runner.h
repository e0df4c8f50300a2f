#ifndef RUNNER_H
#define RUNNER_H

struct run_opts {
	const char	*input;		/* DAG or plan file, "-": stdin */
	const char	*runs;		/* --runs */
	const char	*run_dir;	/* --run-dir */
	const char	*run_id;	/* --run-id */
	const char	*resume;	/* --resume RUN */
	unsigned	 jobs;		/* -j, 0: max_parallel or CPUs */
	int		 keep_going;	/* -k */
	int		 dry_run;	/* -n */
	int		 events;	/* --events */
	int		 json;		/* --json */
	int		 verbose;	/* -v */
	int		 quiet;		/* -q: no progress */
	int		 lock;		/* --lock */
	double		 lock_wait;	/* --lock-wait seconds */
	int		 prepare;	/* --prepare */
	const char	*launcher;	/* --launcher: "slurm" or a JSON array */
	int		 declaration_order; /* --order declaration */
	char		**targets;
	int		 ntargets;
	char		**params;	/* "key=value" */
	int		 nparams;
};

struct step_opts {
	const char	*run_dir;
	const char	*step;
	int		 json;
	int		 verbose;
	int		 dry_run;
	int		 quiet;
	int		 finish;	/* --finish: close an external run */
};

/* dag-run: returns the exit status of SPEC section 6. */
int	run_main(const struct run_opts *);
/* dag-step: one step of an existing run. */
int	step_main(const struct step_opts *);

#endif
