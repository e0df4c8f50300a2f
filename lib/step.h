#ifndef STEP_H
#define STEP_H

#include <stdint.h>

struct step_opts {
	const char	*run_dir;
	const char *const *steps;	/* the operands */
	uint32_t	 nsteps;
	const char	*from;		/* --from: the steps, one per line */
	unsigned	 jobs;		/* -j: steps at once, >= 1 */
	const char	*array_list;	/* --array-list: the step is its line
					   $SLURM_ARRAY_TASK_ID (from 0) */
	int		 json;
	int		 verbose;
	int		 dry_run;
	int		 quiet;
	int		 finish;	/* --finish: close an external run */
};

/*
 * dag-step: runs steps of an existing run (one, or several -j at once)
 * through the same scheduler and runner as dag-run; or, with --finish,
 * closes the run.  Returns the exit status of SPEC section 6.
 */
int	step_main(const struct step_opts *);

#endif
