#ifndef CAPTURE_H
#define CAPTURE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct progress;
struct strbuf;

/*
 * What steps write: each attempt's stdout and stderr come through two
 * pipes into steps/<id>/<n>.stdout and .stderr, files created when the
 * first byte arrives (a quiet step costs no file), and with -v are also
 * relayed to stderr by whole lines, each prefixed "[id] ".  It never sees
 * a DAG: a capture knows its step by id and attempt number only.
 */

/* One attempt's two streams. */
struct capture {
	int		 rd[2];		/* pipe read ends, -1 when closed */
	int		 wend[2];	/* our copies of the write ends */
	int		 file[2];	/* capture files, -1 until written */
	struct strbuf	*vpart;		/* -v: unfinished lines, two streams */
	const char	*id;		/* the step's (borrowed) */
	uint32_t	 attempt;
	uint32_t	 pos;		/* index in capset.live */
	uint8_t		 launcher;	/* srun writes the streams itself:
					   what comes here is srun's */
	uint8_t		 failed;	/* a capture file could not be kept */
};

/* Pipe pairs made while the loop is idle, so that a step starting in a
 * freed slot does not wait for pipe2. */
#define PIPE_SPARE	8

struct capset {
	int		  sdfd;		/* the run's steps/ */
	int		  verbose;	/* -v */
	struct progress	 *pg;		/* its status line is cleared first */
	struct capture	**live;		/* captures with a pipe open */
	uint32_t	  nlive, cap;
	struct capture	**who;		/* capset_poll's entries, by index */
	uint8_t		 *which;
	size_t		  nwho, capwho;
	int		  spare[PIPE_SPARE][2][2];
	uint32_t	  nspare;
	int		 *closeq;	/* fds to close after the next starts */
	size_t		  ncloseq, capcloseq;
	int		  error;	/* a failed capture's errno, not told */
	char		 *errpath;	/* and its file (malloc'd) */
};

void	 capset_init(struct capset *, int sdfd, int verbose,
	    struct progress *);
void	 capset_release(struct capset *);
/* Marks c as having no pipes or files. */
void	 capture_init(struct capture *);
/*
 * Two pipes for an attempt's stdout (p[0]) and stderr (p[1]): spare ones,
 * else new.  0, or -1 with errno.
 */
int	 capset_pipes(struct capset *, int p[2][2]);
/*
 * c takes the pipes of step id's attempt: the read ends to poll, and the
 * write ends, held until capset_drain so that a step ending does not wake
 * the loop twice (hang-up, then SIGCHLD).
 */
void	 capset_attach(struct capset *, struct capture *, int p[2][2],
	    const char *id, uint32_t attempt, int launcher);
/* Appends dagkit's own line to the attempt's stderr file. */
void	 capset_note(struct capset *, const char *id, uint32_t attempt,
	    const char *msg);
/* Adds every open pipe to pfd[at..]; returns how many (2 per capture at
 * most: the caller has room for 2 * nlive). */
size_t	 capset_poll(struct capset *, struct pollfd *pfd);
/* Reads what the entries capset_poll added have, as revents tells. */
void	 capset_polled(struct capset *, const struct pollfd *pfd);
/*
 * The attempts in v have ended: what their pipes still hold is read (one
 * poll for all, no wait: a grandchild may keep a pipe open) and they are
 * closed.
 */
void	 capset_drain(struct capset *, struct capture *const *v, size_t n);
/* Makes spare pipes for running steps, if room fds allow. */
void	 capset_fill_spares(struct capset *, uint32_t running, uint32_t room);
/* Closes the fds queued by closed captures. */
void	 capset_close_queued(struct capset *);

#endif
