#ifndef PROCSET_H
#define PROCSET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct spawn_req;

/*
 * The children of one dag-run or dag-step, known only by a tag (the
 * caller's slot number): signals read from a signalfd, a pid table for
 * the waitpid drain, posix_spawn and fork with the fd limit and signal
 * state put back for the child, and process-group kills.  It never sees
 * a DAG.
 */
struct procset {
	sigset_t	 oldmask;	/* the mask children get */
	int		 sigfd;		/* CHLD, INT, TERM, HUP, USR1, USR2 */
	int		 devnull;	/* for stdin, and 0-2 if we lack them */
	rlim_t		 nofile;	/* children's soft fd limit, 0: ours */
	pid_t		*pid;		/* open addressing: pid, -1 tombstone */
	uint32_t	*tag;
	size_t		 cap, used, live;
	struct procset_gk {
		pid_t	 pgid;
		int64_t	 at;		/* mono ms: SIGKILL then */
	}		*gk;		/* groups whose leader left early */
	size_t		 ngk, capgk;
	int		 shut[4];	/* fds a forked child closes */
	int		 nshut;
};

/* An ended child: its tag (PROCSET_NONE for one we do not track). */
struct procset_exit {
	uint32_t	 tag;
	pid_t		 pid;
	int		 status;	/* as waitpid gives it */
};

#define PROCSET_NONE	UINT32_MAX

/* The signals the run's loop reads (SIGINT, SIGTERM, SIGHUP, SIGUSR1
 * --pause, SIGUSR2 --unpause), SIGCHLD aside. */
void	 procset_control_signals(sigset_t *);
/*
 * Blocks CHLD and the control signals into a signalfd (children get the
 * mask we had, without them), ignores SIGPIPE, opens
 * /dev/null (also as 0, 1, 2 when they are closed), and raises the soft fd
 * limit as far as slots steps need (six fds each).  *room gets how many
 * steps fit in the limit it has.  Returns 0, or -1 with errno.
 */
int	 procset_init(struct procset *, uint32_t slots, uint32_t *room);
void	 procset_release(struct procset *);
/* fd is closed in forked children (a lock they must not hold). */
void	 procset_shut_in_child(struct procset *, int fd);
/*
 * posix_spawn of req (its mask is set here) in a new process group;
 * tracked under tag unless PROCSET_NONE.  Returns 0 with *pid, or an
 * errno value (spawn_start's).
 */
int	 procset_spawn(struct procset *, struct spawn_req *, uint32_t tag,
	    pid_t *pid);
/*
 * fork(2) into a new process group, tracked under tag.  In the child
 * (return 0) the signal state, fd limit and lock are put back as a
 * spawned child has them.  -1 with errno.
 */
pid_t	 procset_fork(struct procset *, uint32_t tag);
/* SIGTERM (with SIGCONT, so a stopped group obeys) or SIGKILL to a
 * group: a group that is gone is not an error. */
void	 procset_term(pid_t pgid);
void	 procset_kill(pid_t pgid);
/* The group outlived its leader: SIGKILL it at mono ms at. */
void	 procset_kill_later(struct procset *, pid_t pgid, int64_t at);
/* The next such kill, mono ms, or -1; procset_tick sends those due. */
int64_t	 procset_wake(const struct procset *);
void	 procset_tick(struct procset *, int64_t now);
/*
 * Reaps ended children into out (max of them), tracked ones by tag.
 * *more is set when out filled before the drain ended.  After the last
 * tracked child it does not wait just to hear that none is left.
 */
size_t	 procset_reap(struct procset *, struct procset_exit *out,
	    size_t max, int *more);
/* Signals read from the signalfd into sig (max of them), the pid that
 * sent each into from; how many. */
size_t	 procset_signals(struct procset *, int *sig, pid_t *from,
	    size_t max);
/* Tracked children now. */
size_t	 procset_live(const struct procset *);
/* Rebuilds the pid table when tombstones fill it: O(table), rarely. */
void	 procset_compact(struct procset *);

#endif
