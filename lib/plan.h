#ifndef PLAN_H
#define PLAN_H

#include <stdint.h>
#include <stdio.h>

struct dag;
struct strbuf;

/* The schedule a DAG implies with unlimited slots, weighted by estimates. */
struct plan {
	uint32_t	 n;
	uint32_t	*level;		/* longest chain of needs */
	uint32_t	 nlevels;
	uint32_t	 width;		/* largest level */
	double		*est;		/* estimate per step, seconds */
	double		*es, *ls;	/* earliest / latest start */
	double		*rank;		/* longest path from the step to a sink,
					   its own estimate included */
	double		 total;		/* critical path duration */
	uint32_t	*cp;		/* critical path, first to last */
	uint32_t	 ncp;
};

/*
 * Computes the plan of g (which must have an order).  history may give an
 * estimate per step (negative: none); x-estimate wins, then history, then 1.
 * O(V + E).
 */
void	plan_compute(const struct dag *, const double *history, struct plan *);
void	plan_release(struct plan *);
/* Appends the "plan" object of SPEC section 8 (flushing to fp if set). */
void	plan_emit_json(const struct dag *, const struct plan *, struct strbuf *,
	    FILE *fp);

#endif
