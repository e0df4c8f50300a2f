#ifndef HISTORY_H
#define HISTORY_H

struct dag;

/*
 * Median duration of each step over the last HISTORY_RUNS successful runs
 * of the same DAG name found in runs directory dir; -1 where none.  Reads
 * no other DAG's run.json whole, and stops once every step has its
 * samples or HISTORY_READ runs of the DAG were read.  Returns a malloc'd
 * array of g->n doubles (never NULL).
 */
#define HISTORY_RUNS 10
double	*history_estimates(const char *dir, const struct dag *g);

#endif
