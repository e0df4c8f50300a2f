#ifndef STEP_H
#define STEP_H

struct step_opts {
	const char	*run_dir;
	const char	*step;
	const char	*array_list;	/* --array-list: the step is its line
					   $SLURM_ARRAY_TASK_ID (from 0) */
	int		 json;
	int		 verbose;
	int		 dry_run;
	int		 quiet;
	int		 finish;	/* --finish: close an external run */
};

/*
 * dag-step: runs one step of an existing run through the same scheduler
 * and runner as dag-run, then recomputes the run's status; or, with
 * --finish, closes the run.  Returns the exit status of SPEC section 6.
 */
int	step_main(const struct step_opts *);

#endif
