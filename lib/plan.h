#ifndef PLAN_H
#define PLAN_H

#include <stdint.h>
#include <stdio.h>

struct dag;
struct strbuf;

/*
 * The schedule a DAG implies with unlimited slots, weighted by estimates.
 * Times are whole microseconds, so sums and comparisons are exact: slack
 * on the critical path is 0, not rounding noise.  Sums saturate at
 * INT64_MAX (some 292,000 years).
 */
struct plan {
	uint32_t	 n;
	uint32_t	*level;		/* longest chain of needs */
	uint32_t	 nlevels;
	uint32_t	 width;		/* largest level */
	int64_t		*est;		/* estimate per step */
	int64_t		*es, *ls;	/* earliest / latest start */
	int64_t		*rank;		/* longest path from the step to a sink,
					   its own estimate included */
	int64_t		 total;		/* critical path duration */
	uint32_t	*cp;		/* critical path, first to last */
	uint32_t	 ncp;
};

#define PLAN_US_PER_SEC	1000000

/*
 * Computes the plan of g (which must have an order).  history may give an
 * estimate per step in seconds (negative: none); x-estimate wins, then
 * history, then 1.  Estimates are rounded to microseconds.  O(V + E).
 */
void	plan_compute(const struct dag *, const double *history, struct plan *);
void	plan_release(struct plan *);
/*
 * Steps from .. g->n - 1 are a foreach's instances (plan_compute covers
 * the static steps): each takes its foreach step's level, starts and
 * rank.  The arrays must have room for g->n.
 */
void	plan_inherit(const struct dag *, struct plan *, uint32_t from);
/* Microseconds of a plan as seconds, for output. */
double	plan_secs(int64_t us);
/*
 * Buckets the steps by level, each level in topological order: a counting
 * sort, O(V).  Returns a malloc'd array of the n step indices; *offp gets
 * a malloc'd array of nlevels + 1 offsets, level l being [off[l],
 * off[l + 1]).  The caller frees both.
 */
uint32_t *plan_by_level(const struct dag *, const struct plan *,
	    uint32_t **offp);
/* Appends the "plan" object of SPEC section 8 (flushing to fp if set). */
void	plan_emit_json(const struct dag *, const struct plan *, struct strbuf *,
	    FILE *fp);

#endif
