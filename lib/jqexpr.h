#ifndef JQEXPR_H
#define JQEXPR_H

#include <stddef.h>
#include <jv.h>

struct diag;
struct strbuf;

/*
 * A set of jq expressions compiled in batches (see jqexpr.c for why).
 * Nothing outside jqexpr.c calls jq_*.
 */
struct jqx;

struct jqx *jqx_new(void);
void	 jqx_free(struct jqx *);
/* Registers src (copied); path names it in errors.  Returns its index. */
int	 jqx_add(struct jqx *, const char *src, const char *path);
/* The source of expression i. */
const char *jqx_src(const struct jqx *, int i);
/*
 * Compiles every expression added so far.  Each one that does not compile
 * gets a DIAG_ERROR at its path.  Returns 0 if all compiled, else -1.
 */
int	 jqx_compile(struct jqx *, struct diag *);
/* The same checks, spread over the CPUs, for validators: afterwards the
 * expressions cannot be evaluated. */
int	 jqx_check(struct jqx *, struct diag *);
/* 1 if expression i (from jqx_add) was reported as not compiling. */
int	 jqx_failed(const struct jqx *, int i);
/*
 * Evaluates expression idx over input (consumed).  Returns 1 with *out set
 * (owned) to the first result, 0 when there is none, -1 on a jq error with
 * *err set to a malloc'd one-line message.
 */
int	 jqx_first(struct jqx *, int idx, jv input, jv *out, char **err);
/* Borrows v: false and null are false, everything else is true. */
int	 jqx_truthy(jv v);

/*
 * Source-level checks that need no compile (a small jq lexer):
 * jqx_balanced: brackets balance outside strings and comments.
 * jqx_step_refs: calls fn for each static ".steps.ID" reference, with
 * certain 0 where . may no longer be the context (after a |, inside map()
 * and the like); returns 1 if .steps is also used dynamically (all
 * ancestors needed), else 0.
 * jqx_unknown_top: 1 if the expression starts by reading a key the context
 * never has (sets key, len), else 0; more: keys it has besides, NULL
 * ended, or NULL.
 */
int	 jqx_balanced(const char *src);
int	 jqx_unknown_top(const char *src, const char **key, size_t *len,
	    const char *const *more);
int	 jqx_step_refs(const char *src,
	    void (*fn)(void *, const char *id, size_t len, int certain),
	    void *arg);

/* Where a template of a "run" string stands: how to quote its value. */
enum { TQ_WORD, TQ_SQ, TQ_DQ };
/* Templates: "a {{ .params.x }} b".  Parts alternate literal/expression. */
struct tmpl_part {
	int	 is_expr;
	char	*text;		/* literal text, or the jq source */
	int	 expr;		/* jqx index once registered, else -1 */
	int	 place;		/* TQ_*, set by tmpl_shell_places */
};
struct tmpl {
	struct tmpl_part	*part;
	size_t			 n;
};

/* Returns 0, 1 if s has no {{, or -1 with *why (static) on bad syntax. */
int	 tmpl_parse(const char *s, struct tmpl *, const char **why);
void	 tmpl_release(struct tmpl *);
/*
 * Renders t over ctx (borrowed) into sb: strings raw, other values compact
 * JSON; with shell set, each value is quoted for /bin/sh where it stands
 * (tmpl_shell_places must have accepted t).  Returns 0,
 * or -1 with *err set (malloc'd).
 */
int	 tmpl_render(struct jqx *, const struct tmpl *, jv ctx, int shell,
	    struct strbuf *sb, char **err);
/*
 * For a "run" template (lib/shctx.c): sets each expression's place (a bare
 * word, inside '...', inside "...").  Returns 0, or -1 with *bad the part
 * index and *why (static) where it stands that cannot be quoted safely,
 * e.g. "inside a comment", "after a here-document (<<)".
 */
int	 tmpl_shell_places(struct tmpl *, size_t *bad, const char **why);
/* Appends s quoted for place (TQ_*): 'it'\''s', it'\''s, or it\"s. */
void	 shell_quote_at(struct strbuf *, int place, const char *s, size_t len);

#endif
