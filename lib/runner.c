/*
 * dag-run's engine.  One thread, one poll(2) loop, no sleeping: the loop
 * waits on a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), on the output
 * pipes of steps being relayed (-v), and on the nearest deadline in a
 * min-heap of timers (step timeouts, kill grace, retry backoff, the run
 * deadline, the next run.json snapshot).  Steps start the moment their
 * trigger rule is met and a slot and their pool allow; among ready steps
 * the one with the longest remaining path (plan.c's rank) goes first.
 *
 * Per event the bookkeeping is O(1) amortized: one journal line, counters,
 * heap operations.  run.json is rewritten when a snapshot timer fires, at
 * an interval that grows with the cost of writing it, and at the end.
 *
 * dag-run is a child subreaper, so a step's daemonized grandchildren come
 * back to it; at the end of the run every child left is terminated.
 */
#include "compat.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "clock.h"
#include "dag.h"
#include "diag.h"
#include "exec.h"
#include "exitcode.h"
#include "heap.h"
#include "history.h"
#include "jdoc.h"
#include "jqexpr.h"
#include "journal.h"
#include "json.h"
#include "opts.h"
#include "plan.h"
#include "progress.h"
#include "rundir.h"
#include "runner.h"
#include "spawn.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

extern char **environ;

enum phase { PH_IDLE, PH_PREP, PH_RUN, PH_POST, PH_WAIT };
enum kill_reason { KR_NONE, KR_TIMEOUT, KR_CANCEL, KR_DEADLINE, KR_ABORT };
enum decision { D_WAIT, D_RUN, D_SKIP, D_UPFAIL };

#define T_DEADLINE	UINT32_MAX
#define T_SNAPSHOT	(UINT32_MAX - 1)
#define T_GROUPS	(UINT32_MAX - 2)
#define T_STRAYS	(UINT32_MAX - 2)

/*
 * Pipe pairs made while the loop has nothing to do, so that starting a
 * step in a freed slot does not wait for pipe2 (and a finished step's
 * read ends are closed after the next starts, not before).
 */
#define PIPE_SPARE	8

/* What the loop knows of a step while it is in flight. */
struct live {
	pid_t		 pid;		/* current process, 0 none */
	uint8_t		 phase;
	uint8_t		 kill;		/* enum kill_reason */
	uint8_t		 term_sent;
	uint8_t		 is_eval;	/* pid is a forked evaluator */
	uint8_t		 queued;	/* in the ready heap or a pool queue */
	uint8_t		 has_input;
	uint8_t		 holds_slot;	/* counted in inflight and its pool */
	uint8_t		 io_error;	/* its output could not be kept */
	uint8_t		 wait_st;	/* PH_WAIT: how the last attempt ended */
	int		 memfd;
	int		 relay[2];	/* pipe read ends, -1 */
	int		 wend[2];	/* our copies of their write ends, -1 */
	uint32_t	 relay_pos;	/* index in runner.relaying */
	int		 relayf[2];	/* -v: capture files */
	struct strbuf	*vpart;		/* -v: unfinished lines, 2 streams */
	int64_t		 timer;		/* active timer key, 0 none */
	int64_t		 deadline;	/* attempt deadline, 0 none */
	int64_t		 t_attempt;	/* mono ms */
	int64_t		 t_first;	/* mono ms of this run's 1st attempt */
	int64_t		 w_attempt;	/* wall ms */
};

struct runner {
	const struct run_opts	*o;
	struct dag		*g;
	struct plan		 plan;
	struct runstate		 rs;
	struct rundir		 rd;
	struct journal		 jr;
	struct execctx		 x;
	struct progress		 pg;
	struct envv		 base;
	struct diag		 d;
	sigset_t		 oldmask;
	int			 sigfd;
	int			 devnull;
	struct heap		 ready;
	struct heap		 timers;
	struct heap		*poolq;
	uint32_t		*pool_used;
	struct live		*L;
	uint32_t		*npend;
	uint32_t		*relaying;	/* steps with open pipes */
	uint32_t		 nrelaying;
	char			*env_run;	/* DAG_RUN_ID=..\0DAG_RUN_DIR=.. */
	int			 spare[PIPE_SPARE][2][2];	/* ready pairs */
	uint32_t		 nspare;
	int			*closeq;	/* fds to close after starts */
	size_t			 ncloseq, capcloseq;
	struct grpkill {
		pid_t		 pgid;
		int64_t		 at;	/* mono ms: SIGKILL then */
	}			*gk;		/* groups of killed steps */
	size_t			 ngk, capgk;
	pid_t			*inherited;	/* children we had at start */
	size_t			 ninherited;
	struct pollfd		*pfd;		/* loop_once's, 1 + 2 * slots */
	uint32_t		*pfdwho;
	size_t			 pfdcap;
	pid_t			*pidtab;	/* open addressing: pid */
	uint32_t		*pidstep;
	size_t			 pidcap;
	size_t			 pidused;	/* slots not 0: pids, tombstones */
	size_t			 pidlive;	/* pids in the table */
	uint32_t		 slots, inflight, waiting;
	uint32_t		 total;
	int			 stopping;	/* no new non-handler starts */
	int			 cancel_sig;
	int			 nsigint;
	int			 deadline_hit;
	int			 aborting;
	int			 syserr;
	int64_t			 snap_interval;
	int			 snap_armed;
	int			 single;	/* dag-step */
	uint32_t		 fd_room;	/* steps that fit our fd limit */
	uint32_t		 failed_first;	/* for messages */
	int			 any_failed;
	int			 snap_failed;
	int			 jr_warned;
	rlim_t			 nofile;	/* our parent's fd limit, or 0 */
};

static void finish_attempt(struct runner *, uint32_t, int st, int code,
	    int sig, const char *reason, int output);
static int is_slurm(const struct runner *, uint32_t);
static void forget_inherited(struct runner *, pid_t);
static void scancel(struct runner *, uint32_t, int);

static int64_t
now_ms(void)
{
	return clock_mono_ms();
}

/* -- pid table: pid -> step, for the waitpid drain. ----------------- */

static void
pid_put(struct runner *r, pid_t pid, uint32_t i)
{
	size_t k, mask = r->pidcap - 1;

	for (k = (size_t)pid & mask; r->pidtab[k] > 0; k = (k + 1) & mask)
		;
	if (r->pidtab[k] == 0)
		r->pidused++;
	r->pidlive++;
	r->pidtab[k] = pid;
	r->pidstep[k] = i;
}

/* 1 if pid is one of our steps' processes. */
static int
pid_known(const struct runner *r, pid_t pid)
{
	size_t k, mask = r->pidcap - 1;

	for (k = (size_t)pid & mask; r->pidtab[k] != 0; k = (k + 1) & mask)
		if (r->pidtab[k] == pid)
			return 1;
	return 0;
}

/* Removes pid; returns its step or UINT32_MAX for a stray. */
static uint32_t
pid_take(struct runner *r, pid_t pid)
{
	size_t k, mask = r->pidcap - 1;
	uint32_t i;

	for (k = (size_t)pid & mask; r->pidtab[k] != 0; k = (k + 1) & mask)
		if (r->pidtab[k] == pid) {
			i = r->pidstep[k];
			r->pidtab[k] = -1;	/* tombstone */
			r->pidlive--;
			return i;
		}
	return UINT32_MAX;
}

/* -- timers ---------------------------------------------------------- */

static void
arm(struct runner *r, uint32_t i, int64_t at)
{
	r->L[i].timer = at;
	heap_push(&r->timers, at, i);
}

/*
 * The leader of a step we sent SIGTERM is gone before its kill_grace: the
 * rest of its group still gets SIGKILL when the grace ends (systemd's
 * control-group kill), so nothing of the attempt outlives it by more.
 */
static void
group_kill_later(struct runner *r, pid_t pgid, int64_t at)
{
	if (killpg(pgid, 0) == -1)
		return;		/* the group is gone too */
	if (r->ngk == r->capgk) {
		r->capgk = r->capgk ? 2 * r->capgk : 8;
		r->gk = xreallocarray(r->gk, r->capgk, sizeof(*r->gk));
	}
	r->gk[r->ngk].pgid = pgid;
	r->gk[r->ngk++].at = at;
	heap_push(&r->timers, at, T_GROUPS);
}

static void
group_kill_due(struct runner *r)
{
	int64_t now = now_ms();
	size_t k = 0;

	while (k < r->ngk) {
		if (r->gk[k].at > now) {
			k++;
			continue;
		}
		/* The group outlived its leader's pid, so the pid was not
		 * reused; unless the group ended and a step of ours got it. */
		if (!pid_known(r, r->gk[k].pgid))
			(void)killpg(r->gk[k].pgid, SIGKILL);
		r->gk[k] = r->gk[--r->ngk];
	}
}

/* -- events ---------------------------------------------------------- */

static void io_failed(struct runner *);

static void
journal_check(struct runner *r)
{
	if (r->jr.error != 0) {
		errno = r->jr.error;
		if (!r->jr_warned)
			warn("write '%s/events.jsonl'", r->rd.path);
		r->jr_warned = 1;
		r->jr.error = 0;
		io_failed(r);
	}
}

/* Writes the queued journal lines and reports a failed write. */
static void
journal_sync(struct runner *r)
{
	(void)journal_flush(&r->jr);
	journal_check(r);
}

/* Starts the journal line of a step event: ts, run, event and step. */
static struct strbuf *
ev_step(struct runner *r, const char *event, uint32_t i)
{
	struct strbuf *sb = journal_begin(&r->jr, event);

	strbuf_adds(sb, ",\"step\":");
	strbuf_add_json_str(sb, r->g->s[i].id, strlen(r->g->s[i].id));
	return sb;
}

/* Ends an event line: written, or queued for the end of the loop turn. */
static void
ev_end(struct runner *r)
{
	(void)journal_end(&r->jr);
	journal_check(r);
}

static void
ev_step_started(struct runner *r, uint32_t i, pid_t pid)
{
	struct strbuf *sb = ev_step(r, "step_started", i);

	strbuf_adds(sb, ",\"attempt\":");
	strbuf_add_int(sb, r->rs.s[i].attempts);
	strbuf_adds(sb, ",\"pid\":");
	strbuf_add_int(sb, pid);
	ev_end(r);
}

static void
ev_step_finished(struct runner *r, uint32_t i, double secs, int retry)
{
	struct sstate *s = &r->rs.s[i];
	struct strbuf *sb = ev_step(r, "step_finished", i);

	strbuf_adds(sb, ",\"attempt\":");
	strbuf_add_int(sb, s->attempts);
	strbuf_adds(sb, ",\"status\":\"");
	strbuf_adds(sb, step_status_names[s->status]);
	strbuf_adds(sb, "\",\"exit_code\":");
	if (s->exit_code >= 0)
		strbuf_add_int(sb, s->exit_code);
	else
		strbuf_adds(sb, "null");
	strbuf_adds(sb, ",\"signal\":");
	if (s->signal > 0)
		strbuf_add_int(sb, s->signal);
	else
		strbuf_adds(sb, "null");
	strbuf_adds(sb, ",\"duration\":");
	strbuf_add_secs(sb, secs);
	if (s->reason != NULL) {
		strbuf_adds(sb, ",\"reason\":");
		strbuf_add_json_str(sb, s->reason, strlen(s->reason));
	}
	if (s->has_output)
		strbuf_adds(sb, ",\"output\":true");
	if (s->allowed)
		strbuf_adds(sb, ",\"allowed\":true");
	if (retry)
		strbuf_adds(sb, ",\"retry\":true");	/* not final */
	ev_end(r);
}

static void
ev_step_skipped(struct runner *r, uint32_t i)
{
	struct sstate *s = &r->rs.s[i];
	struct strbuf *sb = ev_step(r, "step_skipped", i);

	strbuf_addf(sb, ",\"status\":\"%s\",\"reason\":",
	    step_status_names[s->status]);
	strbuf_add_json_str(sb, s->reason ? s->reason : "",
	    s->reason ? strlen(s->reason) : 0);
	ev_end(r);
}

