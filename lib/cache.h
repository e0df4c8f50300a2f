#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cmdspec;
struct dag;
struct diag;
struct execctx;

/*
 * The incremental cache: what each step of a DAG last did when it
 * succeeded, kept in <runs>/.cache/<dag>/ and shared by every run of the
 * DAG in that runs directory.
 *
 *   log        one line per success: {"step", "key", the parts of the key,
 *              the input files and the outputs with their hashes and
 *              stat(2) tuples, the output's hash} and a checksum of the
 *              line.  Appended with one write(2) to an O_APPEND fd: a
 *              crash leaves a torn last line, which fails its checksum;
 *              the last good line of a step wins.  Rewritten (write, then
 *              rename) when most of it is stale.
 *   o/HASH     the step outputs (output.json), by content: written, then
 *              renamed, before the line that names them; checked against
 *              their name when used.
 *
 * A step's key hashes (XXH3-128) the cache format, its definition after
 * templates (command, env, cwd, check, output mode, input expression,
 * launcher, its inputs and outputs), the input JSON it gets and the
 * content of every file its inputs match.  It is up to date when the key
 * is the one of its last success and its outputs still have the content
 * then recorded.  A file whose size, inode, mtime and ctime are those
 * recorded is not read again, unless it changed within RACY of being
 * hashed (timestamps are coarse: a change then could keep them).
 */

/* One file as hashed: an input or an output. */
struct cache_file {
	char		*path;		/* as the step names it */
	uint8_t		 h[16];
	uint8_t		 missing;	/* a literal input that is not there */
	uint32_t	 mode;		/* st_mode */
	uint64_t	 size, ino;
	int64_t		 mtime, ctime;	/* ns */
	int64_t		 seen;		/* wall ns when hashed */
};

struct cache_entry {
	char		*step;
	char		*run;
	int64_t		 at;		/* wall ms */
	uint8_t		 key[16], def[16], cmd[16], env[16], in[16], out[16];
	uint8_t		 has_out;
	struct cache_file *files, *outs;
	uint32_t	 nfiles, nouts;
	char		**need_id;	/* the needs' output hashes */
	uint8_t		(*need_h)[16];	/* (zero: none) */
	uint32_t	 nneeds;
	uint8_t		 pooled;	/* all of it in its cache's pool */
};

struct cache_pool;

struct cache {
	int		 dfd;		/* .cache/<dag>/, -1: off */
	int		 logfd;
	char		*dir;		/* for messages */
	struct cache_entry **e;		/* per step of the DAG, or NULL */
	struct cache_pool *pool;	/* the entries read from the log */
	size_t		 lines;		/* in the log: read and appended */
	uint32_t	 n;
	uint8_t		*force;		/* per step, or NULL */
	int		 force_all;
	int		 explain;
	int		 readonly;	/* -n: write nothing */
	int		 on;		/* dag-run: probe steps (even with
					   no cache, for --explain) */
	int		 told;		/* a write failed and was said */
	struct cache_entry **orph;	/* a foreach's instances' entries,
					   their steps not (yet) in the DAG;
					   NULL: given to their step */
	uint32_t	 norph;
	uint32_t	*orph_tab;	/* by id: index + 1 */
	size_t		 orph_cap;
};

/* What one probe of a step found: made by cache_probe, used by
 * cache_record after the step succeeded. */
struct cache_probe {
	uint32_t	 step;
	uint8_t		 key[16], def[16], cmd[16], env[16], in[16];
	struct cache_file *files;
	uint32_t	 nfiles;
	struct cache_file *outs;	/* outputs as found now (a hit) */
	uint32_t	 nouts_now;
	char		**outputs;	/* full paths (cwd applied) */
	char		**outname;	/* as the step names them */
	uint32_t	 nouts;
	int		 uncacheable;	/* an input could not be read */
	int		 refresh;	/* up to date, but stat tuples moved */
	char		*why;		/* why it runs (malloc'd), or NULL */
	char		*cwd;		/* the step's, or NULL */
	const struct cache_entry *hit;
};

/* A command is about to start: file metadata seen so far may change. */
void	 cache_unsettle(void);
/* 1 if step i takes part: inputs or outputs declared, or "cache": true,
 * and not "cache": false. */
int	 cache_wanted(const struct dag *, uint32_t i);
/*
 * Opens (creating) the cache of g's DAG in runs: 0, or -1 after adding
 * a warning to d (the run goes on without a cache).  readonly (-n):
 * nothing is created or rewritten, and a cache not there is none.
 */
int	 cache_open(struct cache *, const char *runs, const struct dag *g,
	    int readonly, struct diag *d);
void	 cache_close(struct cache *);
/* The DAG grew (a foreach's instances): the new steps get the entries
 * the log had for them. */
void	 cache_grow(struct cache *, const struct dag *);
/*
 * Probes step i about to run command c (NULL for a transform) on input
 * text in[0..inlen) (NULL: a transform, whose input is made of the
 * params and the needs' outputs).  Returns 1 when the step is up to
 * date (p->hit), 0 when it must run (p->why).  p is released with
 * cache_probe_release.
 */
int	 cache_probe(struct cache *, const struct execctx *, uint32_t i,
	    const struct cmdspec *c, const char *in, size_t inlen,
	    struct cache_probe *p);
void	 cache_probe_release(struct cache_probe *);
/*
 * Step p->step is up to date: its recorded output goes to the run
 * (steps/<id>/output.json).  Returns 1 when it had one, 0 when it had
 * none, -1 when the cached output is gone or damaged (*why malloc'd):
 * the step must run after all.
 */
int	 cache_restore(struct cache *, const struct execctx *,
	    struct cache_probe *p, char **why);
/* The output step i last recorded (checked), malloc'd; NULL if none. */
char	*cache_output(struct cache *, uint32_t i, size_t *len);
/*
 * Step p->step succeeded (has_output: it wrote output.json): records it.
 * A declared output it did not make is said in d, and nothing recorded.
 */
void	 cache_record(struct cache *, const struct execctx *,
	    const struct cache_probe *p, int has_output, struct diag *d);

#endif
