/*
 * Exit statuses of SPEC section 6, by name.  No bare numbers elsewhere.
 */
#ifndef EXITCODE_H
#define EXITCODE_H

enum exitcode {
	EXIT_OK = 0,
	EXIT_FAILED = 1,	/* invalid document, step or run failed */
	EXIT_USAGE = 2,		/* usage error, invalid DAG for dag-run, no run */
	EXIT_TIMEOUT = 3,	/* run deadline (dag-run), step timeout (dag-step) */
	EXIT_SYSERR = 4,	/* I/O or resource error */
	EXIT_RUNNING = 5,	/* dag-status: the run is still going */
	EXIT_INTERRUPTED = 6,	/* dag-status: running, but nobody holds the lock */
	EXIT_BUG = 70,		/* internal error: a bug in dagkit */
	EXIT_LOCKED = 75	/* lock held by another process */
};

/* 128 + n, the shell's convention for death by signal n. */
#define exit_for_signal(n) (128 + (n))

#endif