static void
ev_step_retry(struct runner *r, uint32_t i, double delay)
{
	struct strbuf *sb = ev_step(r, "step_retry", i);

	strbuf_addf(sb, ",\"attempt\":%u,\"delay\":", r->rs.s[i].attempts + 1);
	strbuf_add_secs(sb, delay);
	ev_end(r);
}

/* -- run.json -------------------------------------------------------- */

static void
snapshot(struct runner *r)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t t0 = now_ms(), cost;

	/* The journal, the source of truth, is never behind run.json. */
	journal_sync(r);
	state_emit(&r->rs, r->g, &sb);
	strbuf_addc(&sb, '\n');
	if (rundir_replace(r->rd.dfd, "run.json", sb.buf, sb.len) == -1) {
		if (!r->snap_failed)
			warn("write '%s/run.json'", r->rd.path);
		r->snap_failed = 1;
		io_failed(r);
	} else
		r->snap_failed = 0;
	strbuf_release(&sb);
	/* Keep snapshots under ~1% of the time: 100x their own cost. */
	cost = now_ms() - t0;
	r->snap_interval = cost * 100 > 250 ? cost * 100 : 250;
}

static void
dirty(struct runner *r)
{
	if (r->snap_armed || r->single)
		return;
	r->snap_armed = 1;
	heap_push(&r->timers, now_ms() + r->snap_interval, T_SNAPSHOT);
}

/* -- scheduling ------------------------------------------------------ */

static int
is_handler(const struct step *s)
{
	return s->trigger == TRIG_ALL_DONE || s->trigger == TRIG_ONE_FAILED ||
	    s->trigger == TRIG_ALL_FAILED;
}

static void
enqueue(struct runner *r, uint32_t i)
{
	if (r->L[i].queued)
		return;
	r->L[i].queued = 1;
	heap_push(&r->ready, r->o->declaration_order ? 0 :
	    -r->plan.rank[i], i);
}

/* A need counts as success if it succeeded, was skipped, or may fail. */
static enum decision
decide(struct runner *r, uint32_t i, const char **why)
{
	const struct dag *g = r->g;
	uint32_t k, ok = 0, skip = 0, bad = 0, done = 0, n;

	n = g->need_off[i + 1] - g->need_off[i];
	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		const struct sstate *s = &r->rs.s[g->need[k]];

		if (!step_status_terminal(s->status))
			continue;
		done++;
		if (s->status == ST_SUCCEEDED || s->allowed)
			ok++;
		else if (s->status == ST_SKIPPED)
			skip++;
		else
			bad++;
	}
	*why = NULL;
	switch (g->s[i].trigger) {
	case TRIG_ALL_SUCCESS:
	case TRIG_NONE_FAILED:
		if (bad > 0) {
			*why = "a need did not succeed";
			return D_UPFAIL;
		}
		return done == n ? D_RUN : D_WAIT;
	case TRIG_ALL_DONE:
		return done == n ? D_RUN : D_WAIT;
	case TRIG_ALL_FAILED:
		if (ok + skip > 0) {
			*why = "trigger all_failed: a need did not fail";
			return D_SKIP;
		}
		return done == n ? D_RUN : D_WAIT;
	case TRIG_ONE_FAILED:
		if (bad > 0)
			return D_RUN;
		if (done == n) {
			*why = "trigger one_failed: no need failed";
			return D_SKIP;
		}
		return D_WAIT;
	default:	/* one_success */
		if (ok > 0)
			return D_RUN;
		if (done < n)
			return D_WAIT;
		*why = skip == n ? "trigger one_success: every need was skipped" :
		    "trigger one_success: no need succeeded";
		return skip == n ? D_SKIP : D_UPFAIL;
	}
}

static void settle(struct runner *, uint32_t);

/* Records a decided non-run (skipped, upstream_failed) and propagates. */
static void
mark_not_run(struct runner *r, uint32_t i, int st, const char *why)
{
	struct sstate *s = &r->rs.s[i];

	s->status = (uint8_t)st;
	s->finished = clock_wall_ms();
	state_set_reason(s, why);
	ev_step_skipped(r, i);
	progress_step(&r->pg, r->g->s[i].id, st, s->attempts, 0, why);
	dirty(r);
	settle(r, i);
}

/* Step i may be decidable now; queue it or mark it. */
static void
consider(struct runner *r, uint32_t i)
{
	const char *why;

	/* A cancelled or timed-out run decides nothing more: what did not
	 * start stays pending, for --resume. */
	if (!r->rs.s[i].selected || r->rs.s[i].status != ST_PENDING ||
	    r->L[i].queued || r->cancel_sig || r->deadline_hit)
		return;
	switch (decide(r, i, &why)) {
	case D_RUN:
		enqueue(r, i);
		break;
	case D_SKIP:
		mark_not_run(r, i, ST_SKIPPED, why);
		break;
	case D_UPFAIL:
		mark_not_run(r, i, ST_UPSTREAM_FAILED, why);
		break;
	default:
		break;
	}
}

/*
 * Step i reached a final status: its dependents may be decidable.  Uses an
 * explicit stack through consider -> mark_not_run, bounded by the DAG's
 * depth of consecutive non-runs; iterative callers keep it shallow.
 */
static void
settle(struct runner *r, uint32_t i)
{
	const struct dag *g = r->g;
	uint32_t k;

	for (k = g->dep_off[i]; k < g->dep_off[i + 1]; k++)
		consider(r, g->dep[k]);
}

/* -- processes ------------------------------------------------------- */

/* Creates steps/<id>/<n>.<ext> (and the directory) on first output. */
static int
open_capture(struct runner *r, uint32_t i, uint32_t att, const char *ext,
    int flags)
{
	char name[64];
	int dfd, fd;

	if ((dfd = exec_step_dir(&r->x, i, 1)) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%u.%s", att, ext);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0666);
	close(dfd);
	return fd;
}

static void
child_reset(struct runner *r)
{
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (r->nofile != 0) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = r->nofile;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	(void)signal(SIGPIPE, SIG_DFL);
	(void)sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
	if (r->rd.lockfd != -1)
		close(r->rd.lockfd);
	if (r->sigfd != -1)
		close(r->sigfd);
}

/* Forks an evaluator for step i; 0 or -1 (errno). */
static int
fork_eval(struct runner *r, uint32_t i, enum eval_mode mode)
{
	struct live *l = &r->L[i];
	pid_t pid;
	int fd;

	if ((fd = memfd_create("dagkit-eval", MFD_CLOEXEC)) == -1)
		return -1;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		child_reset(r);
		exec_eval_child(&r->x, i, r->rs.s[i].attempts, mode, fd);
	}
	(void)setpgid(pid, pid);
	l->pid = pid;
	l->memfd = fd;
	l->is_eval = 1;
	pid_put(r, pid, i);
	return 0;
}

static char *
read_memfd(int fd, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		strbuf_add(&sb, buf, (size_t)n);
		off += n;
	}
	return strbuf_detach(&sb, len);
}

static void
set_dag_env(struct runner *r, struct envv *e, uint32_t i, uint32_t att,
    int has_input)
{
	const char *id = r->g->s[i].id, *in;
	struct strbuf sb = STRBUF_INIT;
	char name[300];
	size_t at[4], k;

	if (r->env_run == NULL) {
		strbuf_adds(&sb, "DAG_RUN_ID=");
		strbuf_adds(&sb, r->rs.id);
		strbuf_addc(&sb, '\0');
		strbuf_adds(&sb, "DAG_RUN_DIR=");
		strbuf_adds(&sb, r->rd.path);
		r->env_run = strbuf_detach(&sb, NULL);
	}
	envv_put_added(e, r->env_run, 0);
	envv_put_added(e, r->env_run + strlen(r->env_run) + 1, 0);
	/* The step's four in one allocation, without printf: per attempt. */
	at[0] = sb.len;
	strbuf_adds(&sb, "DAG_STEP_ID=");
	strbuf_adds(&sb, id);
	strbuf_addc(&sb, '\0');
	at[1] = sb.len;
	strbuf_adds(&sb, "DAG_ATTEMPT=");
	strbuf_add_int(&sb, att);
	strbuf_addc(&sb, '\0');
	at[2] = sb.len;
	in = has_input == 1 ? "/input.json" : has_input == 2 ? EMPTY_INPUT :
	    NULL;
	strbuf_adds(&sb, "DAG_INPUT=");
	if (in != NULL) {
		strbuf_adds(&sb, r->rd.path);
		strbuf_adds(&sb, "/steps/");
		if (has_input == 1)
			strbuf_adds(&sb, id);
		strbuf_adds(&sb, in);
	} else
		strbuf_adds(&sb, "/dev/null");
	strbuf_addc(&sb, '\0');
	at[3] = sb.len;
	strbuf_adds(&sb, "DAG_OUTPUT=");
	strbuf_adds(&sb, r->rd.path);
	strbuf_adds(&sb, "/steps/");
	exec_output_name(r->g, i, att, name, sizeof(name));
	strbuf_adds(&sb, name);
	for (k = 0; k < 4; k++)
		envv_put_added(e, sb.buf + at[k], k == 0);
	/* sb.buf is owned by the envv now (through its first entry). */
}

/* Two pipes for a step's stdout and stderr: spare ones, else new. */
static int
take_pipes(struct runner *r, int p[2][2])
{
	if (r->nspare > 0) {
		memcpy(p, r->spare[--r->nspare], sizeof(r->spare[0]));
		return 0;
	}
	if (pipe2(p[0], O_CLOEXEC) == -1)
		return -1;
	if (pipe2(p[1], O_CLOEXEC) == -1) {
		close(p[0][0]);
		close(p[0][1]);
		p[0][0] = p[0][1] = -1;
		return -1;
	}
	return 0;
}

/*
 * Before the loop sleeps: one spare pair per running step (each may free
 * its slot next), within the fds the slots leave.  Failing is harmless:
 * take_pipes makes them then, and reports the error.
 */
static void
fill_spares(struct runner *r)
{
	uint32_t want = r->inflight < PIPE_SPARE ? r->inflight : PIPE_SPARE;
	int (*sp)[2];

	if (r->stopping || r->fd_room < r->inflight ||
	    (r->fd_room - r->inflight) * 6 / 4 < want)
		return;
	while (r->nspare < want) {
		sp = r->spare[r->nspare];
		if (pipe2(sp[0], O_CLOEXEC) == -1)
			return;
		if (pipe2(sp[1], O_CLOEXEC) == -1) {
			close(sp[0][0]);
			close(sp[0][1]);
			return;
		}
		r->nspare++;
	}
}

static void
close_later(struct runner *r, int fd)
{
	if (r->ncloseq == r->capcloseq) {
		r->capcloseq = r->capcloseq ? 2 * r->capcloseq : 16;
		r->closeq = xreallocarray(r->closeq, r->capcloseq,
		    sizeof(*r->closeq));
	}
	r->closeq[r->ncloseq++] = fd;
}

static void
close_queued(struct runner *r)
{
	size_t k;

	for (k = 0; k < r->ncloseq; k++)
		close(r->closeq[k]);
	r->ncloseq = 0;
}

/* Writes a dagkit message into the attempt's stderr file. */
static void
note_stderr(struct runner *r, uint32_t i, const char *msg)
{
	int fd;

	if ((fd = open_capture(r, i, r->rs.s[i].attempts, "stderr",
	    O_APPEND)) == -1)
		return;
	(void)!write(fd, msg, strlen(msg));
	close(fd);
}

/*
 * Starts the command of step i; on failure finishes the attempt.  The
 * child's stdout and stderr are pipes to us: the capture files are created
 * when the first byte arrives, so a quiet step costs no file at all.
 */
/* Errors of the machine, not of the step: out of processes, memory, fds. */
static int
is_resource_errno(int e)
{
	return e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE;
}

/* Step i could not go on for a system reason: it fails, the run stops
 * starting steps and exits 4. */
