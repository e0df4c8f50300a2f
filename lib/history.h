#ifndef HISTORY_H
#define HISTORY_H

struct dag;

/*
 * Median duration of each step over the last HISTORY_RUNS successful runs
 * of the same DAG name found in runs directory dir; -1 where none.
 * Returns a malloc'd array of g->n doubles (never NULL).
 */
#define HISTORY_RUNS 10
double	*history_estimates(const char *dir, const struct dag *g);

#endif
