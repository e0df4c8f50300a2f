#ifndef DAG_H
#define DAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jdoc.h"
#include "sched.h"

struct diag;
struct jqx;
struct strbuf;
struct tmpl;

enum cmd_kind { CMD_RUN, CMD_ARGV, CMD_TRANSFORM };
enum out_mode { OUT_FILE, OUT_STDOUT };

extern const char *const trigger_names[];
extern const char *const on_failure_names[];

/* Templates of one step, allocated only for steps that have any. */
struct step_tmpl {
	struct tmpl	*run;		/* run string, or NULL */
	struct tmpl	*cwd;
	struct tmpl	*argv;		/* one per argv item; n == 0: none */
	struct tmpl	*env;		/* one per effective env entry */
	struct tmpl	*launcher;	/* one per launcher prefix item */
	struct tmpl	*inputs;	/* one per inputs item, or NULL */
	struct tmpl	*outputs;	/* one per outputs item, or NULL */
};

/*
 * One step, after defaults are merged.  Command and environment stay on
 * the tape (node indices) and are decoded when the step runs, which keeps
 * this struct small for DAGs of 100,000 steps.
 */
struct step {
	char		*id;
	uint32_t	 node;		/* the step object */
	uint32_t	 cmd;		/* run/argv/transform value node */
	uint32_t	 env_def;	/* defaults.env object or JNONE */
	uint32_t	 env;		/* step env object or JNONE */
	uint32_t	 cwd;		/* string node or JNONE */
	uint32_t	 launcher;	/* "slurm" or argv prefix node, JNONE */
	uint32_t	 inputs, outputs;	/* arrays of paths, or JNONE */
	uint32_t	 max_output;	/* bytes, 0: the default (16 MiB) */
	uint8_t		 kind;		/* enum cmd_kind */
	uint8_t		 output;	/* enum out_mode */
	uint8_t		 final;		/* named in "finally" */
	uint8_t		 cache;		/* "cache": 0 unset, 1 false, 2 true */
	struct sched_step pol;		/* trigger, pool, retry: sched.h */
	double		 timeout;	/* 0: none */
	double		 kill_grace;
	double		 estimate;	/* x-estimate, else -1 */
	int32_t		 when, input, check, transform;	/* jqx index, -1 */
	struct step_tmpl *tp;		/* NULL when no templates */
	int		 all_refs;	/* expressions use .steps dynamically */
	uint32_t	*refs;		/* static .steps.X references */
	uint32_t	 nrefs;
	uint32_t	 matrix;	/* the "matrix" node, or JNONE */
	int32_t		 foreach, foreach_key;	/* jqx index, -1 */
	uint32_t	 max_par;	/* instances at once, 0: no limit */
	uint32_t	 group;		/* an instance's group, or GROUP_NONE */
	uint32_t	 head_of;	/* a foreach step's group, GROUP_NONE */
	uint32_t	 inst;		/* an instance's place in its group */
	uint8_t		 shared;	/* an instance but a matrix's first: tp,
					   refs and exit_codes are another's */
	char		*item;		/* an instance's combination or item
					   (JSON) */
};

/*
 * A step expanded into instances, with ids "name[key]": a matrix's
 * (matrix.c), steps first .. first + n - 1, which a need on name means;
 * or a foreach step's (foreach.c), expanded when it runs: steps
 * member[0 .. n), appended to the DAG, and its head the step itself.
 */
struct group {
	char		*name;		/* the step's id as written */
	uint32_t	 first, n;
	uint32_t	 spec;		/* its "matrix" node, or JNONE */
	uint32_t	 head;		/* the foreach step, or GROUP_NONE */
	uint32_t	*member;	/* foreach: in item order, or NULL */
	uint8_t		 keyed;		/* foreach: ids by key, not place */
	uint32_t	 attempt;	/* foreach: the attempt that expanded
					   it, whose items file names them */
};
#define GROUP_NONE	UINT32_MAX

