#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>

struct dag;
struct runstate;
struct rundir;

/*
 * Progress on stderr: one line per finished step ("[3/40] ok build
 * 2.31s"), and on a terminal also a live status line redrawn at most ten
 * times a second.  Failed steps get the tail of their stderr.
 */
struct progress {
	int		 tty;
	int		 color;
	int		 quiet;
	int64_t		 last_draw;	/* mono ms */
	int64_t		 start;		/* mono ms */
	uint32_t	 total;
	uint32_t	 done;
	uint32_t	 running;
	int		 drawn;		/* the status line is on screen */
};

void	progress_init(struct progress *, uint32_t total, int quiet);
/* A step reached status st (enum step_status) after secs. */
void	progress_step(struct progress *, const char *id, int st,
	    uint32_t attempt, double secs, const char *reason);
/* --explain: one line, "id: up to date" or "id: runs: why", even with
 * -q (it was asked for). */
void	progress_explain(struct progress *, const char *line);
/* Prints the last lines of a failed attempt's stderr. */
void	progress_tail(struct progress *, int sdfd, const char *id,
	    uint32_t attempt);
void	progress_tick(struct progress *, double eta);
void	progress_done(struct progress *);

#endif