static void
sys_fail(struct runner *r, uint32_t i, int code, const char *msg)
{
	io_failed(r);
	finish_attempt(r, i, ST_FAILED, code, 0, msg, 0);
}

static void
spawn_cmd(struct runner *r, uint32_t i, struct cmdspec *c)
{
	struct live *l = &r->L[i];
	uint32_t att = r->rs.s[i].attempts;
	int in = -1, cwd = -1, p[2][2], e, k;
	struct envv env;
	const char *file;
	char *msg, name[300];
	pid_t pid;

	p[0][0] = p[0][1] = p[1][0] = p[1][1] = -1;
	envv_copy(&env, &r->base);
	for (k = 0; (size_t)k < c->nenv; k++)
		envv_set(&env, c->envk[k], strlen(c->envk[k]), c->envv[k],
		    strlen(c->envv[k]));
	set_dag_env(r, &env, i, att, l->has_input);
	if (c->cwd != NULL && (cwd = open(c->cwd, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		msg = xasprintf("cwd '%s': %s", c->cwd, strerror(errno));
		finish_attempt(r, i, ST_FAILED, -1, 0, msg, 0);
		free(msg);
		goto out;
	}
	if (l->has_input == 1)
		(void)snprintf(name, sizeof(name), "%s/input.json",
		    r->g->s[i].id);
	else
		(void)snprintf(name, sizeof(name), "%s", EMPTY_INPUT);
	if ((l->has_input && (in = openat(r->rd.sdfd, name, O_RDONLY |
	    O_CLOEXEC)) == -1) || take_pipes(r, p) == -1) {
		msg = xasprintf("%s: %s", l->has_input && in == -1 ?
		    "input" : "pipe", strerror(errno));
		sys_fail(r, i, -1, msg);
		free(msg);
		goto out;
	}
	file = c->shell ? "/bin/sh" : spawn_resolve(c->argv[0],
	    envv_get(&env, "PATH"));
	/* A path is checked here, from the step's cwd, not left to exec:
	 * the answer must not depend on how posix_spawn reports a failed
	 * exec (under valgrind it is a child exiting 127).  An absolute
	 * path found along PATH was checked when the cache found it. */
	if (file == NULL)
		e = ENOENT;
	else if (!c->shell && (strchr(c->argv[0], '/') != NULL ||
	    file[0] != '/') && faccessat(cwd != -1 ? cwd : AT_FDCWD, file,
	    X_OK, 0) == -1)
		e = errno == EACCES ? EACCES : ENOENT;
	else
		e = spawn_start(&(struct spawn_req){ file, c->argv, env.v,
		    in != -1 ? in : r->devnull, p[0][1], p[1][1], cwd,
		    &r->oldmask }, &pid);
	if (e != 0 && !is_resource_errno(e) && r->g->s[i].kind == CMD_RUN &&
	    !c->shell) {
		/* The direct path failed: let the shell say it its way. */
		struct strbuf sb = STRBUF_INIT;
		char *sh[4] = { "/bin/sh", "-c", NULL, NULL };

		for (k = 0; c->argv[k] != NULL; k++) {
			strbuf_adds(&sb, k ? " " : "");
			strbuf_adds(&sb, c->argv[k]);
		}
		sh[2] = sb.buf;
		e = spawn_start(&(struct spawn_req){ "/bin/sh", sh, env.v,
		    in != -1 ? in : r->devnull, p[0][1], p[1][1], cwd,
		    &r->oldmask }, &pid);
		strbuf_release(&sb);
	}
	if (e != 0 && is_resource_errno(e)) {
		/* Not the step's fault: no shell was tried, no retry. */
		msg = xasprintf("cannot start: %s", strerror(e));
		sys_fail(r, i, -1, msg);
		free(msg);
		goto out;
	}
	if (e != 0) {
		msg = xasprintf("%s: %s", c->argv[0], e == ENOENT ?
		    "command not found" : strerror(e));
		note_stderr(r, i, "dag-run: ");
		note_stderr(r, i, msg);
		note_stderr(r, i, "\n");
		finish_attempt(r, i, ST_FAILED, spawn_errno_status(e), 0, msg,
		    0);
		free(msg);
		goto out;
	}
	if (r->nofile != 0) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = r->nofile;
			(void)prlimit(pid, RLIMIT_NOFILE, &rl, NULL);
		}
	}
	l->pid = pid;
	l->is_eval = 0;
	l->phase = PH_RUN;
	pid_put(r, pid, i);
	r->rs.s[i].pid = pid;
	ev_step_started(r, i, pid);
	dirty(r);
	for (k = 0; k < 2; k++) {
		l->relay[k] = p[k][0];
		l->relayf[k] = -1;
		p[k][0] = -1;
		/* Held until the step is reaped, so a step ending does not
		 * wake us twice (pipe hang-up, then SIGCHLD). */
		l->wend[k] = p[k][1];
		p[k][1] = -1;
	}
	l->relay_pos = r->nrelaying;
	r->relaying[r->nrelaying++] = i;
out:
	for (k = 0; k < 2; k++) {
		if (p[k][0] != -1)
			close(p[k][0]);
		if (p[k][1] != -1)
			close(p[k][1]);
	}
	if (in != -1)
		close(in);
	if (cwd != -1)
		close(cwd);
	envv_release(&env);
}

/*
 * Step i cannot start: the output recorded for a need is missing or
 * damaged, or its input cannot be written (why).  Running it on other
 * data would be wrong, and the fault is the run directory's, not the
 * step's: a system error, as a full disk, told on stderr too.
 */
static void
need_damaged(struct runner *r, uint32_t i, const char *why)
{
	warnx("%s", why);
	sys_fail(r, i, -1, why);
}

static void
start_attempt(struct runner *r, uint32_t i)
{
	const struct step *s = &r->g->s[i];
	struct live *l = &r->L[i];
	struct sstate *ss = &r->rs.s[i];
	struct cmdspec c;
	char *err = NULL;
	int64_t now = now_ms(), wall = clock_wall_ms();
	int has, rc;

	l->queued = 0;
	ss->attempts++;
	ss->status = ST_RUNNING;
	ss->exit_code = -1;
	ss->signal = 0;
	state_set_reason(ss, NULL);
	if (l->t_first == 0) {
		l->t_first = now;
		if (ss->started == 0 || ss->attempts == 1)
			ss->started = wall;
	}
	l->t_attempt = now;
	l->w_attempt = wall;
	l->kill = KR_NONE;
	l->term_sent = 0;
	l->has_input = 0;
	l->deadline = s->timeout > 0 ? now + (int64_t)llround(s->timeout *
	    1000) : 0;
	if (l->deadline)
		arm(r, i, l->deadline);
	else
		l->timer = 0;
	r->inflight++;
	r->pg.running = r->inflight;
	if (s->pool >= 0)
		r->pool_used[s->pool]++;
	l->holds_slot = 1;
	if (s->kind == CMD_TRANSFORM || exec_needs_prep(r->g, i)) {
		if (fork_eval(r, i, s->kind == CMD_TRANSFORM ? EVAL_TRANSFORM :
		    EVAL_PREP) == -1) {
			err = xasprintf("fork: %s", strerror(errno));
			sys_fail(r, i, -1, err);
			free(err);
			return;
		}
		l->phase = s->kind == CMD_TRANSFORM ? PH_RUN : PH_PREP;
		if (s->kind == CMD_TRANSFORM)
			ev_step_started(r, i, l->pid);
		return;
	}
	if ((rc = exec_default_input(&r->x, i, &has, &err)) == -2) {
		need_damaged(r, i, err);
		free(err);
		return;
	}
	if (rc == -1) {
		err = xasprintf("%s/steps/%s/input.json: %s", r->rd.path,
		    r->g->s[i].id, strerror(errno));
		need_damaged(r, i, err);
		free(err);
		return;
	}
	l->has_input = has;
	if (exec_literal(&r->x, i, &c, &err) == -1) {
		finish_attempt(r, i, ST_FAILED, -1, 0, err, 0);
		free(err);
		return;
	}
	spawn_cmd(r, i, &c);
	cmdspec_release(&c);
}

static void
start_ready(struct runner *r)
{
	struct heap_item it;
	const struct step *s;

	/* Each running step holds up to six fds (two pipes, both ends, two
	 * capture files): past the limit, wait rather than fail with EMFILE. */
	while (r->inflight < r->slots && r->inflight < r->fd_room &&
	    heap_pop(&r->ready, &it) == 0) {
		s = &r->g->s[it.val];
		/* After a system error not even a handler starts. */
		if (r->cancel_sig || r->deadline_hit || r->syserr ||
		    (r->stopping && !is_handler(s))) {
			r->L[it.val].queued = 0;	/* stays pending */
			continue;
		}
		if (s->pool >= 0 && r->pool_used[s->pool] >=
		    r->g->pool_cap[s->pool]) {
			heap_push(&r->poolq[s->pool], it.key, it.val);
			continue;
		}
		start_attempt(r, it.val);
	}
}

static void
kill_step(struct runner *r, uint32_t i, int reason)
{
	struct live *l = &r->L[i];

	if (l->pid <= 0)
		return;
	if (l->kill == KR_NONE)
		l->kill = (uint8_t)reason;
	if (!l->term_sent) {
		l->term_sent = 1;
		/* Killing srun would orphan the job: cancel it by name. */
		if (!l->is_eval && is_slurm(r, i))
			scancel(r, i, 1);
		else if (killpg(l->pid, SIGTERM) == -1 && errno != ESRCH)
			warn("killpg %ld", (long)l->pid);
		else	/* a stopped process gets its SIGTERM too */
			(void)killpg(l->pid, SIGCONT);
		arm(r, i, now_ms() + (int64_t)llround(r->g->s[i].kill_grace *
		    1000));
	}
}

/* Terminates every step in flight and cancels the ones waiting. */
static void
stop_all(struct runner *r, int reason)
{
	uint32_t i;

	for (i = 0; i < r->g->n; i++) {
		if (r->L[i].phase == PH_WAIT) {
			r->L[i].phase = PH_IDLE;
			r->L[i].timer = 0;
			r->waiting--;
			finish_attempt(r, i, reason == KR_DEADLINE ?
			    ST_TIMED_OUT : ST_CANCELLED, -1, 0,
			    reason == KR_DEADLINE ? "run deadline exceeded" :
			    "cancelled while waiting to retry", 0);
		} else if (r->L[i].pid > 0)
			kill_step(r, i, reason);
	}
}

static double
backoff(const struct step *s, uint32_t attempt)
{
	double d = s->delay * pow(s->factor, attempt > 0 ? attempt - 1 : 0);

	if (d > s->max_delay)
		d = s->max_delay;
	if (s->jitter && d > 0)
		d = d / 2 + (d / 2) * ((double)arc4random() / 4294967295.0);
	return d;
}

/*
 * Whether step i gets another attempt, and after how long (*delay).  A
 * retry is a new start: none once the run is stopping (but for handlers),
 * nor one that would start past max_duration.
 */
static int
want_retry(struct runner *r, uint32_t i, int st, int code, double *delay)
{
	const struct step *s = &r->g->s[i];
	struct live *l = &r->L[i];

	if (st != ST_FAILED && st != ST_TIMED_OUT)
		return 0;
	if (r->rs.s[i].attempts >= s->attempts || r->cancel_sig ||
	    r->deadline_hit || r->aborting || r->syserr ||
	    (r->stopping && !is_handler(s)))
		return 0;
	if (s->exit_codes != NULL && (code < 0 || code > 255 ||
	    !s->exit_codes[code]))
		return 0;
	*delay = backoff(s, r->rs.s[i].attempts);
	if (s->max_duration > 0 && now_ms() + (int64_t)llround(*delay * 1000) -
	    l->t_first >= (int64_t)llround(s->max_duration * 1000))
		return 0;
	return 1;
}

/* Step i waits to retry, but the run is stopping: its last attempt's
 * outcome is the step's. */
