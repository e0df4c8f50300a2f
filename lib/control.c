/*
 * A run's control from another process: dag-run --cancel, --pause and
 * --unpause.  See control.h for why the lock, not a pid file, says who
 * works on a run.  Interface: control.h.
 */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "clock.h"
#include "control.h"
#include "diag.h"
#include "exitcode.h"
#include "jdoc.h"
#include "journal.h"
#include "run.h"
#include "rundir.h"
#include "runner.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const opt_names[] = { NULL, "--cancel", "--pause",
    "--unpause" };

/* 1 if process pid has the file st (as we see it) open. */
static int
has_open(pid_t pid, const struct stat *st)
{
	char path[64];
	struct dirent *e;
	struct stat fs;
	DIR *d;
	int found = 0;

	(void)snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		found = fstatat(dirfd(d), e->d_name, &fs, 0) == 0 &&
		    fs.st_dev == st->st_dev && fs.st_ino == st->st_ino;
	}
	(void)closedir(d);
	return found;
}

/*
 * The process that holds the lock file st exclusive (flock), as
 * /proc/locks lists it: 0 when none does (*shared set when some hold it
 * shared: dag-step), -1 when the table cannot be read.  The table names
 * a file by device and inode; a stacked file system (overlayfs) may show
 * another device than stat(2) does, so an inode that matches is also
 * checked to be open in the holder.
 */
static pid_t
lock_holder(const struct stat *st, int *shared)
{
	char line[256], type[16], mode[16];
	unsigned maj, min;
	unsigned long long ino;
	long pid;
	pid_t who = 0;
	FILE *fp;

	*shared = 0;
	if ((fp = fopen("/proc/locks", "re")) == NULL)
		return -1;
	while (who == 0 && fgets(line, sizeof(line), fp) != NULL) {
		/* "N: FLOCK ADVISORY WRITE pid maj:min:ino 0 EOF"; a
		 * waiter's line has "->" before its type. */
		if (strstr(line, "->") != NULL || sscanf(line,
		    "%*d: %15s %*s %15s %ld %x:%x:%llu", type, mode, &pid,
		    &maj, &min, &ino) != 6 || strcmp(type, "FLOCK") != 0 ||
		    ino != (unsigned long long)st->st_ino || pid <= 0)
			continue;
		if ((maj != major(st->st_dev) || min != minor(st->st_dev)) &&
		    !has_open((pid_t)pid, st))
			continue;
		if (strcmp(mode, "WRITE") == 0)
			who = (pid_t)pid;
		else
			*shared = 1;
	}
	(void)fclose(fp);
	return who;
}

/*
 * Reads the journal in dir past off: *paused follows its run_paused and
 * run_unpaused lines (it stays as it is without any), *end is where the
 * journal ends.  Returns 1 if a line of event is among them, else 0 (a
 * journal not there yet is empty), -1 if it cannot be read.  The lines
 * are ours, so an event's name is found as written (a string value
 * cannot hold it unescaped).
 */
static int
journal_scan(const char *dir, off_t off, const char *event, int *paused,
    off_t *end)
{
	static const char key[] = "\"event\":\"";
	char *path = xasprintf("%s/events.jsonl", dir), buf[8192];
	const char *p;
	struct strbuf sb = STRBUF_INIT;
	size_t elen = event != NULL ? strlen(event) : 0;
	ssize_t n;
	int fd, found = 0;

	fd = rundir_open_file(AT_FDCWD, path, O_RDONLY);
	free(path);
	*end = off;
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	while ((n = pread(fd, buf, sizeof(buf), *end)) > 0) {
		strbuf_add(&sb, buf, (size_t)n);
		*end += n;
	}
	close(fd);
	if (n == -1) {
		strbuf_release(&sb);
		return -1;
	}
	for (p = sb.len > 0 ? strbuf_str(&sb) : ""; (p = strstr(p, key)) !=
	    NULL;) {
		p += sizeof(key) - 1;
		if (event != NULL && strncmp(p, event, elen) == 0 &&
		    p[elen] == '"')
			found = 1;
		if (strncmp(p, "run_paused\"", 11) == 0)
			*paused = 1;
		else if (strncmp(p, "run_unpaused\"", 13) == 0)
			*paused = 0;
	}
	strbuf_release(&sb);
	return found;
}