struct dag {
	char		*file;		/* name used in messages */
	char		*name;
	char		*buf;		/* the document text (owned) */
	size_t		 len;
	struct jdoc	 doc;
	uint32_t	 n;		/* steps */
	struct step	*s;
	uint32_t	*need_off, *need;	/* CSR: needs of i */
	uint32_t	*dep_off, *dep;		/* CSR: dependents of i */
	uint32_t	 nedges;
	uint32_t	*idtab;		/* open addressing: index + 1 */
	size_t		 idcap;
	uint32_t	*order;		/* stable topological order */
	uint32_t	 params, env;	/* top-level nodes or JNONE */
	double		 timeout;	/* 0: none */
	uint32_t	 max_parallel;	/* 0: not set */
	int		 on_failure;
	uint32_t	 npools;
	char		**pool_name;
	uint32_t	*pool_cap;
	struct tmpl	*env_tmpl;	/* templates of the top-level env */
	int		 env_has_tmpl;
	struct jqx	*jqx;
	struct group	*groups;	/* by first instance */
	uint32_t	 ngroups;
	uint32_t	 nstatic;	/* steps before any foreach expanded:
					   the CSR arrays' own */
};

#define DAG_NO_EXPR_COMPILE	0x1	/* skip compiling jq (dag-status) */
#define DAG_CHECK_ONLY		0x2	/* compile to check, not to evaluate */
#define DAG_PARTIAL		0x4	/* a step's neighbourhood (stepidx.c):
					   .steps.X need only name a step */

/*
 * Loads and validates a DAG document from path ("-": stdin, named name in
 * messages).  Every problem goes to d.  Returns the DAG (owned) when the
 * document is valid, else NULL; d->worst tells invalid from I/O error.
 */
struct dag *dag_load(const char *path, const char *display, int flags,
	    struct diag *d);
/* The same from a buffer the DAG takes over. */
struct dag *dag_load_buf(char *buf, size_t len, const char *display,
	    const char *name, int flags, struct diag *d);
void	 dag_free(struct dag *);
/* 1 if s is a valid DAG name: 1 to 100 bytes of UTF-8. */
int	 dag_name_ok(const char *s);
/* Index of step id, or -1. */
int64_t	 dag_find(const struct dag *, const char *id, size_t len);
/*
 * The steps a name means: a step (or an instance, "build[3]"), or each
 * instance of a group.  Their first index in *first and their count in
 * *n; -1 when there is no such step.
 */
int	 dag_lookup(const struct dag *, const char *name, uint32_t *first,
	    uint32_t *n);
/* The group of step i, or NULL. */
const struct group *dag_group_of(const struct dag *, uint32_t i);
/* The step at place i of the order: the static steps' topological order
 * (g->order), then a foreach's instances as they were added. */
#define DAG_ORDER(g, i)	((i) < (g)->nstatic ? (g)->order[i] : (i))
/* Member k of group gr, in item order. */
#define GROUP_AT(gr, k)	((gr)->member != NULL ? (gr)->member[k] : \
	(gr)->first + (k))
/* Adds step i to the id table: -1, or the index of an earlier step with
 * its id. */
int64_t	 dag_id_insert(struct dag *, uint32_t i);
/* The id table made anew for g->n steps (ids known unique). */
void	 dag_reindex(struct dag *);
/* The id table's hash (FNV-1a) of id[0..n). */
uint32_t dag_id_hash(const char *id, size_t n);
/*
 * Appends the normalized document to sb without its closing brace, so a
 * caller can add members (dag-plan adds "plan") before closing it.  With
 * fp set, sb is written to fp whenever it passes 64 KB (bounded memory).
 * span, when not NULL (2 per step): where each step written (a matrix's
 * first instance for the matrix) begins in the document, and its length.
 */
void	 dag_emit(const struct dag *, struct strbuf *sb, FILE *fp,
	    uint64_t *span);
/* Appends the document's top-level members but "steps" and "finally",
 * as a whole object. */
void	 dag_emit_top(const struct dag *, struct strbuf *sb);
/* Appends step i in normalized form (defaults merged): what it is. */
void	 dag_emit_step(const struct dag *, uint32_t i, struct strbuf *sb);
/* 1 if a is an ancestor of b (a needs-chain leads from b to a). */
int	 dag_is_ancestor(const struct dag *, uint32_t a, uint32_t b,
	    uint32_t *stamp, uint32_t *mark);

#endif