static void
end_wait(struct runner *r, uint32_t i)
{
	struct live *l = &r->L[i];
	struct sstate *ss = &r->rs.s[i];
	char *why = ss->reason != NULL ? xstrdup(ss->reason) : NULL;

	l->phase = PH_IDLE;
	l->timer = 0;
	r->waiting--;
	finish_attempt(r, i, l->wait_st, ss->exit_code, ss->signal, why, 0);
	free(why);
}

/* on_failure stop: the steps waiting to retry end now (not handlers). */
static void
stop_waiting(struct runner *r)
{
	uint32_t i;

	for (i = 0; i < r->g->n; i++)
		if (r->L[i].phase == PH_WAIT && !is_handler(&r->g->s[i]))
			end_wait(r, i);
}

/* Gives back step i's slot and pool place, waking a pool waiter. */
static void
release_slot(struct runner *r, uint32_t i)
{
	const struct step *s = &r->g->s[i];
	struct heap_item it;

	if (!r->L[i].holds_slot)
		return;
	r->L[i].holds_slot = 0;
	r->inflight--;
	r->pg.running = r->inflight;
	if (s->pool >= 0) {
		r->pool_used[s->pool]--;
		if (heap_pop(&r->poolq[s->pool], &it) == 0)
			heap_push(&r->ready, it.key, it.val);
	}
}

static void
finish_attempt(struct runner *r, uint32_t i, int st, int code, int sig,
    const char *reason, int output)
{
	const struct step *s = &r->g->s[i];
	struct live *l = &r->L[i];
	struct sstate *ss = &r->rs.s[i];
	int64_t wall = clock_wall_ms();
	double secs = (double)(now_ms() - l->t_attempt) / 1000, delay;

	l->pid = 0;
	l->phase = PH_IDLE;
	l->timer = 0;
	release_slot(r, i);
	ss->status = (uint8_t)st;
	ss->exit_code = code;
	ss->signal = (int16_t)sig;
	ss->finished = wall;
	ss->duration = (double)(wall - ss->started) / 1000;
	ss->has_output = (uint8_t)output;
	state_set_reason(ss, reason);
	if (want_retry(r, i, st, code, &delay)) {
		ev_step_finished(r, i, secs, 1);
		ev_step_retry(r, i, delay);
		ss->status = ST_RETRY_WAIT;
		progress_step(&r->pg, s->id, ST_RETRY_WAIT, ss->attempts, secs,
		    reason);
		l->phase = PH_WAIT;
		l->wait_st = (uint8_t)st;
		r->waiting++;
		arm(r, i, now_ms() + (int64_t)llround(delay * 1000));
		dirty(r);
		return;
	}
	if ((st == ST_FAILED || st == ST_TIMED_OUT) && s->allow_failure)
		ss->allowed = 1;
	ev_step_finished(r, i, secs, 0);
	progress_step(&r->pg, s->id, st, ss->attempts, secs, reason);
	if ((st == ST_FAILED || st == ST_TIMED_OUT) && !ss->allowed) {
		progress_tail(&r->pg, r->rd.sdfd, s->id, ss->attempts);
		if (!r->any_failed)
			r->failed_first = i;
		r->any_failed = 1;
		if (r->g->on_failure == ONF_STOP && !r->stopping) {
			r->stopping = 1;
			stop_waiting(r);
		} else if (r->g->on_failure != ONF_CONTINUE)
			r->stopping = 1;
		if (r->g->on_failure == ONF_ABORT && !r->aborting) {
			r->aborting = 1;
			stop_all(r, KR_ABORT);
		}
	}
	dirty(r);
	settle(r, i);
}

/* A process of step i ended with wait status ws. */
static void
on_exit_status(struct runner *r, uint32_t i, int ws)
{
	struct live *l = &r->L[i];
	int code = -1, sig = 0, skip, sys, output, st;
	char *text, *err = NULL;
	struct cmdspec c;
	size_t len;

	memset(&c, 0, sizeof(c));
	if (WIFEXITED(ws))
		code = WEXITSTATUS(ws);
	else if (WIFSIGNALED(ws)) {
		sig = WTERMSIG(ws);
		code = 128 + sig;
	}
	if (l->kill != KR_NONE) {
		if (l->term_sent == 1 && l->timer != 0 && !l->is_eval &&
		    !is_slurm(r, i))
			group_kill_later(r, l->pid, l->timer);
		if (l->memfd != -1) {
			close(l->memfd);
			l->memfd = -1;
		}
		st = l->kill == KR_TIMEOUT || l->kill == KR_DEADLINE ?
		    ST_TIMED_OUT : ST_CANCELLED;
		finish_attempt(r, i, st, l->is_eval ? -1 : code, l->is_eval ?
		    0 : sig, l->kill == KR_TIMEOUT ? "timed out" :
		    l->kill == KR_DEADLINE ? "run deadline exceeded" :
		    l->kill == KR_ABORT ? "aborted after a failure" :
		    "cancelled", 0);
		return;
	}
	if (l->is_eval) {
		text = read_memfd(l->memfd, &len);
		close(l->memfd);
		l->memfd = -1;
		if (code != 0 || exec_parse_result(text, len, &skip, &err,
		    &sys, &output, &c) == -1) {
			free(err);
			err = xasprintf("jq evaluation crashed (%s %d)",
			    sig ? "signal" : "exit", sig ? sig : code);
			finish_attempt(r, i, ST_FAILED, -1, 0, err, 0);
		} else if (err != NULL && sys)
			need_damaged(r, i, err);
		else if (err != NULL)
			finish_attempt(r, i, ST_FAILED, l->phase == PH_POST ?
			    0 : -1, 0, err, 0);
		else if (skip) {
			l->pid = 0;
			l->phase = PH_IDLE;
			l->timer = 0;
			release_slot(r, i);
			r->rs.s[i].attempts--;
			mark_not_run(r, i, ST_SKIPPED, "when is false");
		} else if (l->phase == PH_PREP) {
			struct stat sb;
			char name[300];

			(void)snprintf(name, sizeof(name), "%s/input.json",
			    r->g->s[i].id);
			l->has_input = fstatat(r->rd.sdfd, name, &sb, 0) == 0 ?
			    1 : r->g->s[i].input < 0 && r->g->need_off[i] !=
			    r->g->need_off[i + 1] ? 2 : 0;
			l->pid = 0;
			spawn_cmd(r, i, &c);
		} else
			finish_attempt(r, i, ST_SUCCEEDED, l->phase == PH_POST ?
			    0 : -1, 0, NULL, output);
		cmdspec_release(&c);
		free(err);
		free(text);
		return;
	}
	if (code != 0) {
		err = xasprintf(sig ? "killed by signal %d" : "exit status %d",
		    sig ? sig : code);
		finish_attempt(r, i, ST_FAILED, code, sig, err, 0);
		free(err);
		return;
	}
	if (l->io_error) {
		l->io_error = 0;
		finish_attempt(r, i, ST_FAILED, code, 0, "its output could not "
		    "be written to the run directory", 0);
		return;
	}
	if (exec_needs_post(&r->x, i, r->rs.s[i].attempts)) {
		if (fork_eval(r, i, EVAL_POST) == -1) {
			err = xasprintf("fork: %s", strerror(errno));
			sys_fail(r, i, 0, err);
			free(err);
			return;
		}
		l->phase = PH_POST;
		return;
	}
	finish_attempt(r, i, ST_SUCCEEDED, 0, 0, NULL, 0);
}

static int
is_slurm(const struct runner *r, uint32_t i)
{
	uint32_t l = r->g->s[i].launcher;

	return l != JNONE && r->g->doc.n[l].kind == J_STR;
}

/* Runs scancel for step i's job (fire and forget: reaped as a stray). */
static void
scancel(struct runner *r, uint32_t i, int term)
{
	char job[400], *name, *argv[5];
	const char *file;
	pid_t pid;
	int k = 0;

	exec_slurm_job(&r->x, i, job, sizeof(job));
	name = xasprintf("--name=%s", job);
	argv[k++] = "scancel";
	argv[k++] = "--quiet";
	if (term)
		argv[k++] = "--signal=TERM";
	argv[k++] = name;
	argv[k] = NULL;
	if ((file = spawn_resolve("scancel", envv_get(&r->base, "PATH"))) ==
	    NULL || spawn_start(&(struct spawn_req){ file, argv, r->base.v,
	    r->devnull, r->devnull, r->devnull, -1, &r->oldmask }, &pid) != 0)
		warnx("cannot run scancel for job %s", job);
	free(name);
}

/* A system error (disk full...): the run cannot be trusted to go on. */
static void
io_failed(struct runner *r)
{
	r->syserr = 1;
	r->stopping = 1;
}

/* Steps reaped, drained and finished together. */
#define REAP_BATCH	16
/* -v: a line longer than this goes out in pieces. */
#define VLINE_MAX	65536

/*
 * -v: what step i wrote on stream which goes to stderr by whole lines,
 * each prefixed "[id] ", so the lines of steps running together do not
 * mix; an unfinished line waits for its end (at EOF, a newline is added).
 */
static void
relay_lines(struct runner *r, uint32_t i, int which, const char *buf,
    size_t n, int eof)
{
	struct live *l = &r->L[i];
	struct strbuf out = STRBUF_INIT, *part;
	const char *p = buf, *end = buf + n, *nl;

	if (l->vpart == NULL) {
		if (n == 0)
			return;
		l->vpart = xcalloc(2, sizeof(*l->vpart));
	}
	part = &l->vpart[which];
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		strbuf_addf(&out, "[%s] ", r->g->s[i].id);
		if (part->len > 0)
			strbuf_add(&out, part->buf, part->len);
		strbuf_reset(part);
		strbuf_add(&out, p, (size_t)(nl - p + 1));
		p = nl + 1;
	}
	if (p < end)
		strbuf_add(part, p, (size_t)(end - p));
	if (part->len > 0 && (eof || part->len >= VLINE_MAX)) {
		strbuf_addf(&out, "[%s] ", r->g->s[i].id);
		strbuf_add(&out, part->buf, part->len);
		strbuf_addc(&out, '\n');
		strbuf_reset(part);
	}
	if (out.len > 0) {
		progress_done(&r->pg);
		(void)!write(STDERR_FILENO, out.buf, out.len);
	}
	strbuf_release(&out);
}

/* Closes one relayed stream; the step leaves the list with its last. */
static void
relay_close(struct runner *r, uint32_t i, int which)
{
	struct live *l = &r->L[i];
	uint32_t last;

	if (l->vpart != NULL) {
		relay_lines(r, i, which, NULL, 0, 1);
		strbuf_release(&l->vpart[which]);
	}
	close_later(r, l->relay[which]);
	if (l->relayf[which] != -1)
		close_later(r, l->relayf[which]);
	l->relay[which] = l->relayf[which] = -1;
	if (l->relay[!which] != -1)
		return;
	free(l->vpart);
	l->vpart = NULL;
	last = r->relaying[--r->nrelaying];
	r->relaying[l->relay_pos] = last;
	r->L[last].relay_pos = l->relay_pos;
}

/* Copies what a relayed step wrote: to its file, and to stderr prefixed. */
static void
relay(struct runner *r, uint32_t i, int which)
{
	struct live *l = &r->L[i];
	char buf[65536];
	ssize_t n;

	n = read(l->relay[which], buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			relay_close(r, i, which);
		return;
	}
	/* Under the slurm launcher the task's streams go to the capture
	 * files through srun -o/-e; what srun itself says goes here. */
	if (l->relayf[which] == -1 && !l->io_error &&
	    (l->relayf[which] = open_capture(r, i, r->rs.s[i].attempts,
	    is_slurm(r, i) ? "launcher" : which == 0 ? "stdout" : "stderr",
	    is_slurm(r, i) ? O_APPEND : O_TRUNC)) == -1) {
		warn("%s/steps/%s: capture", r->rd.path, r->g->s[i].id);
		l->io_error = 1;
		io_failed(r);
	}
	if (l->relayf[which] != -1 && journal_write_all(l->relayf[which], buf,
	    (size_t)n) == -1) {
		if (!l->io_error)
			warn("%s/steps/%s/%u.%s", r->rd.path, r->g->s[i].id,
			    r->rs.s[i].attempts, which == 0 ? "stdout" :
			    "stderr");
		l->io_error = 1;
		io_failed(r);
	}
	if (r->o->verbose)
		relay_lines(r, i, which, buf, (size_t)n, 0);
}