/* Whether run.json in dir says the run is paused: 1, 0, -1 unreadable. */
static int
snapshot_paused(const char *dir)
{
	char *path = xasprintf("%s/run.json", dir), *buf;
	struct jdoc j;
	struct diag d;
	uint32_t k;
	size_t len;
	int paused = -1;

	buf = rundir_read(AT_FDCWD, path, &len);
	diag_init(&d, path);
	if (buf != NULL && jdoc_parse(&j, buf, len, &d) == 0) {
		paused = j.n[0].kind == J_OBJ && (k = jdoc_get(&j, 0,
		    "paused")) != JNONE && j.n[k].kind == J_TRUE;
		jdoc_release(&j);
	}
	diag_release(&d);
	free(buf);
	free(path);
	return paused;
}

/* The answer when the process signalled was no dag-run working on the
 * run (one that was ending, or an idle --unpause holding the lock for a
 * moment), or when such an --unpause holds it: look again. */
#define AGAIN	(-100)

/* --unpause of a run no dag-run works on: recorded, for --resume. */
static int
unpause_idle(const char *runs, const char *arg, const char *dir)
{
	struct runctx c;
	off_t end;
	int rc, paused = 0;

	/* Not paused: so already (a run dag-step works on, too). */
	if (journal_scan(dir, 0, NULL, &paused, &end) == 0 && !paused)
		return EXIT_OK;
	runctx_init(&c);
	if ((rc = run_open(&c, runs, arg, "--unpause", 1)) != EXIT_OK) {
		if (rc == EXIT_LOCKED)
			rc = AGAIN;	/* another --unpause, or a dag-run */
		goto out;
	}
	if (!c.rs.paused)
		goto out;	/* another --unpause came first */
	c.rs.paused = 0;
	if (journal_open(&c.jr, c.rd.dfd, c.rs.id) == -1) {
		run_say(errno, "open '%s/events.jsonl'", c.rd.path);
		rc = EXIT_SYSERR;
		goto out;
	}
	journal_run_control(&c.jr, "run_unpaused", NULL, getpid());
	if (journal_flush(&c.jr) == -1 || runctx_snapshot(&c) == -1) {
		run_say(errno, "write '%s'", c.rd.path);
		rc = EXIT_SYSERR;
	}
out:
	runctx_release(&c);
	return rc;
}

/*
 * Whether the dag-run pid that held the lock st has ended: its pidfd
 * polls readable, or (no pidfd) the lock has another holder or none.
 * 1 if so, 0 if not after ms milliseconds, -1 on error.
 */
static int
ended(int pidfd, pid_t pid, const struct stat *st, int ms)
{
	struct pollfd p = { pidfd, POLLIN, 0 };
	int n, shared;

	if (pidfd == -1) {
		if (lock_holder(st, &shared) != pid)
			return 1;
		return poll(NULL, 0, ms) == -1 && errno != EINTR ? -1 : 0;
	}
	n = poll(&p, 1, ms);
	return n == -1 ? (errno == EINTR ? 0 : -1) : n > 0;
}

/*
 * Waits for the dag-run pid behind pidfd to record event in its journal
 * past off (where the run was paused or not): until it has ended
 * (to_end), or until the journal has it and run.json, written after it,
 * agrees with the journal, whatever a later --pause or --unpause made of
 * it (30 s at most).  0 once so; 1 when it ended without recording the
 * event; -1 when it does not answer.
 */
