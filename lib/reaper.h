#ifndef REAPER_H
#define REAPER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * What steps leave behind.  dag-run and dag-step are child subreapers, so
 * a step's background jobs and double-forked daemons come back to them,
 * and the sweep at the end terminates and reaps them; the children the
 * process already had when it started (a shell's, exec'ing it) are not
 * ours to end.  And a dead dag-run's or dag-step's steps, found by the run
 * id in their environment, are killed before a resume runs them again.
 */
struct reaper {
	pid_t	*inherited;	/* children we had at start */
	size_t	 n;
};

/* Becomes a subreaper and notes the children we have now. */
void	reaper_init(struct reaper *);
void	reaper_release(struct reaper *);
/* An inherited child was reaped: its pid may come back as a stray's. */
void	reaper_forget(struct reaper *, pid_t);
/*
 * Every child but the inherited gets SIGTERM, then SIGKILL after 2 s, and
 * is reaped; 10 s at most in all.  sigfd (SIGCHLD) wakes the waits.
 */
void	reaper_sweep(struct reaper *, int sigfd);
/*
 * SIGKILL to every process whose environment holds DAG_RUN_ID=run and
 * DAG_RUN_DIR=dir (and DAG_STEP_ID=step unless step is NULL), by a scan
 * of /proc: steps a dead dag-run started but never journaled are found
 * too, and another run's, whatever its id, are not.
 */
void	reaper_kill_orphans(const char *run, const char *dir, const char *step);
/*
 * SIGKILL to the process group of pid, if pid still is the process the
 * journal saw start at wall ms at (its start time, from /proc, within a
 * few seconds of it): a step that cleared its environment is found this
 * way, and a pid used again since is never hit.
 */
void	reaper_kill_group(pid_t pid, int64_t at);

#endif
