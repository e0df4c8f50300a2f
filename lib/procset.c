/*
 * Children as opaque tags.  Signals are events: CHLD, INT, TERM and HUP
 * are blocked and read from a signalfd in the caller's poll set.  Every
 * child starts in a process group of its own, with the signal mask dagkit
 * was given and the soft fd limit it was given (dagkit raises its own for
 * the pipes of many steps), so a step cannot tell it was started by us.
 * The pid table is open addressing sized to the slots, so mapping a
 * reaped pid to its tag is O(1).  This file never sees a DAG, a journal
 * or a terminal; it prints nothing.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "procset.h"
#include "spawn.h"
#include "xalloc.h"

/* Fds a running step holds (two pipes, both ends, two capture files), and
 * what dagkit keeps for itself. */
#define FDS_PER_STEP	6
#define FDS_OWN		96

static void
pid_put(struct procset *ps, pid_t pid, uint32_t tag)
{
	size_t k, mask = ps->cap - 1;

	for (k = (size_t)pid & mask; ps->pid[k] > 0; k = (k + 1) & mask)
		;
	if (ps->pid[k] == 0)
		ps->used++;
	ps->live++;
	ps->pid[k] = pid;
	ps->tag[k] = tag;
}

/* Removes pid; returns its tag, or PROCSET_NONE for one not ours. */
static uint32_t
pid_take(struct procset *ps, pid_t pid)
{
	size_t k, mask = ps->cap - 1;

	for (k = (size_t)pid & mask; ps->pid[k] != 0; k = (k + 1) & mask)
		if (ps->pid[k] == pid) {
			ps->pid[k] = -1;	/* tombstone */
			ps->live--;
			return ps->tag[k];
		}
	return PROCSET_NONE;
}

static int
pid_known(const struct procset *ps, pid_t pid)
{
	size_t k, mask = ps->cap - 1;

	for (k = (size_t)pid & mask; ps->pid[k] != 0; k = (k + 1) & mask)
		if (ps->pid[k] == pid)
			return 1;
	return 0;
}

void
procset_compact(struct procset *ps)
{
	pid_t *pid = ps->pid;
	uint32_t *tag = ps->tag;
	size_t k;

	/* Once live pids and tombstones take three quarters; every
	 * ~cap/4 starts. */
	if (ps->used * 4 < ps->cap * 3)
		return;
	ps->pid = xcalloc(ps->cap, sizeof(*ps->pid));
	ps->tag = xcalloc(ps->cap, sizeof(*ps->tag));
	ps->used = ps->live = 0;
	for (k = 0; k < ps->cap; k++)
		if (pid[k] > 0)
			pid_put(ps, pid[k], tag[k]);
	free(pid);
	free(tag);
}

/* As many fds as slots steps need, up to the hard limit.  *room: steps
 * that fit in what we have. */
static void
raise_nofile(struct procset *ps, uint32_t slots, uint32_t *room)
{
	rlim_t want = (rlim_t)slots * FDS_PER_STEP + FDS_OWN;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < want) {
		ps->nofile = rl.rlim_cur;
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	*room = 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64)
		*room = rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX :
		    (uint32_t)((rl.rlim_cur - 32) / FDS_PER_STEP);
}

void
procset_control_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);	/* --pause */
	sigaddset(set, SIGUSR2);	/* --unpause */
}

