/*
 * floor N P: posix_spawn /bin/true N times with at most P children in
 * flight, reaping each with waitpid.  The lower bound for any runner that
 * starts N processes P at a time: no parsing, no bookkeeping, no output.
 *
 *   cc -O2 -o bench/out/floor bench/floor.c
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

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

int
main(int argc, char **argv)
{
	char *const av[] = { "true", NULL };
	long n, p, started, inflight = 0;
	pid_t pid;
	int e;

	if (argc != 3) {
		fprintf(stderr, "usage: floor N P\n");
		return 2;
	}
	n = arg(argv[1]);
	p = arg(argv[2]);
	if (p < 1)
		p = 1;
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
