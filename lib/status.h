#ifndef STATUS_H
#define STATUS_H

enum status_view {
	SV_TABLE, SV_JSON, SV_LIST, SV_LOGS, SV_GANTT, SV_HTML, SV_FOLLOW,
	SV_STREAM
};

struct status_opts {
	int		 view;		/* enum status_view */
	const char	*runs;		/* --runs */
	const char	*run;		/* --run-dir or the RUN operand */
	const char	*step;		/* --logs ID */
	unsigned	 attempt;	/* --attempt N, 0: last */
	const char	*html;		/* --html FILE */
	int		 follow;	/* -f with another view */
};

/* dag-status: returns the exit status of SPEC section 6. */
int	status_main(const struct status_opts *);

#endif