/*
 * The steps in is[] are gone; grandchildren may hold their pipes, so read
 * what is there now and stop.  Usually every pipe just hangs up: one poll
 * for all the steps reaped together, no read.
 */
static void
drain_relays(struct runner *r, const uint32_t *is, size_t n)
{
	struct pollfd p[2 * REAP_BATCH];
	uint32_t who[2 * REAP_BATCH];
	size_t k, np = 0;
	int w;

	for (k = 0; k < n; k++) {
		struct live *l = &r->L[is[k]];

		for (w = 0; w < 2; w++) {
			if (l->wend[w] != -1) {
				close(l->wend[w]);
				l->wend[w] = -1;
			}
			if (l->relay[w] != -1) {
				p[np] = (struct pollfd){ l->relay[w], POLLIN,
				    0 };
				who[np++] = is[k] * 2 + (uint32_t)w;
			}
		}
	}
	if (np == 0 || poll(p, (nfds_t)np, 0) == -1)
		np = 0;
	for (k = 0; k < np; k++) {
		uint32_t i = who[k] / 2;
		int which = (int)(who[k] % 2);

		while ((p[k].revents & POLLIN) && r->L[i].relay[which] != -1) {
			relay(r, i, which);
			if (r->L[i].relay[which] == -1 ||
			    poll(&p[k], 1, 0) <= 0)
				break;
		}
	}
	for (k = 0; k < n; k++)
		for (w = 0; w < 2; w++)
			if (r->L[is[k]].relay[w] != -1)
				relay_close(r, is[k], w);
}

static void
reap(struct runner *r)
{
	pid_t pid;
	uint32_t i, is[REAP_BATCH], rel[REAP_BATCH];
	int ws[REAP_BATCH], st, done = 0;
	size_t n, k, nr;

	/* After the last of ours, no waitpid just to hear "none left": a
	 * stray whose SIGCHLD merged with that step's is reaped with the
	 * next SIGCHLD or by the sweep at the end. */
	do {
		for (n = 0; n < REAP_BATCH && !done; ) {
			if ((pid = waitpid(-1, &st, WNOHANG)) <= 0)
				done = 1;
			else if ((i = pid_take(r, pid)) != UINT32_MAX) {
				is[n] = i;
				ws[n++] = st;
				done = r->pidlive == 0;
			} else		/* a stray we adopted, or one we had */
				forget_inherited(r, pid);
		}
		/* Evaluators have no pipes of ours. */
		for (k = nr = 0; k < n; k++)
			if (!r->L[is[k]].is_eval)
				rel[nr++] = is[k];
		drain_relays(r, rel, nr);
		for (k = 0; k < n; k++)
			on_exit_status(r, is[k], ws[k]);
	} while (!done);
}

static void
on_signal(struct runner *r, int sig)
{
	if (sig == SIGCHLD) {
		reap(r);
		return;
	}
	if (sig == SIGINT)
		r->nsigint++;
	if (r->cancel_sig == 0) {
		r->cancel_sig = sig;
		r->stopping = 1;
		progress_done(&r->pg);
		if (!r->o->quiet)
			fprintf(stderr, "dag-run: %s: cancelling (again to "
			    "kill at once)\n", strsignal(sig));
		stop_all(r, KR_CANCEL);
	} else if (sig == SIGINT && r->nsigint >= 2) {
		uint32_t i;

		for (i = 0; i < r->g->n; i++)
			if (r->L[i].pid > 0)
				(void)killpg(r->L[i].pid, SIGKILL);
	}
}

static void
on_timer(struct runner *r, const struct heap_item *it)
{
	uint32_t i = it->val;
	struct live *l;

	if (i == T_DEADLINE) {
		if (!r->deadline_hit) {
			r->deadline_hit = 1;
			r->stopping = 1;
			progress_done(&r->pg);
			if (!r->o->quiet)
				fprintf(stderr, "dag-run: run deadline "
				    "exceeded\n");
			stop_all(r, KR_DEADLINE);
		}
		return;
	}
	if (i == T_GROUPS) {
		group_kill_due(r);
		return;
	}
	if (i == T_SNAPSHOT) {
		r->snap_armed = 0;
		snapshot(r);
		return;
	}
	l = &r->L[i];
	if (l->timer != it->key)
		return;		/* superseded */
	l->timer = 0;
	if (l->phase == PH_WAIT && (r->syserr ||
	    (r->stopping && !is_handler(&r->g->s[i])))) {
		end_wait(r, i);
		return;
	}
	if (l->phase == PH_WAIT) {
		l->phase = PH_IDLE;
		r->waiting--;
		r->rs.s[i].status = ST_PENDING;
		enqueue(r, i);
		return;
	}
	if (l->pid <= 0)
		return;
	if (!l->term_sent)
		kill_step(r, i, KR_TIMEOUT);
	else if (!l->is_eval && is_slurm(r, i) && l->term_sent == 1) {
		/* Grace is over: cancel for good; srun itself only if it
		 * still hangs after another grace. */
		scancel(r, i, 0);
		l->term_sent = 2;
		arm(r, i, now_ms() + (int64_t)llround(r->g->s[i].kill_grace *
		    1000) + 1000);
	} else if (killpg(l->pid, SIGKILL) == -1 && errno != ESRCH)
		warn("killpg %ld", (long)l->pid);
}

static int
loop_once(struct runner *r)
{
	struct pollfd *pfd;
	uint32_t *who, n = 1, i, w, k2;
	const struct heap_item *top;
	struct heap_item it;
	int timeout = -1, k, mfd, mk = -1;

	/* O(steps running), not O(steps). */
	if (2 + 2 * (size_t)r->nrelaying > r->pfdcap) {
		r->pfdcap = 2 + 4 * (size_t)r->nrelaying;
		r->pfd = xreallocarray(r->pfd, r->pfdcap, sizeof(*r->pfd));
		r->pfdwho = xreallocarray(r->pfdwho, r->pfdcap,
		    sizeof(*r->pfdwho));
	}
	pfd = r->pfd;
	who = r->pfdwho;
	pfd[0] = (struct pollfd){ r->sigfd, POLLIN, 0 };
	for (k2 = 0; k2 < r->nrelaying; k2++)
		for (i = r->relaying[k2], w = 0; w < 2; w++)
			if (r->L[i].relay[w] != -1) {
				pfd[n] = (struct pollfd){ r->L[i].relay[w],
				    POLLIN, 0 };
				who[n++] = i * 2 + w;
			}
	/* --events lines a slow reader has not taken yet. */
	if ((mfd = journal_mirror_fd(&r->jr)) != -1) {
		mk = (int)n;
		pfd[n++] = (struct pollfd){ mfd, POLLOUT, 0 };
	}
	if ((top = heap_top(&r->timers)) != NULL) {
		int64_t d = top->key - now_ms();

		timeout = d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
	}
	if (r->pg.tty && timeout == -1)
		timeout = 1000;
	if (poll(pfd, n, timeout) == -1 && errno != EINTR) {
		warn("poll");
		return -1;
	}
	/* Output first: a pipe that only hung up (the usual end of a silent
	 * step) is closed without a read, and the reaping below then has
	 * nothing left to drain.  The pipes block: one read per POLLIN. */
	if (mk != -1 && pfd[mk].revents != 0)
		journal_mirror_push(&r->jr);
	for (k = 1; (uint32_t)k < n; k++) {
		if (k == mk)
			continue;
		i = who[k] / 2;
		w = who[k] % 2;
		if (r->L[i].relay[w] != pfd[k].fd)
			continue;
		if (pfd[k].revents & POLLIN)
			relay(r, i, (int)w);
		else if (pfd[k].revents & (POLLHUP | POLLERR | POLLNVAL))
			relay_close(r, i, (int)w);
	}
	if (pfd[0].revents & POLLIN) {
		struct signalfd_siginfo si[8];
		ssize_t got;
		size_t j;

		do {
			got = read(r->sigfd, si, sizeof(si));
			for (j = 0; got > 0 && j < (size_t)got / sizeof(si[0]);
			    j++)
				on_signal(r, (int)si[j].ssi_signo);
		} while (got == (ssize_t)sizeof(si));
	}
	while ((top = heap_top(&r->timers)) != NULL && top->key <= now_ms()) {
		(void)heap_pop(&r->timers, &it);
		on_timer(r, &it);
	}
	progress_tick(&r->pg, -1);
	return 0;
}

/* -- strays and the end ---------------------------------------------- */