static int
await(int pidfd, pid_t pid, const struct stat *st, const char *dir,
    off_t off, int paused, const char *event, int to_end)
{
	int64_t until = clock_mono_ms() + 30000;
	off_t end;
	int n, p;

	for (;;) {
		p = paused;
		if (!to_end && journal_scan(dir, off, event, &p, &end) == 1 &&
		    snapshot_paused(dir) == p)
			return 0;
		n = ended(pidfd, pid, st, to_end && pidfd != -1 ? -1 : 20);
		if (n == -1)
			return -1;
		if (n > 0)
			return journal_scan(dir, off, event, &p, &end) == 1 ?
			    0 : 1;
		if (!to_end && clock_mono_ms() >= until) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/*
 * Sends sig to the lock's holder pid: through pidfd, or where the kernel
 * (or valgrind, or a seccomp filter) has no pidfds, with kill(2) right
 * after the lock is seen held by pid again; that leaves only the
 * microseconds between the two for pid to end and be reused.
 */
static int
send_sig(int pidfd, pid_t pid, const struct stat *st, int sig)
{
	int shared;

	if (pidfd != -1)
		return pidfd_send_signal(pidfd, sig, NULL, 0);
	if (lock_holder(st, &shared) != pid) {
		errno = ESRCH;
		return -1;
	}
	return kill(pid, sig);
}

/*
 * The lock's holder, as a pidfd (-1 where there are none) in *pidfd:
 * 1 found, 0 none (*shared: dag-step holds it), -1 error (said).
 */
static int
find_holder(const char *opt, const struct stat *st, pid_t *pid, int *pidfd,
    int *shared)
{
	int err;

	*pidfd = -1;
	if ((*pid = lock_holder(st, shared)) == 0)
		return 0;
	if (*pid == -1) {
		run_say(errno, "%s: read '/proc/locks'", opt);
		return -1;
	}
	/* A pidfd, then the lock again: the process it names holds the
	 * lock now, so it is that dag-run and no later owner of its pid. */
	*pidfd = pidfd_open(*pid, 0);
	err = *pidfd == -1 ? errno : 0;
	if (err != 0 && err != ESRCH && err != ENOSYS && err != EPERM) {
		run_say(err, "%s: pidfd_open %ld", opt, (long)*pid);
		return -1;
	}
	if (err == ESRCH || lock_holder(st, shared) != *pid) {
		if (*pidfd != -1)
			close(*pidfd);
		*pidfd = -1;
		return 0;
	}
	return 1;
}

/* Finds, checks and signals the dag-run of the run in dir, once. */
static int
try_signal(const char *runs, const char *arg, const char *dir, int what,
    const struct stat *st)
{
	static const int sig[] = { 0, SIGTERM, SIGUSR1, SIGUSR2 };
	static const char *const event[] = { NULL, "run_cancel_requested",
	    "run_paused", "run_unpaused" };
	const char *opt = opt_names[what];
	pid_t pid;
	off_t off;
	int shared = 0, pidfd, paused = 0, rc;

	if ((rc = find_holder(opt, st, &pid, &pidfd, &shared)) == -1)
		return EXIT_SYSERR;
	if (rc == 0) {
		if (what == CTL_UNPAUSE)
			return unpause_idle(runs, arg, dir);
		run_say(0, "%s %s: the run is not running%s", opt, arg, shared ?
		    " under dag-run (dag-step works on it: cancel the jobs "
		    "that run dag-step)" : "");
		return EXIT_FAILED;
	}
	if (journal_scan(dir, 0, NULL, &paused, &off) == -1) {
		run_say(errno, "%s: read '%s/events.jsonl'", opt, dir);
		rc = EXIT_SYSERR;
	} else if ((what == CTL_PAUSE && paused) || (what == CTL_UNPAUSE &&
	    !paused))
		rc = EXIT_OK;	/* so already */
	else if (send_sig(pidfd, pid, st, sig[what]) == -1) {
		rc = errno == ESRCH ? AGAIN : EXIT_SYSERR;
		if (rc == EXIT_SYSERR)
			run_say(errno, "%s: signal pid %ld", opt, (long)pid);
	} else {
		/* --cancel waits for the end, the others for the journal;
		 * either way the journal must say it was done. */
		rc = await(pidfd, pid, st, dir, off, paused, event[what],
		    what == CTL_CANCEL);
		rc = rc == 0 ? EXIT_OK : rc == 1 ? AGAIN : EXIT_SYSERR;
		if (rc == EXIT_SYSERR)
			run_say(errno, "%s %s: waiting for dag-run (pid %ld)",
			    opt, arg, (long)pid);
	}
	if (pidfd != -1)
		close(pidfd);
	return rc;
}

int
control_run(const char *runs, const char *arg, int what)
{
	char *dir = run_dir_of(runs, arg), *lock = NULL;
	struct stat st;
	int rc = EXIT_USAGE, tries;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		run_say(0, "%s %s: no such run (%s)", opt_names[what], arg, dir);
		goto out;
	}
	lock = xasprintf("%s/dag.json", dir);
	if (access(lock, F_OK) == -1) {
		run_say(0, "%s %s: no such run (%s has no dag.json)",
		    opt_names[what], arg, dir);
		goto out;
	}
	free(lock);
	lock = xasprintf("%s/lock", dir);
	for (tries = 0;; tries++) {
		if (stat(lock, &st) == 0)
			rc = try_signal(runs, arg, dir, what, &st);
		else if (what == CTL_UNPAUSE)
			rc = unpause_idle(runs, arg, dir);
		else {
			run_say(0, "%s %s: the run is not running",
			    opt_names[what], arg);
			rc = EXIT_FAILED;
		}
		if (rc != AGAIN)
			break;
		if (tries == 50) {
			run_say(0, "%s %s: the process holding the run's lock "
			    "does not answer as dag-run does", opt_names[what],
			    arg);
			rc = EXIT_SYSERR;
			break;
		}
	}
out:
	free(lock);
	free(dir);
	return rc;
}
