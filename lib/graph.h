#ifndef GRAPH_H
#define GRAPH_H

#include <stdint.h>

struct dag;
struct diag;

/* Fills dep_off/dep (dependents) from need_off/need.  O(V + E). */
void	graph_build_deps(struct dag *);
/*
 * Computes g->order, the stable topological order (among steps whose needs
 * are done, the one declared first comes first).  On cycles, reports each
 * as "steps: cycle: a -> b -> a" and returns -1.  O(E + V log V).
 */
int	graph_order(struct dag *, struct diag *);

#endif
