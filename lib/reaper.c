/*
 * Strays and orphans, from /proc.  Our children are listed from
 * /proc/self/task/<tid>/children (every thread's list); a dead run's
 * processes by reading /proc/<pid>/environ.  Both are bounded scans done
 * once, at the end of a run or before a resume, never per step.  Nothing
 * here knows a DAG or prints.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "clock.h"
#include "reaper.h"
#include "rundir.h"
#include "xalloc.h"

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

void
reaper_init(struct reaper *rp)
{
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	rp->inherited = list_children(&rp->n);
}

void
reaper_release(struct reaper *rp)
{
	free(rp->inherited);
	rp->inherited = NULL;
	rp->n = 0;
}

void
reaper_forget(struct reaper *rp, pid_t pid)
{
	size_t k;

	for (k = 0; k < rp->n; k++)
		if (rp->inherited[k] == pid) {
			rp->inherited[k] = rp->inherited[--rp->n];
			return;
		}
}

/* Signals our children but the inherited; returns how many. */
static int
signal_children(const struct reaper *rp, int sig)
{
	pid_t *v;
	size_t n, k, j;
	int count = 0;

	v = list_children(&n);
	for (k = 0; k < n; k++) {
		for (j = 0; j < rp->n; j++)
			if (rp->inherited[j] == v[k])
				break;
		if (j == rp->n && kill(v[k], sig) == 0)
			count++;
	}
	free(v);
	return count;
}

void
reaper_sweep(struct reaper *rp, int sigfd)
{
	int64_t start = clock_mono_ms();
	int sig = SIGTERM;
	pid_t pid;

	while (signal_children(rp, sig) > 0 && clock_mono_ms() - start <
	    10000) {
		struct pollfd p = { sigfd, POLLIN, 0 };
		struct signalfd_siginfo si;

		(void)poll(&p, 1, 50);
		while (read(sigfd, &si, sizeof(si)) == sizeof(si))
			;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			reaper_forget(rp, pid);
		if (sig == SIGTERM && clock_mono_ms() - start >= 2000)
			sig = SIGKILL;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
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

void
reaper_kill_orphans(const char *run_id, const char *dir, const char *step)
{
	char *run, *rdir, *sid = NULL, *env;
	struct dirent *de;
	size_t len;
	DIR *dp;
	int fd, dfd;
	long pid;

	if ((dp = opendir("/proc")) == NULL)
		return;
	run = xasprintf("DAG_RUN_ID=%s", run_id);
	rdir = xasprintf("DAG_RUN_DIR=%s", dir);
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
		    env_has(env, len, rdir) &&
		    (sid == NULL || env_has(env, len, sid)))
			(void)kill((pid_t)pid, SIGKILL);
		free(env);
	}
	closedir(dp);
	free(run);
	free(rdir);
	free(sid);
}

/* When pid started, wall ms (from boot time and its start ticks), or -1. */
static int64_t
started_at(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long ticks = -1, btime = -1;
	long hz = sysconf(_SC_CLK_TCK);
	int k, fd;
	ssize_t n;
	FILE *fp;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* After the command's name (in parentheses, any bytes in it), the
	 * fields from the third: starttime is the 22nd. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (k = 3, p++; k < 22 && p != NULL; k++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %lld", &ticks) != 1 || hz <= 0)
		return -1;
	if ((fp = fopen("/proc/stat", "re")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), fp) != NULL)
		if (sscanf(buf, "btime %lld", &btime) == 1)
			break;
	fclose(fp);
	return btime < 0 ? -1 : btime * 1000 + ticks * 1000 / hz;
}

/* How far the start /proc gives may be from the journal's: boot time is
 * whole seconds, and the journal line is written after the spawn. */
#define START_SLACK_MS	5000

void
reaper_kill_group(pid_t pid, int64_t at)
{
	int64_t t;

	if (pid <= 1 || at <= 0 || (t = started_at(pid)) < 0 ||
	    t < at - START_SLACK_MS || t > at + START_SLACK_MS)
		return;
	(void)killpg(pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}