int
procset_init(struct procset *ps, uint32_t slots, uint32_t *room)
{
	sigset_t set;
	size_t cap = 64;
	int k;

	memset(ps, 0, sizeof(*ps));
	ps->sigfd = -1;
	/* Children must find 0, 1 and 2 open, whatever we were given. */
	while ((ps->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1 &&
	    ps->devnull <= 2)
		(void)fcntl(ps->devnull, F_SETFD, 0);
	if (ps->devnull == -1)
		return -1;
	(void)signal(SIGPIPE, SIG_IGN);
	procset_control_signals(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &ps->oldmask) == -1)
		return -1;
	/* Children get the mask we had, without what we read. */
	for (k = 1; k < NSIG; k++)
		if (sigismember(&set, k) == 1)
			(void)sigdelset(&ps->oldmask, k);
	if ((ps->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return -1;
	raise_nofile(ps, slots, room);
	while (cap < ((size_t)slots + 4) * 4)
		cap *= 2;
	ps->cap = cap;
	ps->pid = xcalloc(cap, sizeof(*ps->pid));
	ps->tag = xcalloc(cap, sizeof(*ps->tag));
	return 0;
}

void
procset_release(struct procset *ps)
{
	if (ps->sigfd != -1)
		close(ps->sigfd);
	if (ps->devnull > 2)
		close(ps->devnull);
	free(ps->pid);
	free(ps->tag);
	free(ps->gk);
	memset(ps, 0, sizeof(*ps));
	ps->sigfd = ps->devnull = -1;
}

void
procset_shut_in_child(struct procset *ps, int fd)
{
	if (ps->nshut < (int)nitems(ps->shut))
		ps->shut[ps->nshut++] = fd;
}

/* Back to the limit dagkit was given, for a child. */
static void
put_back_nofile(const struct procset *ps, pid_t pid)
{
	struct rlimit rl;

	if (ps->nofile == 0 || getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	rl.rlim_cur = ps->nofile;
	if (pid == 0)
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	else
		(void)prlimit(pid, RLIMIT_NOFILE, &rl, NULL);
}

int
procset_spawn(struct procset *ps, struct spawn_req *req, uint32_t tag,
    pid_t *pid)
{
	int e;

	req->mask = &ps->oldmask;
	if ((e = spawn_start(req, pid)) != 0)
		return e;
	put_back_nofile(ps, *pid);
	if (tag != PROCSET_NONE)
		pid_put(ps, *pid, tag);
	return 0;
}

pid_t
procset_fork(struct procset *ps, uint32_t tag)
{
	pid_t pid;
	int k;

	(void)fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		(void)setpgid(0, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		put_back_nofile(ps, 0);
		(void)signal(SIGPIPE, SIG_DFL);
		(void)sigprocmask(SIG_SETMASK, &ps->oldmask, NULL);
		for (k = 0; k < ps->nshut; k++)
			close(ps->shut[k]);
		if (ps->sigfd != -1)
			close(ps->sigfd);
		return 0;
	}
	(void)setpgid(pid, pid);	/* both sides, so no race */
	pid_put(ps, pid, tag);
	return pid;
}

void
procset_term(pid_t pgid)
{
	/* ESRCH: gone already.  EPERM cannot happen for our own groups. */
	if (killpg(pgid, SIGTERM) == 0)
		(void)killpg(pgid, SIGCONT);
}

void
procset_kill(pid_t pgid)
{
	(void)killpg(pgid, SIGKILL);
}

void
procset_kill_later(struct procset *ps, pid_t pgid, int64_t at)
{
	if (killpg(pgid, 0) == -1)
		return;		/* the group is gone too */
	if (ps->ngk == ps->capgk) {
		ps->capgk = ps->capgk ? 2 * ps->capgk : 8;
		ps->gk = xreallocarray(ps->gk, ps->capgk, sizeof(*ps->gk));
	}
	ps->gk[ps->ngk].pgid = pgid;
	ps->gk[ps->ngk++].at = at;
}

int64_t
procset_wake(const struct procset *ps)
{
	int64_t at = -1;
	size_t k;

	for (k = 0; k < ps->ngk; k++)
		if (at == -1 || ps->gk[k].at < at)
			at = ps->gk[k].at;
	return at;
}

void
procset_tick(struct procset *ps, int64_t now)
{
	size_t k = 0;

	while (k < ps->ngk) {
		if (ps->gk[k].at > now) {
			k++;
			continue;
		}
		/* The group outlived its leader's pid, so the pid was not
		 * reused; unless the group ended and a child of ours got it. */
		if (!pid_known(ps, ps->gk[k].pgid))
			procset_kill(ps->gk[k].pgid);
		ps->gk[k] = ps->gk[--ps->ngk];
	}
}

size_t
procset_reap(struct procset *ps, struct procset_exit *out, size_t max,
    int *more)
{
	size_t n = 0;
	uint32_t tag;
	pid_t pid;
	int st;

	*more = 0;
	while (n < max) {
		if ((pid = waitpid(-1, &st, WNOHANG)) <= 0)
			return n;
		tag = pid_take(ps, pid);
		out[n++] = (struct procset_exit){ tag, pid, st };
		/* A stray whose SIGCHLD merged with this one is reaped with
		 * the next SIGCHLD, or by the sweep at the end. */
		if (tag != PROCSET_NONE && ps->live == 0)
			return n;
	}
	*more = 1;
	return n;
}

size_t
procset_signals(struct procset *ps, int *sig, pid_t *from, size_t max)
{
	struct signalfd_siginfo si[8];
	size_t n = 0, k;
	ssize_t got;

	do {
		got = read(ps->sigfd, si, sizeof(si));
		for (k = 0; got > 0 && k < (size_t)got / sizeof(si[0]) &&
		    n < max; k++) {
			from[n] = (pid_t)si[k].ssi_pid;
			sig[n++] = (int)si[k].ssi_signo;
		}
	} while (got == (ssize_t)sizeof(si) && n < max);
	return n;
}

size_t
procset_live(const struct procset *ps)
{
	return ps->live;
}
