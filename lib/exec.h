#ifndef EXEC_H
#define EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "spawn.h"

struct dag;
struct jdoc;
struct runstate;
struct rundir;
struct strbuf;

/* What one attempt of a step executes, after templates. */
struct cmdspec {
	char	**argv;		/* NULL-terminated */
	int	  shell;	/* argv is {"/bin/sh", "-c", run} */
	char	**envk, **envv;	/* extra variables, in order */
	size_t	  nenv;
	char	 *cwd;		/* NULL: dag-run's own */
	size_t	  nlaunch;	/* argv's first items: the launcher's */
	char	**inputs;	/* "inputs" rendered, NULL-terminated, or
				   NULL when the step has none */
	char	**outputs;	/* "outputs" the same */
};

/*
 * An output.json found to be JSON: the same inode, size and change time
 * later is the same text, so a step's many dependents parse it once.
 */
struct exec_checked {
	uint64_t	ino, size;
	int64_t		ctime_ns;	/* 0: not checked */
};

/* Everything the evaluators need, borrowed from the runner. */
struct execctx {
	const struct dag	*g;
	struct runstate		*rs;
	struct rundir		*rd;
	jv			 params;	/* object */
	size_t			 max_output;
	struct exec_checked	*checked;	/* per step, or NULL */
	int			 run_status;	/* as steps starting now see
						   it: .run.status and
						   DAG_RUN_STATUS */
};

/* Points x at a run (borrowed) for exec's work: no params yet. */
void	 exec_init(struct execctx *, const struct dag *, struct runstate *,
	    struct rundir *);
/* cmdspec.c: a command spec and an evaluator's result, as JSON. */
void	 cmdspec_release(struct cmdspec *);
/* Adds variable k=v (both malloc'd, taken over) to c. */
void	 cmdspec_env_add(struct cmdspec *, char *k, char *v);
/* c as the "cmd" object of an evaluator's result, appended to sb. */
void	 cmdspec_emit(const struct cmdspec *, struct strbuf *sb);
/* 1 if step i needs a forked evaluator before its command. */
int	 exec_needs_prep(const struct dag *, uint32_t i);
/*
 * Builds the command of step i without templates (the step has none).
 * Returns 0, or -1 with *err (malloc'd).
 */
int	 exec_literal(const struct execctx *, uint32_t i, struct cmdspec *,
	    char **err);
/*
 * Writes steps/<id>/input.json from the needs' outputs (text concatenation,
 * each checked to be JSON).  Sets *has to 1 if it wrote one, 2 when the
 * input is {} (the runner's sealed empty input serves: no file; a step
 * with a launcher, which may run elsewhere, gets its own), 0 when the
 * input is null.  Returns 0, -1 (errno) when input.json cannot be written,
 * or -2 with *err (malloc'd) when a need's recorded output.json is missing,
 * unreadable or not JSON: a system error, and the step must not start.
 */
int	 exec_default_input(const struct execctx *, uint32_t i, int *has,
	    char **err);
/* A need's output.json text without its trailing newlines and spaces:
 * the bytes a dependent's input holds (its length). */
size_t	 exec_output_len(const char *text, size_t len);
/* Appends need id's member ("id":output, a comma first unless it is the
 * first) to the input text a dependent gets. */
void	 exec_input_member(struct strbuf *, int any, const char *id,
	    const char *text, size_t len);

/*
 * Reads the output of step n, which the journal says it has, and parses
 * it into jd (borrowing the text; the caller releases both).  With jd NULL
 * only the text is wanted, and a file x->checked has seen is not parsed
 * again.  Returns the text (*len bytes, malloc'd), or NULL with *err
 * (malloc'd) when output.json is missing, unreadable or not one JSON
 * value: a dependent must not get other data in its place.  O(size).
 */
char	*exec_read_output(const struct execctx *, uint32_t n, struct jdoc *jd,
	    size_t *len, char **err);
/*
 * context.c: the context step i's attempt sees (SPEC section 3), or
 * jv_invalid_with_msg when an output the journal records is damaged.
 */
jv	 exec_build_ctx(const struct execctx *, uint32_t i, uint32_t attempt);

/*
 * The text of step n's output.json, which the journal says it has,
 * checked to be JSON: malloc'd (*len bytes), or NULL with *err (malloc'd)
 * when it is missing or damaged.
 */
char	*exec_need_output(const struct execctx *, uint32_t n, size_t *len,
	    char **err);

enum eval_mode { EVAL_PREP, EVAL_POST, EVAL_TRANSFORM, EVAL_EXPAND };

/*
 * Runs in a forked child: evaluates step i's jq work for one attempt and
 * writes a one-line JSON result to fd.  Never returns (exits 0).
 *   PREP:      {"skip":true} | {"error":m} | {"cmd":<cmdspec>}
 *   POST:      {"error":m} | {"output":bool}
 *   TRANSFORM: {"skip":true} | {"error":m} | {"output":bool}
 *   EXPAND:    {"error":m} | {"expand":n}, the items in steps/<id>/
 *              items.<attempt>.json (a foreach step)
 * {"error":m,"syserr":true} is the machine's or the run directory's fault
 * (a need's output damaged, output.json not written), not the step's.
 * "bignum":true says a number beyond 2^53 went through jq, which holds
 * numbers as doubles: it may have lost digits there.
 */
__attribute__((__noreturn__)) void exec_eval_child(const struct execctx *,
	    uint32_t i, uint32_t attempt, enum eval_mode, int fd);

/* An evaluator's result, parsed back. */
struct exec_result {
	int		 skip, syserr, output, bignum;
	long		 expand;	/* EXPAND's n, or -1 */
	char		*err;		/* malloc'd, or NULL */
	struct cmdspec	 cmd;		/* PREP's command */
};

/* Parses an evaluator's result into r (released by the caller with
 * exec_result_release, whatever it returns).  0 or -1. */
int	 exec_parse_result(const char *text, size_t len, struct exec_result *);
void	 exec_result_release(struct exec_result *);
/*
 * Where a step writes $DAG_OUTPUT, relative to steps/: "<id>@<n>.output",
 * beside the step directories so that a step that writes nothing needs no
 * directory of its own.  An id has no "@": no step directory is named so.
 */
void	 exec_output_name(const struct dag *, uint32_t i, uint32_t attempt,
	    char *buf, size_t len);
/* The SLURM job name of step i's current attempt: <run>.<step>.<n>. */
void	 exec_slurm_job(const struct execctx *, uint32_t i, char *buf,
	    size_t len);
/* Opens steps/<id>/ (created when create is set); -1 with errno. */
int	 exec_step_dir(const struct execctx *, uint32_t i, int create);
/* 1 if post-processing (output parse, check) is needed after exit 0. */
int	 exec_needs_post(const struct execctx *, uint32_t i, uint32_t attempt);

/*
 * What dag-run -n and dag-step -n show of step i, appended to sb: its
 * command line, "transform", or why it cannot be shown yet.
 */
void	 exec_describe(const struct execctx *, uint32_t i, struct strbuf *);

#endif
