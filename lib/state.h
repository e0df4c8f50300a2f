#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dag;
struct strbuf;

enum step_status {
	ST_PENDING, ST_RUNNING, ST_RETRY_WAIT, ST_SUCCEEDED, ST_FAILED,
	ST_TIMED_OUT, ST_SKIPPED, ST_UPSTREAM_FAILED, ST_CANCELLED,
	ST_CACHED,	/* up to date: not run, its recorded output reused */
	ST__N
};
enum run_status {
	RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED, RUN_TIMED_OUT, RUN_CANCELLED,
	RUN_INTERRUPTED, RUN__N
};

extern const char *const step_status_names[];
extern const char *const run_status_names[];

/* What run.json says of one step. */
struct sstate {
	uint8_t		 status;	/* enum step_status */
	uint8_t		 has_output;	/* output.json was written */
	uint8_t		 selected;	/* part of this run (--target) */
	uint8_t		 allowed;	/* failed, but allow_failure */
	uint8_t		 hidden;	/* an instance a later expansion of its
					   foreach left out: not shown */
	int16_t		 signal;	/* 0: none */
	int32_t		 exit_code;	/* -1: none */
	uint32_t	 attempts;
	pid_t		 pid;		/* of the last attempt, its group too */
	int64_t		 pid_at;	/* wall ms its start was journaled */
	int64_t		 started, finished;	/* wall ms, 0: not yet */
	double		 duration;
	char		*reason;
};

struct runstate {
	char		*id;
	char		*dag;
	char		*dir;
	char		*params;	/* JSON text */
	uint8_t		 status;	/* enum run_status */
	uint8_t		 external;	/* prepared for dag-step drivers */
	uint8_t		 paused;	/* no new step starts (--pause) */
	pid_t		 pid;
	int64_t		 started, finished;
	int64_t		 last_event;	/* ms of the latest journal line read */
	uint32_t	 n;
	struct sstate	*s;
};

void	state_init(struct runstate *, const struct dag *);
void	state_release(struct runstate *);
/* "Now" for elapsed times: the clock, but for an interrupted run the time
 * of its last event, since nothing has happened in it after that. */
int64_t	state_now(const struct runstate *);
int	step_status_terminal(int);
int	step_status_parse(const char *, size_t);
int	run_status_parse(const char *, size_t);
void	state_set_reason(struct sstate *, const char *);
/* The step will run again: its record is cleared, but for attempts. */
void	state_clear(struct sstate *);
/* Appends ,"exit_code":N,"signal":N of s to sb (null when none). */
void	state_emit_exit(const struct sstate *, struct strbuf *);
/* Appends run.json's JSON (SPEC section 4) to sb. */
void	state_emit(const struct runstate *, const struct dag *,
	    struct strbuf *);
/* Replaces dirfd/run.json with rs's: 0, or -1 with errno. */
int	state_save(const struct runstate *, const struct dag *, int dirfd);
/* Counts per step status of the selected steps. */
void	state_counts(const struct runstate *, uint32_t counts[ST__N]);
void	state_emit_counts(const uint32_t counts[ST__N], struct strbuf *);

#endif
