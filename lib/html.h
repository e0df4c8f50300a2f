#ifndef HTML_H
#define HTML_H

#include <stdio.h>

struct dag;
struct runstate;

/*
 * Writes one self-contained HTML report of a run to fp: header, an SVG
 * timeline (one bar per step and attempt span), the graph coloured by
 * status (SVG, laid out by level), the step table, and the tails of the
 * failed steps' stderr (read through sdfd, the run's steps/ directory).
 * No script, no network: it opens from a CI artifact as it is.
 * Returns 0, or -1 with errno set when writing failed.
 */
int	html_report(FILE *fp, const struct dag *, const struct runstate *,
	    int sdfd);

#endif