/* Our children, from /proc (each thread's list): *n of them, malloc'd. */
static pid_t *
list_children(size_t *n)
{
	char path[64], buf[4096];
	DIR *dp;
	struct dirent *de;
	pid_t *v = NULL;
	size_t cap = 0;
	ssize_t got;
	int fd;

	*n = 0;
	(void)snprintf(path, sizeof(path), "/proc/%ld/task", (long)getpid());
	if ((dp = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(dp)) != NULL) {
		char *p, *end;

		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(buf, sizeof(buf), "%s/%s/children", path,
		    de->d_name);
		if ((fd = open(buf, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		for (p = buf; *p != '\0'; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid <= 0)
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[(*n)++] = (pid_t)pid;
		}
	}
	closedir(dp);
	return v;
}

/* An inherited child was reaped: its pid may come back as a stray's. */
static void
forget_inherited(struct runner *r, pid_t pid)
{
	size_t k;

	for (k = 0; k < r->ninherited; k++)
		if (r->inherited[k] == pid) {
			r->inherited[k] = r->inherited[--r->ninherited];
			return;
		}
}

/*
 * Signals our children but those we had before any step started (a shell
 * that execs dag-run may leave its own, such as a >(...) reading our
 * stdout): not ours to end.  Returns how many were signalled.
 */
static int
signal_children(const struct runner *r, int sig)
{
	pid_t *v;
	size_t n, k, j;
	int count = 0;

	v = list_children(&n);
	for (k = 0; k < n; k++) {
		for (j = 0; j < r->ninherited; j++)
			if (r->inherited[j] == v[k])
				break;
		if (j == r->ninherited && kill(v[k], sig) == 0)
			count++;
	}
	free(v);
	return count;
}

/*
 * Whatever steps left behind (background jobs, daemons that double-forked
 * and were reparented to us as subreaper) gets SIGTERM, then SIGKILL after
 * a grace, and is reaped.  Bounded: 2 s of grace, 10 s in all.
 */
static void
sweep_strays(struct runner *r)
{
	int64_t start = now_ms(), term_at = start;
	int sig = SIGTERM;

	while (signal_children(r, sig) > 0 && now_ms() - start < 10000) {
		struct pollfd p = { r->sigfd, POLLIN, 0 };
		struct signalfd_siginfo si;

		pid_t pid;

		(void)poll(&p, 1, 50);
		while (read(r->sigfd, &si, sizeof(si)) == sizeof(si))
			;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			forget_inherited(r, pid);
		if (sig == SIGTERM && now_ms() - term_at >= 2000)
			sig = SIGKILL;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int
final_status(struct runner *r)
{
	uint32_t i;
	int failed = 0, pending = 0;

	for (i = 0; i < r->g->n; i++) {
		const struct sstate *s = &r->rs.s[i];

		if (!s->selected)
			continue;
		if (((s->status == ST_FAILED || s->status == ST_TIMED_OUT) &&
		    !s->allowed) || s->status == ST_UPSTREAM_FAILED)
			failed = 1;
		if (s->status == ST_PENDING)
			pending = 1;
	}
	if (r->cancel_sig)
		return RUN_CANCELLED;
	if (r->deadline_hit)
		return RUN_TIMED_OUT;
	return failed || pending || r->syserr ? RUN_FAILED : RUN_SUCCEEDED;
}

static void
ev_run(struct runner *r, int started, int resumed)
{
	struct strbuf *sb;
	uint32_t counts[ST__N], i;
	int first = 1;

	if (started) {
		sb = journal_begin(&r->jr, "run_started");
		strbuf_adds(sb, ",\"dag\":");
		strbuf_add_json_str(sb, r->rs.dag, strlen(r->rs.dag));
		strbuf_adds(sb, ",\"params\":");
		strbuf_adds(sb, r->rs.params);
		strbuf_addf(sb, ",\"pid\":%ld,\"dir\":", (long)getpid());
		strbuf_add_json_str(sb, r->rd.path, strlen(r->rd.path));
		if (r->rs.external)
			strbuf_adds(sb, ",\"external\":true");
		if (resumed)
			strbuf_adds(sb, ",\"resume\":true");
		if (r->o->ntargets > 0 || resumed) {
			strbuf_adds(sb, ",\"targets\":[");
			for (i = 0; i < r->g->n; i++)
				if (r->rs.s[i].selected) {
					strbuf_adds(sb, first ? "" : ",");
					strbuf_add_json_str(sb, r->g->s[i].id,
					    strlen(r->g->s[i].id));
					first = 0;
				}
			strbuf_addc(sb, ']');
		}
	} else {
		sb = journal_begin(&r->jr, "run_finished");
		strbuf_addf(sb, ",\"status\":\"%s\",\"counts\":",
		    run_status_names[r->rs.status]);
		state_counts(&r->rs, counts);
		state_emit_counts(counts, sb);
		strbuf_adds(sb, ",\"duration\":");
		strbuf_add_secs(sb, (double)(r->rs.finished -
		    r->rs.started) / 1000);
	}
	ev_end(r);
}

/* -- set-up ---------------------------------------------------------- */

static const char *const dag_vars[] = { "DAG_RUN_ID", "DAG_RUN_DIR",
    "DAG_STEP_ID", "DAG_ATTEMPT", "DAG_INPUT", "DAG_OUTPUT", NULL };

static int
setup_process(struct runner *r)
{
	sigset_t set;
	struct rlimit rl;

	/* Children must find 0, 1 and 2 open, whatever we were given. */
	while ((r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1 &&
	    r->devnull <= 2)
		(void)fcntl(r->devnull, F_SETFD, 0);
	if (r->devnull == -1)
		return -1;
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &r->oldmask) == -1)
		return -1;
	sigdelset(&r->oldmask, SIGCHLD);
	sigdelset(&r->oldmask, SIGINT);
	sigdelset(&r->oldmask, SIGTERM);
	sigdelset(&r->oldmask, SIGHUP);
	if ((r->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return -1;
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	r->inherited = list_children(&r->ninherited);
	/* Many steps at once need many fds: raise the soft limit. */
	/* Raised only as far as the slots need, and put back for every
	 * child (prlimit after spawn, setrlimit in forked evaluators). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)r->slots * 6 + 64 + 4 * PIPE_SPARE) {
		r->nofile = rl.rlim_cur;
		rl.rlim_cur = (rlim_t)r->slots * 6 + 64 + 4 * PIPE_SPARE <
		    rl.rlim_max ? (rlim_t)r->slots * 6 + 64 + 4 * PIPE_SPARE :
		    rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	r->fd_room = 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64)
		r->fd_room = rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX :
		    (uint32_t)((rl.rlim_cur - 32) / 6);
	return 0;
}

/* Base environment: ours without DAG_* vars, plus the DAG's plain env. */
static void
setup_env(struct runner *r)
{
	const struct jdoc *j = &r->g->doc;
	uint32_t k, n;

	envv_from(&r->base, environ, dag_vars);
	if (r->g->env == JNONE)
		return;
	for (k = r->g->env + 1, n = 0; k < j->n[r->g->env].end;
	    k = j->n[k + 1].end, n++) {
		struct strbuf kb = STRBUF_INIT, vb = STRBUF_INIT;

		if (r->g->env_tmpl != NULL && r->g->env_tmpl[n].n > 0)
			continue;	/* rendered per step */
		jdoc_str(j, k, &kb);
		jdoc_str(j, k + 1, &vb);
		envv_set(&r->base, strbuf_str(&kb), kb.len, strbuf_str(&vb),
		    vb.len);
		strbuf_release(&kb);
		strbuf_release(&vb);
	}
}

/* params: the DAG's, overridden by -p key=value (unknown keys refused). */
static int
setup_params(struct runner *r, char **kv, int n)
{
	const struct jdoc *j = &r->g->doc;
	struct strbuf sb = STRBUF_INIT;
	jv p = r->g->params != JNONE ? jdoc_jv(j, r->g->params) : jv_object();
	int i;

	/* A resumed run or a dag-step keeps the params the run began with. */
	if (r->rs.params != NULL) {
		jv rec = json_parse_quiet(r->rs.params, strlen(r->rs.params));

		if (jv_get_kind(rec) == JV_KIND_OBJECT)
			p = jv_object_merge(p, rec);
		else
			jv_free(rec);
		free(r->rs.params);
		r->rs.params = NULL;
	}

	for (i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		char *key;

		if (eq == NULL || eq == kv[i]) {
			warnx("-p '%s': expected key=value", kv[i]);
			jv_free(p);
			return -1;
		}
		key = xstrndup(kv[i], (size_t)(eq - kv[i]));
		if (!jv_object_has(jv_copy(p), jv_string(key))) {
			warnx("-p %s: unknown parameter (the DAG's params "
			    "declare the keys)", key);
			free(key);
			jv_free(p);
			return -1;
		}
		p = jv_object_set(p, jv_string(key), jv_string(eq + 1));
		free(key);
	}
	json_append(&sb, p);
	r->rs.params = strbuf_detach(&sb, NULL);
	r->x.params = p;
	return 0;
}

static int
select_targets(struct runner *r)
{
	uint32_t i, k, *q, head = 0, tail = 0;
	int64_t t;
	int t_i;

	if (r->o->ntargets == 0)
		return 0;
	for (i = 0; i < r->g->n; i++)
		r->rs.s[i].selected = 0;
	q = xcalloc(r->g->n + 1, sizeof(*q));
	for (t_i = 0; t_i < r->o->ntargets; t_i++) {
		t = dag_find(r->g, r->o->targets[t_i],
		    strlen(r->o->targets[t_i]));
		if (t < 0) {
			warnx("--target %s: no such step", r->o->targets[t_i]);
			free(q);
			return -1;
		}
		if (!r->rs.s[t].selected) {
			r->rs.s[t].selected = 1;
			q[tail++] = (uint32_t)t;
		}
	}
	while (head < tail) {
		i = q[head++];
		for (k = r->g->need_off[i]; k < r->g->need_off[i + 1]; k++)
			if (!r->rs.s[r->g->need[k]].selected) {
				r->rs.s[r->g->need[k]].selected = 1;
				q[tail++] = r->g->need[k];
			}
	}
	free(q);
	return 0;
}

static void
dry_run(struct runner *r)
{
	uint32_t i, v;
	struct cmdspec c;
	char *err;

	for (i = 0; i < r->g->n; i++) {
		v = r->g->order[i];
		if (!r->rs.s[v].selected)
			continue;
		printf("%s", r->g->s[v].id);
		if (r->g->s[v].kind == CMD_TRANSFORM)
			printf("\ttransform\n");
		else if (r->g->s[v].tp != NULL)
			printf("\t(templates: rendered when it runs)\n");
		else if (exec_literal(&r->x, v, &c, &err) == 0) {
			int k;

			putchar('\t');
			for (k = c.shell ? 2 : 0; c.argv[k] != NULL; k++)
				printf("%s%s", k > (c.shell ? 2 : 0) ? " " : "",
				    c.argv[k]);
			putchar('\n');
			cmdspec_release(&c);
		} else {
			printf("\t%s\n", err);
			free(err);
		}
	}
}

static void
runner_free(struct runner *r)
{
	uint32_t p;

	if (r->L != NULL) {
		uint32_t i;

		for (i = 0; i < r->g->n; i++) {
			if (r->L[i].memfd != -1)
				close(r->L[i].memfd);
			if (r->L[i].vpart != NULL) {
				strbuf_release(&r->L[i].vpart[0]);
				strbuf_release(&r->L[i].vpart[1]);
				free(r->L[i].vpart);
			}
		}
	}
	close_queued(r);
	free(r->closeq);
	free(r->gk);
	free(r->inherited);
	while (r->nspare > 0) {
		int (*sp)[2] = r->spare[--r->nspare];

		close(sp[0][0]);
		close(sp[0][1]);
		close(sp[1][0]);
		close(sp[1][1]);
	}
	free(r->L);
	free(r->relaying);
	free(r->pfd);
	free(r->pfdwho);
	free(r->env_run);
	free(r->npend);
	free(r->pidtab);
	free(r->pidstep);
	heap_release(&r->ready);
	heap_release(&r->timers);
	for (p = 0; r->poolq != NULL && p < r->g->npools; p++)
		heap_release(&r->poolq[p]);
	free(r->poolq);
	free(r->pool_used);
	envv_release(&r->base);
	journal_close(&r->jr);
	if (r->sigfd != -1)
		close(r->sigfd);
	if (r->devnull > 2)
		close(r->devnull);
	plan_release(&r->plan);
	jv_free(r->x.params);
	free(r->x.checked);
	state_release(&r->rs);
	rundir_close(&r->rd);
	dag_free(r->g);
	diag_release(&r->d);
	spawn_cache_free();
}

static void
runner_alloc(struct runner *r)
{
	uint32_t i, cap = 64;

	r->L = xcalloc(r->g->n + 1, sizeof(*r->L));
	r->relaying = xcalloc(r->g->n + 1, sizeof(*r->relaying));
	for (i = 0; i < r->g->n; i++) {
		r->L[i].memfd = -1;
		r->L[i].relay[0] = r->L[i].relay[1] = -1;
		r->L[i].wend[0] = r->L[i].wend[1] = -1;
		r->L[i].relayf[0] = r->L[i].relayf[1] = -1;
	}
	while (cap < (r->slots + 4) * 4)
		cap *= 2;
	r->pidcap = cap;
	r->pidtab = xcalloc(cap, sizeof(*r->pidtab));
	r->pidstep = xcalloc(cap, sizeof(*r->pidstep));
	r->poolq = xcalloc(r->g->npools + 1, sizeof(*r->poolq));
	r->pool_used = xcalloc(r->g->npools + 1, sizeof(*r->pool_used));
	r->x.checked = xcalloc(r->g->n + 1, sizeof(*r->x.checked));
	heap_init(&r->ready);
	heap_init(&r->timers);
}

/* The pid table fills with tombstones; rebuild it now and then. */
static void
pid_compact(struct runner *r)
{
	pid_t *tab = r->pidtab;
	uint32_t *step = r->pidstep;
	size_t k;

	/* Tombstones fill the table: rehash its live pids once they and
	 * the tombstones take three quarters.  O(table), every ~cap/4
	 * starts. */
	if (r->pidused * 4 < r->pidcap * 3)
		return;
	r->pidtab = xcalloc(r->pidcap, sizeof(*r->pidtab));
	r->pidstep = xcalloc(r->pidcap, sizeof(*r->pidstep));
	r->pidused = r->pidlive = 0;
	for (k = 0; k < r->pidcap; k++)
		if (tab[k] > 0)
			pid_put(r, tab[k], step[k]);
	free(tab);
	free(step);
}

/*
 * Runs the loop until nothing is in flight, nothing waits to retry and
 * nothing more can start.  Returns the run status.
 */
static int
drive(struct runner *r)
{
	uint32_t i;

	/* The events of one turn of the loop go out in one write, before
	 * it sleeps: a finished step and the one started in its slot. */
	r->jr.batch = 1;
	for (i = 0; i < r->g->n; i++)
		consider(r, r->g->order[i]);
	for (;;) {
		start_ready(r);
		close_queued(r);
		journal_sync(r);
		if (r->inflight == 0 && r->waiting == 0 &&
		    (r->ready.n == 0 || r->stopping))
			break;
		fill_spares(r);
		pid_compact(r);
		if (loop_once(r) == -1) {
			r->syserr = 1;
			break;
		}
	}
	r->jr.batch = 0;
	journal_sync(r);
	return final_status(r);
}

static unsigned
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static int
exit_for(struct runner *r)
{
	if (r->cancel_sig)
		return exit_for_signal(r->cancel_sig);
	if (r->rs.status == RUN_TIMED_OUT)
		return EXIT_TIMEOUT;
	if (r->syserr)
		return EXIT_SYSERR;
	return r->rs.status == RUN_SUCCEEDED ? EXIT_OK : EXIT_FAILED;
}

/* Takes <runs>/<name>.lock for --lock; -2 when another run holds it. */
static int
cron_lock(struct runner *r, const char *runs)
{
	char *clean = rundir_clean_name(r->g->name);
	char *path = xasprintf("%s/%s.lock", runs, clean);
	int64_t until = now_ms() + (int64_t)llround(r->o->lock_wait * 1000);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int fd;

	free(clean);
	(void)rundir_mkdirs(runs);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd == -1) {
		warn("open '%s'", path);
		free(path);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK || now_ms() >= until) {
			if (errno == EWOULDBLOCK)
				warnx("'%s' is locked: another run of \"%s\" "
				    "is in progress", path, r->g->name);
			else
				warn("flock '%s'", path);
			close(fd);
			free(path);
			return errno == EWOULDBLOCK ? -2 : -1;
		}
		(void)nanosleep(&ts, NULL);
	}
	free(path);
	return fd;		/* held until exit */
}

/* 1 if the environment block env (len bytes) holds exactly var. */
static int
env_has(const char *env, size_t len, const char *var)
{
	size_t n = strlen(var) + 1;	/* with its NUL */
	const char *p = env, *end = env + len;

	while (p < end && (p = memmem(p, (size_t)(end - p), var, n)) != NULL) {
		if (p == env || p[-1] == '\0')
			return 1;
		p++;
	}
	return 0;
}

/*
 * Kills what a dead dag-run or dag-step of this run left running: every
 * process whose environment has our DAG_RUN_ID (and DAG_STEP_ID=step,
 * unless step is NULL), found by a scan of /proc, so steps it started but
 * never journaled, and daemons they left, are found too.
 */
static void
kill_orphans(struct runner *r, const char *step)
{
	char *run, *sid = NULL, *env;
	struct dirent *de;
	size_t len;
	DIR *dp;
	int fd, dfd;
	long pid;

	if ((dp = opendir("/proc")) == NULL)
		return;
	run = xasprintf("DAG_RUN_ID=%s", r->rs.id);
	if (step != NULL)
		sid = xasprintf("DAG_STEP_ID=%s", step);
	dfd = dirfd(dp);
	while ((de = readdir(dp)) != NULL) {
		char *end;

		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid())
			continue;
		if ((fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			continue;
		env = rundir_read(fd, "environ", &len);
		close(fd);
		if (env != NULL && env_has(env, len, run) &&
		    (sid == NULL || env_has(env, len, sid)))
			(void)kill((pid_t)pid, SIGKILL);
		free(env);
	}
	closedir(dp);
	free(run);
	free(sid);
}

/* Makes step i pending again, in memory and in the journal. */
static void
reset_step(struct runner *r, uint32_t i)
{
	struct sstate *s = &r->rs.s[i];

	s->status = ST_PENDING;
	s->has_output = 0;
	s->allowed = 0;
	s->exit_code = -1;
	s->signal = 0;
	s->started = 0;
	s->finished = 0;
	state_set_reason(s, NULL);
	(void)ev_step(r, "step_reset", i);
	(void)journal_end(&r->jr);
}

static int
prepare_resume(struct runner *r)
{
	uint32_t i;

	kill_orphans(r, NULL);
	for (i = 0; i < r->g->n; i++) {
		struct sstate *s = &r->rs.s[i];

		if (!s->selected || s->status == ST_SUCCEEDED ||
		    s->status == ST_SKIPPED || s->status == ST_PENDING)
			continue;
		reset_step(r, i);
	}
	journal_check(r);
	return 0;
}

/* Resolves --resume RUN: a directory, or "latest" in the runs dir. */
static char *
resume_dir(const char *runs, const char *arg)
{
	struct stat st;

	if (strcmp(arg, "latest") == 0)
		return xasprintf("%s/latest", runs);
	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		return xstrdup(arg);
	return xasprintf("%s/%s", runs, arg);
}

/*
 * --launcher: the document gets a top-level "launcher" member in front, so
 * the loader checks it like one written in the file (a file that has its
 * own is refused as a duplicate key).
 */
static struct dag *
load_with_launcher(const char *path, const char *display, const char *l,
    struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;
	char *buf, *brace;
	size_t len;

	if (json_read_file(path, &buf, &len, d) == -1)
		return NULL;
	if ((brace = memchr(buf, '{', len)) == NULL) {
		free(buf);
		diag_add(d, DIAG_ERROR, NULL, "the document must be a JSON "
		    "object");
		return NULL;
	}
	strbuf_add(&sb, buf, (size_t)(brace - buf) + 1);
	strbuf_adds(&sb, "\"launcher\":");
	if (strcmp(l, "slurm") == 0)
		strbuf_adds(&sb, "\"slurm\"");
	else
		strbuf_adds(&sb, l);
	strbuf_addc(&sb, ',');
	strbuf_add(&sb, brace + 1, len - (size_t)(brace - buf) - 1);
	free(buf);
	buf = strbuf_detach(&sb, &len);
	return dag_load_buf(buf, len, display, NULL, 0, d);
}

static int
load_dag(struct runner *r, const char *path, const char *display)
{
	diag_init(&r->d, display);
	if (r->o->launcher != NULL && r->o->resume == NULL && !r->single)
		r->g = load_with_launcher(path, display, r->o->launcher, &r->d);
	else
		r->g = dag_load(path, display, 0, &r->d);
	diag_print(&r->d, stderr);
	if (r->g == NULL)
		return r->d.worst == DIAG_SYSERR ? EXIT_SYSERR : EXIT_USAGE;
	return EXIT_OK;
}

int
run_main(const struct run_opts *o)
{
	struct runner r;
	const char *runs = rundir_runs(o->runs);
	char *dir = NULL, *id = NULL, *dagpath = NULL;
	int rc, lockfd = -1, resumed = o->resume != NULL;
	unsigned jobs;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.sigfd = -1;
	r.devnull = -1;
	r.x.params = jv_invalid();
	if (o->run_id != NULL && rundir_id_ok(o->run_id) == -1) {
		warnx("--run-id '%s': not a valid run id (no '/', not '.', "
		    "'..' or 'latest')", o->run_id);
		return EXIT_USAGE;
	}
	if (resumed) {
		struct stat st;

		dir = resume_dir(runs, o->resume);
		if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
			warnx("--resume %s: no such run (%s)", o->resume, dir);
			rc = EXIT_USAGE;
			goto out;
		}
		dagpath = xasprintf("%s/dag.json", dir);
		rc = load_dag(&r, dagpath, dagpath);
	} else
		rc = load_dag(&r, o->input, input_name(o->input));
	if (rc != EXIT_OK)
		goto out;
	state_init(&r.rs, r.g);
	if (resumed) {
		/* The journal first: it holds the params the run began with. */
		size_t len;
		char *text = NULL;
		int fd;

		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
		    -1) {
			text = rundir_read(fd, "events.jsonl", &len);
			close(fd);
		}
		if (text != NULL) {
			journal_replay(text, len, r.g, &r.rs);
			free(text);
		}
	}
	jobs = o->jobs ? o->jobs : r.g->max_parallel ? r.g->max_parallel :
	    ncpu();
	r.slots = jobs;
	if (o->keep_going)
		r.g->on_failure = ONF_CONTINUE;
	if (setup_params(&r, o->params, o->nparams) == -1 ||
	    select_targets(&r) == -1) {
		rc = EXIT_USAGE;
		goto out;
	}
	{
		double *hist = history_estimates(runs, r.g);

		plan_compute(r.g, hist, &r.plan);
		free(hist);
	}
	r.x.g = r.g;
	r.x.rs = &r.rs;
	r.x.rd = &r.rd;
	r.x.max_output = 16u << 20;
	if (o->dry_run) {
		dry_run(&r);
		rc = EXIT_OK;
		goto out;
	}
	if (o->lock && (lockfd = cron_lock(&r, runs)) < 0) {
		rc = lockfd == -2 ? EXIT_LOCKED : EXIT_SYSERR;
		lockfd = -1;
		goto out;
	}
	if (resumed) {
		if ((rc = rundir_open(&r.rd, dir, 0, &r.d)) != 0) {
			diag_print(&r.d, stderr);
			if (rc == -2)
				warnx("'%s' is locked: a dag-run or dag-step "
				    "is working on it", dir);
			rc = rc == -2 ? EXIT_LOCKED : EXIT_SYSERR;
			goto out;
		}
		r.rs.id = xstrdup(r.rd.id);
	} else {
		if (o->run_dir != NULL) {
			const char *b = strrchr(o->run_dir, '/');

			/* The directory's name is the id dag-step will see. */
			id = xstrdup(b != NULL && b[1] != '\0' ? b + 1 :
			    o->run_dir);
		} else
			id = o->run_id ? xstrdup(o->run_id) :
			    rundir_new_id(r.g->name);
		diag_release(&r.d);
		diag_init(&r.d, "dag-run");
		if (rundir_create(&r.rd, runs, o->run_dir, id, &r.d) != 0) {
			diag_print(&r.d, stderr);
			rc = r.d.worst == DIAG_SYSERR ? EXIT_SYSERR :
			    EXIT_USAGE;
			goto out;
		}
		r.rs.id = xstrdup(id);
	}
	free(r.rs.dag);
	r.rs.dag = xstrdup(r.g->name);
	free(r.rs.dir);
	r.rs.dir = xstrdup(r.rd.path);
	r.rs.pid = getpid();
	if (journal_open(&r.jr, r.rd.dfd, r.rs.id) == -1) {
		warn("open '%s/events.jsonl'", r.rd.path);
		rc = EXIT_SYSERR;
		goto out;
	}
	if (!resumed) {
		struct strbuf sb = STRBUF_INIT;

		dag_emit(r.g, &sb, NULL);
		strbuf_adds(&sb, "}\n");
		if (rundir_replace(r.rd.dfd, "dag.json", sb.buf, sb.len) ==
		    -1) {
			warn("write '%s/dag.json'", r.rd.path);
			strbuf_release(&sb);
			rc = EXIT_SYSERR;
			goto out;
		}
		strbuf_release(&sb);
	} else
		prepare_resume(&r);
	r.rs.started = resumed && r.rs.started ? r.rs.started :
	    clock_wall_ms();
	r.rs.status = RUN_RUNNING;
	r.rs.finished = 0;
	if (o->events)
		journal_mirror(&r.jr, STDOUT_FILENO);
	if (o->prepare) {
		r.rs.external = 1;
		ev_run(&r, 1, 0);
		snapshot(&r);
		(void)rundir_latest(&r.rd, &r.d);
		printf("%s\n", r.rd.path);
		rc = r.syserr ? EXIT_SYSERR : EXIT_OK;
		goto out;
	}
	if (setup_process(&r) == -1) {
		warn("setting up signals");
		rc = EXIT_SYSERR;
		goto out;
	}
	setup_env(&r);
	runner_alloc(&r);
	{
		uint32_t i, total = 0;

		for (i = 0; i < r.g->n; i++)
			total += r.rs.s[i].selected &&
			    !step_status_terminal(r.rs.s[i].status);
		progress_init(&r.pg, total, o->quiet);
	}
	ev_run(&r, 1, resumed);
	snapshot(&r);
	if (rundir_latest(&r.rd, &r.d) == -1)
		diag_print(&r.d, stderr);
	if (r.g->timeout > 0)
		heap_push(&r.timers, now_ms() + (int64_t)llround(r.g->timeout *
		    1000), T_DEADLINE);
	r.rs.status = (uint8_t)drive(&r);
	sweep_strays(&r);
	r.rs.finished = clock_wall_ms();
	ev_run(&r, 0, 0);
	snapshot(&r);
	progress_done(&r.pg);
	if (o->json) {
		struct strbuf sb = STRBUF_INIT;

		state_emit(&r.rs, r.g, &sb);
		strbuf_addc(&sb, '\n');
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	}
	if (!o->quiet && r.rs.status != RUN_SUCCEEDED)
		fprintf(stderr, "dag-run: run %s %s (%s)\n", r.rs.id,
		    run_status_names[r.rs.status], r.rd.path);
	rc = exit_for(&r);
out:
	if (lockfd != -1)
		close(lockfd);
	free(dir);
	free(id);
	free(dagpath);
	runner_free(&r);
	return rc;
}

/* After a dag-step: rebuild run.json from the journal, under its lock. */
static void
step_finish_run(struct runner *r)
{
	struct runstate fresh;
	struct strbuf sb = STRBUF_INIT;
	size_t len;
	char *text;
	uint32_t i;
	int all = 1;

	if (flock(r->jr.fd, LOCK_EX) == -1)
		return;
	state_init(&fresh, r->g);
	fresh.id = xstrdup(r->rs.id);
	fresh.dag = xstrdup(r->g->name);
	if ((text = rundir_read(r->rd.dfd, "events.jsonl", &len)) != NULL) {
		journal_replay(text, len, r->g, &fresh);
		free(text);
	}
	if (fresh.params == NULL)
		fresh.params = xstrdup(r->rs.params);
	for (i = 0; i < r->g->n; i++)
		if (fresh.s[i].selected &&
		    !step_status_terminal(fresh.s[i].status))
			all = 0;
	/* Every step has an end: the run's status follows from them, again
	 * after a step that had failed is run once more. */
	if (all && fresh.external) {
		int failed = 0, st;

		for (i = 0; i < r->g->n; i++)
			if (fresh.s[i].selected &&
			    (((fresh.s[i].status == ST_FAILED ||
			    fresh.s[i].status == ST_TIMED_OUT) &&
			    !fresh.s[i].allowed) ||
			    fresh.s[i].status == ST_UPSTREAM_FAILED ||
			    fresh.s[i].status == ST_CANCELLED))
				failed = 1;
		st = failed ? RUN_FAILED : RUN_SUCCEEDED;
		if (fresh.status != st) {
			struct runstate keep = r->rs;

			fresh.status = st;
			fresh.finished = clock_wall_ms();
			r->rs = fresh;
			ev_run(r, 0, 0);
			r->rs = keep;
		}
	}
	state_emit(&fresh, r->g, &sb);
	strbuf_addc(&sb, '\n');
	if (rundir_replace(r->rd.dfd, "run.json", sb.buf, sb.len) == -1) {
		warn("write '%s/run.json'", r->rd.path);
		r->syserr = 1;
	}
	(void)flock(r->jr.fd, LOCK_UN);
	strbuf_release(&sb);
	state_release(&fresh);
}

static int
step_exit(struct runner *r, uint32_t i)
{
	const struct sstate *s = &r->rs.s[i];

	if (r->cancel_sig)
		return exit_for_signal(r->cancel_sig);
	if (r->syserr)
		return EXIT_SYSERR;
	switch (s->status) {
	case ST_SUCCEEDED:
	case ST_SKIPPED:
		return EXIT_OK;
	case ST_TIMED_OUT:
		return s->allowed ? EXIT_OK : EXIT_TIMEOUT;
	case ST_FAILED:
		return s->allowed ? EXIT_OK : EXIT_FAILED;
	default:
		return EXIT_FAILED;
	}
}

/*
 * dag-step --finish: after an external engine ran what it would, every step
 * still pending gets the status dag-run would have given it (its trigger
 * can no longer be met: upstream_failed or skipped; otherwise cancelled,
 * because the engine never ran it), and the run is closed.
 */
static int
finish_external(const struct step_opts *o)
{
	struct run_opts ro = { 0 };
	struct runner r;
	char *dagpath, *text;
	const char *why;
	size_t len;
	uint32_t k, v, npending = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	ro.quiet = o->quiet;
	r.o = &ro;
	r.sigfd = r.devnull = -1;
	r.single = 1;
	r.x.params = jv_invalid();
	dagpath = xasprintf("%s/dag.json", o->run_dir);
	rc = load_dag(&r, dagpath, dagpath);
	free(dagpath);
	if (rc != EXIT_OK)
		goto out;
	state_init(&r.rs, r.g);
	if ((rc = rundir_open(&r.rd, o->run_dir, 1, &r.d)) != 0) {
		diag_print(&r.d, stderr);
		rc = rc == -2 ? EXIT_LOCKED : EXIT_USAGE;
		goto out;
	}
	r.rs.id = xstrdup(r.rd.id);
	if (journal_open(&r.jr, r.rd.dfd, r.rs.id) == -1 ||
	    flock(r.jr.fd, LOCK_EX) == -1) {
		warn("%s/events.jsonl", o->run_dir);
		rc = EXIT_SYSERR;
		goto out;
	}
	if ((text = rundir_read(r.rd.dfd, "events.jsonl", &len)) != NULL) {
		journal_replay(text, len, r.g, &r.rs);
		free(text);
	}
	if (setup_params(&r, NULL, 0) == -1) {
		rc = EXIT_USAGE;
		goto out;
	}
	runner_alloc(&r);
	plan_compute(r.g, NULL, &r.plan);
	for (k = 0; k < r.g->n; k++)
		if (r.rs.s[k].selected && r.rs.s[k].status == ST_PENDING)
			npending++;
	/* A line for each step it gives a status to. */
	progress_init(&r.pg, npending, o->quiet);
	for (k = 0; k < r.g->n; k++) {
		v = r.g->order[k];
		if (!r.rs.s[v].selected || r.rs.s[v].status != ST_PENDING)
			continue;
		switch (decide(&r, v, &why)) {
		case D_SKIP:
			mark_not_run(&r, v, ST_SKIPPED, why);
			break;
		case D_UPFAIL:
			mark_not_run(&r, v, ST_UPSTREAM_FAILED, why);
			break;
		default:
			mark_not_run(&r, v, ST_CANCELLED, "never run by the "
			    "external engine");
		}
	}
	(void)flock(r.jr.fd, LOCK_UN);
	step_finish_run(&r);
	rc = r.syserr ? EXIT_SYSERR : EXIT_OK;
out:
	runner_free(&r);
	return rc;
}

int
step_main(const struct step_opts *o)
{
	struct run_opts ro = { 0 };
	struct runner r;
	char *dagpath, *text, name[300];
	size_t len;
	int64_t idx;
	uint32_t i, k;
	int rc, sfd = -1;

	if (o->finish)
		return finish_external(o);
	memset(&r, 0, sizeof(r));
	ro.verbose = o->verbose;
	ro.quiet = o->quiet;
	r.o = &ro;
	r.sigfd = -1;
	r.devnull = -1;
	r.single = 1;
	r.x.params = jv_invalid();
	dagpath = xasprintf("%s/dag.json", o->run_dir);
	rc = load_dag(&r, dagpath, dagpath);
	free(dagpath);
	if (rc != EXIT_OK)
		goto out;
	if ((idx = dag_find(r.g, o->step, strlen(o->step))) < 0) {
		warnx("%s: no step \"%s\" in this run", o->run_dir, o->step);
		rc = EXIT_USAGE;
		goto out;
	}
	i = (uint32_t)idx;
	state_init(&r.rs, r.g);
	if ((rc = rundir_open(&r.rd, o->run_dir, 1, &r.d)) != 0) {
		diag_print(&r.d, stderr);
		if (rc == -2)
			warnx("'%s' is locked by a dag-run working on it",
			    o->run_dir);
		rc = rc == -2 ? EXIT_LOCKED : EXIT_USAGE;
		goto out;
	}
	if (rundir_step_dir(&r.rd, r.g->s[i].id) == -1 ||
	    (snprintf(name, sizeof(name), "%s/lock", r.g->s[i].id), (sfd =
	    openat(r.rd.sdfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) ==
	    -1)) {
		warn("%s/steps/%s", o->run_dir, r.g->s[i].id);
		rc = EXIT_SYSERR;
		goto out;
	}
	if (flock(sfd, LOCK_EX | LOCK_NB) == -1) {
		warnx("step \"%s\" is locked by another process", o->step);
		rc = EXIT_LOCKED;
		goto out;
	}
	r.rs.id = xstrdup(r.rd.id);
	r.rs.dag = xstrdup(r.g->name);
	r.rs.dir = xstrdup(r.rd.path);
	if ((text = rundir_read(r.rd.dfd, "events.jsonl", &len)) != NULL) {
		journal_replay(text, len, r.g, &r.rs);
		free(text);
	}
	if (setup_params(&r, NULL, 0) == -1) {
		rc = EXIT_USAGE;
		goto out;
	}
	for (k = r.g->need_off[i]; k < r.g->need_off[i + 1]; k++)
		if (!step_status_terminal(r.rs.s[r.g->need[k]].status)) {
			warnx("step \"%s\" needs \"%s\", which has not "
			    "finished (%s)", o->step, r.g->s[r.g->need[k]].id,
			    step_status_names[r.rs.s[r.g->need[k]].status]);
			rc = EXIT_USAGE;
			goto out;
		}
	for (k = 0; k < r.g->n; k++)
		r.rs.s[k].selected = k == i;
	r.slots = 1;
	plan_compute(r.g, NULL, &r.plan);
	r.x.g = r.g;
	r.x.rs = &r.rs;
	r.x.rd = &r.rd;
	r.x.max_output = 16u << 20;
	if (o->dry_run) {
		dry_run(&r);
		rc = EXIT_OK;
		goto out;
	}
	if (journal_open(&r.jr, r.rd.dfd, r.rs.id) == -1) {
		warn("open '%s/events.jsonl'", r.rd.path);
		rc = EXIT_SYSERR;
		goto out;
	}
	if (setup_process(&r) == -1) {
		warn("setting up signals");
		rc = EXIT_SYSERR;
		goto out;
	}
	/* What an earlier dag-step of this step, or a dead dag-run, left. */
	kill_orphans(&r, o->step);
	reset_step(&r, i);
	setup_env(&r);
	runner_alloc(&r);
	progress_init(&r.pg, 1, o->quiet);
	(void)drive(&r);
	sweep_strays(&r);
	progress_done(&r.pg);
	step_finish_run(&r);
	if (o->json) {
		const struct sstate *s = &r.rs.s[i];
		struct strbuf sb = STRBUF_INIT;

		strbuf_adds(&sb, "{\"id\":");
		strbuf_add_json_str(&sb, o->step, strlen(o->step));
		strbuf_addf(&sb, ",\"status\":\"%s\",\"attempts\":%u",
		    step_status_names[s->status], s->attempts);
		if (s->exit_code >= 0)
			strbuf_addf(&sb, ",\"exit_code\":%d", s->exit_code);
		else
			strbuf_adds(&sb, ",\"exit_code\":null");
		strbuf_adds(&sb, ",\"duration\":");
		strbuf_add_json_num(&sb, s->duration);
		strbuf_adds(&sb, ",\"reason\":");
		if (s->reason != NULL)
			strbuf_add_json_str(&sb, s->reason, strlen(s->reason));
		else
			strbuf_adds(&sb, "null");
		strbuf_adds(&sb, "}\n");
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	}
	rc = step_exit(&r, i);
out:
	if (sfd != -1)
		close(sfd);
	runner_free(&r);
	return rc;
}
