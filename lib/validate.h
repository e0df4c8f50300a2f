#ifndef VALIDATE_H
#define VALIDATE_H

struct validate_opts {
	int		 json;		/* --json report instead of the DAG */
	int		 quiet;		/* -q: exit status only */
	const char	*name;		/* --name for stdin */
	char		**files;	/* "-" is stdin */
	int		 nfiles;
};

struct plan_opts {
	int		 format;	/* enum planfmt */
	const char	*history;	/* --history RUNS, or NULL */
	const char	*run_dir;	/* --run-dir, for make and slurm */
	const char	*input;
};

/* dag-validate: prints the normalized DAG(s) or a report; exit status. */
int	validate_main(const struct validate_opts *);
/* dag-plan: prints the plan; exit status. */
int	plan_main(const struct plan_opts *);

#endif
