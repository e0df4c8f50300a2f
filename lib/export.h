#ifndef EXPORT_H
#define EXPORT_H

struct dag;
struct strbuf;

/*
 * Programs that run a prepared run (dag-run --prepare) without dag-run in
 * the loop, each step through dag-step.  dir is the run directory, id its
 * run id.  Return 0, or -1 with *why (static) when dir cannot be quoted.
 */
int	export_make(const struct dag *, const char *dir, struct strbuf *,
	    const char **why);
int	export_slurm(const struct dag *, const char *dir, const char *id,
	    struct strbuf *, const char **why);

#endif
