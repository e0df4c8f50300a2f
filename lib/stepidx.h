#ifndef STEPIDX_H
#define STEPIDX_H

struct dag;
struct diag;

/*
 * Writes a run's dag.json (the normalized document) into the run
 * directory dfd, and with index set (a prepared run) its step index,
 * dag.idx; an index already there is removed first.  0, or -1 with errno.
 */
int	 dag_freeze(const struct dag *, int dfd, int index);
/*
 * The neighbourhood of step id in the run directory dfd: a DAG of the
 * step (a matrix instance: its whole matrix) and stand-ins for its needs
 * and the ancestors it reads, loaded from dag.idx and a few spans of
 * dag.json.  NULL when there is no usable index or the step is not one to
 * run alone (a foreach, a finally step...): the caller loads the whole
 * DAG, which also reports bad ids.  Errors of the load itself go to d.
 */
struct dag *stepidx_load(int dfd, const char *display, const char *id,
	    struct diag *d);

#endif
