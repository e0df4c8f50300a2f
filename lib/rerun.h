#ifndef RERUN_H
#define RERUN_H

#include <stdint.h>

struct runctx;
struct runner;

/*
 * --rerun ids[0..n) of the run c opened (with down: --downstream): the
 * steps to run again, marked in *out (malloc'd; NULL when n is 0).
 * EXIT_OK, or EXIT_USAGE after naming an unknown step.
 */
int	rerun_select(struct runctx *, char **ids, int n, int down,
	    uint8_t **out);
/* Makes the marked steps pending again, needs first, and keeps the cache
 * from taking them as up to date: they run. */
void	rerun_apply(struct runner *, const uint8_t *mark);
/*
 * --resume RUN FILE: the run c opened (locked, journal read) continues
 * with the DAG in path.  Steps whose normalized definition changed are
 * reset with their descendants, steps it no longer has are removed,
 * unchanged steps keep their outcome; the old dag.json stays as
 * dag.N.json.  An invalid document changes nothing; with dry (-n) nothing
 * is written, and c shows the run as it would be.  Returns an exit
 * status.
 */
int	rerun_edit(struct runctx *, const char *path, int quiet, int dry);
/* -n: the marked steps as they would be, pending, in memory only. */
void	rerun_clear(struct runctx *, const uint8_t *mark);

#endif
