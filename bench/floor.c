/*
 * floor N P: posix_spawn /bin/true N times with at most P children in
 * flight, reaping each with waitpid.  The lower bound for any runner that
 * starts N processes P at a time: no parsing, no bookkeeping, no output.
 *
 * floor N P capture: the same, but each child's stdout and stderr are two
 * pipes to us, read while it runs: the lower bound for a runner that keeps
 * each process's output apart.  One poll loop watches the pipes and
 * SIGCHLD (a signalfd); our write ends are held until the child is reaped
 * (so its end is one wakeup, not three), then the pipes are drained with
 * one poll(0) and closed.  What is read is thrown away.
 *
 *   cc -O2 -o bench/out/floor bench/floor.c
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static long
arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "floor: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void
reap(void)
{
	int st;

	for (;;) {
		if (waitpid(-1, &st, 0) == -1) {
			if (errno == EINTR)
				continue;
			perror("floor: waitpid");
			exit(1);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "floor: /bin/true failed\n");
			exit(1);
		}
		return;
	}
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* One child of the capture mode: its pid and its two pipes. */
struct kid {
	pid_t	pid;
	int	p[2][2];	/* stdout, stderr: [0] ours to read, [1] its */
};

static void
drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int
capture(long n, long p)
{
	char *const av[] = { "true", NULL };
	struct kid *k = calloc((size_t)p, sizeof(*k));
	struct pollfd *pf = calloc((size_t)(2 * p + 1), sizeof(*pf));
	long started = 0, inflight = 0, i, j, np;
	posix_spawn_file_actions_t fa;
	struct signalfd_siginfo si[8];
	struct pollfd q[2];
	sigset_t chld;
	pid_t pid;
	int sfd, null, st, e, w;

	if (k == NULL || pf == NULL)
		die("floor: calloc");
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) == -1 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		die("floor: setup");
	while (started < n || inflight > 0) {
		for (i = 0; i < p && started < n; i++) {
			if (k[i].pid != 0)
				continue;
			if (pipe2(k[i].p[0], O_CLOEXEC) == -1 ||
			    pipe2(k[i].p[1], O_CLOEXEC) == -1)
				die("floor: pipe2");
			if (posix_spawn_file_actions_init(&fa) != 0 ||
			    posix_spawn_file_actions_adddup2(&fa, null, 0) ||
			    posix_spawn_file_actions_adddup2(&fa,
			    k[i].p[0][1], 1) ||
			    posix_spawn_file_actions_adddup2(&fa,
			    k[i].p[1][1], 2))
				die("floor: file actions");
			e = posix_spawn(&k[i].pid, "/bin/true", &fa, NULL, av,
			    environ);
			posix_spawn_file_actions_destroy(&fa);
			if (e != 0) {
				errno = e;
				die("floor: posix_spawn");
			}
			started++;
			inflight++;
		}
		pf[0] = (struct pollfd){ sfd, POLLIN, 0 };
		for (i = 0, np = 1; i < p; i++)
			for (j = 0; k[i].pid != 0 && j < 2; j++)
				pf[np++] = (struct pollfd){ k[i].p[j][0],
				    POLLIN, 0 };
		if (poll(pf, (nfds_t)np, -1) == -1 && errno != EINTR)
			die("floor: poll");
		for (i = 1; i < np; i++)
			if (pf[i].revents & POLLIN)
				(void)!read(pf[i].fd, si, sizeof(si));
		if (!(pf[0].revents & POLLIN))
			continue;
		while (read(sfd, si, sizeof(si)) > 0)
			;
		while (inflight > 0 && (pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "floor: /bin/true failed\n");
				return 1;
			}
			for (i = 0; i < p && k[i].pid != pid; i++)
				;
			if (i == p)
				continue;
			k[i].pid = 0;
			inflight--;
			for (j = 0; j < 2; j++) {
				close(k[i].p[j][1]);
				q[j] = (struct pollfd){ k[i].p[j][0], POLLIN,
				    0 };
			}
			if (poll(q, 2, 0) > 0)
				for (j = 0; j < 2; j++)
					if (q[j].revents & POLLIN) {
						w = fcntl(q[j].fd, F_GETFL);
						(void)fcntl(q[j].fd, F_SETFL,
						    w | O_NONBLOCK);
						drain(q[j].fd);
					}
			for (j = 0; j < 2; j++)
				close(k[i].p[j][0]);
		}
	}
	free(k);
	free(pf);
	return 0;
}

int
main(int argc, char **argv)
{
	char *const av[] = { "true", NULL };
	long n, p, started, inflight = 0;
	pid_t pid;
	int e;

	if (argc != 3 && (argc != 4 || strcmp(argv[3], "capture") != 0)) {
		fprintf(stderr, "usage: floor N P [capture]\n");
		return 2;
	}
	n = arg(argv[1]);
	p = arg(argv[2]);
	if (p < 1)
		p = 1;
	if (argc == 4)
		return capture(n, p);
	for (started = 0; started < n; started++) {
		if (inflight == p) {
			reap();
			inflight--;
		}
		e = posix_spawn(&pid, "/bin/true", NULL, NULL, av, environ);
		if (e != 0) {
			fprintf(stderr, "floor: posix_spawn: %s\n", strerror(e));
			return 1;
		}
		inflight++;
	}
	while (inflight > 0) {
		reap();
		inflight--;
	}
	return 0;
}
