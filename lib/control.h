#ifndef CONTROL_H
#define CONTROL_H

/*
 * dag-run --cancel, --pause and --unpause RUN: a run's control from
 * another process.  The dag-run working on the run is found through the
 * run's lock, as the kernel's table of locks (/proc/locks) has it, never
 * through a pid a file remembers, and it is signalled through a pidfd
 * taken while it holds that lock: a pid used again by another process
 * is never hit.
 */
enum control { CTL_CANCEL = 1, CTL_PAUSE, CTL_UNPAUSE };

/*
 * what to the run arg (an id in runs, latest, or a directory).  Cancel
 * sends SIGTERM and waits until the dag-run has ended; pause (SIGUSR1)
 * and unpause (SIGUSR2) wait until its journal records it.  Unpausing a
 * run no dag-run works on records it in the journal (a --resume then
 * goes on).  Returns the exit status: 0, 1 when the run is not running
 * (or not paused), 2 no such run, 4 a system error.
 */
int	control_run(const char *runs, const char *arg, int what);

#endif
