#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct dag;
struct fitem;
struct diag;
struct runstate;
struct sstate;

/*
 * events.jsonl, the run's source of truth: one JSON object a line, each
 * line one write(2) to an O_APPEND fd, so a crash leaves complete lines
 * and at most one torn last line, which readers ignore.
 */
struct journal {
	int		 fd;		/* events.jsonl */
	int		 mirror;	/* --events: stdout fd, -1 when off */
	int		 mmode;		/* MIRROR_* */
	struct strbuf	 mbuf;		/* mirrored lines not yet taken */
	size_t		 moff;		/* how much of mbuf was written */
	const char	*run;		/* run id (borrowed) */
	struct strbuf	 line;
	int		 error;		/* errno of the first failed write */
	int		 batch;		/* journal_end queues, journal_flush writes */
	struct strbuf	 pending;	/* queued lines */
	int		 locked;	/* journal_lock holds the flock */
	int		 tee;		/* dag-step: its step's own copy of
					   the lines (steps/<id>/journal), or
					   -1 */
};

enum { MIRROR_BLOCK, MIRROR_PIPE, MIRROR_SOCKET };

/*
 * Opens (creating) dirfd/events.jsonl; a torn tail is cut off first.  Every
 * write holds the file's flock, and so does the cut: dag-steps of a run
 * append at once, and one must never take another's write in progress
 * for a torn tail.
 */
int	 journal_open(struct journal *, int dirfd, const char *run_id);
/* Holds the flock across several writes and reads (a run's status worked
 * out from the whole journal): 0, or -1 with errno. */
int	 journal_lock(struct journal *);
void	 journal_unlock(struct journal *);
void	 journal_close(struct journal *);
/* Starts an event line: {"ts":..,"run":..,"event":"name" */
struct strbuf *journal_begin(struct journal *, const char *event);
/* Closes the line, writes it (and mirrors it).  0, or -1 on I/O error.
 * In batch mode the line is queued instead, for journal_flush. */
int	 journal_end(struct journal *);
/* Writes the queued lines with one write(2): complete lines only, so the
 * crash guarantee is the same.  0, or -1 on I/O error (j->error set). */
int	 journal_flush(struct journal *);

/*
 * --events: mirrors the lines to fd.  A reader slower than the run does
 * not hold it up: on a pipe or socket the lines queue (up to 64 MiB) and
 * go out when it can take them; journal_mirror_fd tells the fd to poll
 * for POLLOUT (-1: nothing queued), journal_mirror_push writes what it
 * takes, journal_close waits for the rest.
 */
void	 journal_mirror(struct journal *, int fd);
int	 journal_mirror_fd(const struct journal *);
void	 journal_mirror_push(struct journal *);

/* write(2) until all of p is written or an error (EINTR retried): 0/-1. */
int	 journal_write_all(int fd, const char *p, size_t n);

/*
 * The events of SPEC section 4, one line each.  A failed write is kept
 * in j->error for the caller to tell; the run goes on (what the journal
 * lost, a resume redoes).  Each borrows its arguments.
 */
void	 journal_step_started(struct journal *, const char *id,
	    uint32_t attempt, long pid);
/* status is the attempt's (the step's may be retry_wait already);
 * retry: another attempt follows. */
void	 journal_step_finished(struct journal *, const char *id,
	    const struct sstate *, int status, double secs, int retry);
void	 journal_step_skipped(struct journal *, const char *id,
	    const struct sstate *);
/* An up-to-date step: not run; its output (if any) is the one recorded
 * when it last ran (s->reason says which run). */
void	 journal_step_cached(struct journal *, const char *id,
	    const struct sstate *);
void	 journal_step_retry(struct journal *, const char *id,
	    uint32_t attempt, double delay);
/* why: NULL (resume, dag-step), or what asked for it (--rerun, an edited
 * DAG), said with the user and pid that asked. */
void	 journal_step_reset(struct journal *, const char *id,
	    const char *why);
/* --resume RUN FILE: the edited DAG has no step id any more. */
void	 journal_step_removed(struct journal *, const char *id);
/* step_expanded: foreach step id's attempt gave n items (it: their keys,
 * if they have any). */
void	 journal_step_expanded(struct journal *, const char *id,
	    uint32_t attempt, uint32_t n, const struct fitem *it);
/*
 * run_started: the run's dag, params, our pid and dir, and the selected
 * steps when targets is set (--target), else none: the whole DAG.
 */
void	 journal_run_started(struct journal *, const struct runstate *,
	    const struct dag *, int targets, int resumed);
void	 journal_run_finished(struct journal *, const struct runstate *);
/* run_paused, run_unpaused (--pause, --unpause) and run_cancel_requested
 * (a signal, named): the run's control, by the pid that asked (0: not
 * known). */
void	 journal_run_control(struct journal *, const char *event,
	    const char *signal, pid_t by);

/*
 * Reads dirfd/events.jsonl into rs (which state_init prepared for g), as
 * journal_replay.  Returns 0 (a missing journal is an empty one), or -1
 * with errno.
 */
int	 journal_load(int dirfd, struct dag *, struct runstate *);

/*
 * Replays a journal text into rs (which state_init prepared for g): the
 * last complete line wins for each step.  Lines that are not valid JSON
 * are skipped (a torn last line is normal after kill -9).  Returns the
 * number of valid events.
 */
size_t	 journal_replay(const char *text, size_t len, struct dag *,
	    struct runstate *);
/* Applies one event line (for followers). 1 if valid, 0 if not. */
int	 journal_apply(const char *line, size_t len, struct dag *,
	    struct runstate *);

#endif
