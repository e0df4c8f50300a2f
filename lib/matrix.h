#ifndef MATRIX_H
#define MATRIX_H

#include <stdint.h>

struct dag;
struct diag;
struct jdoc;

/* One combination of a step's matrix. */
struct mcombo {
	char	*key;		/* what goes between the brackets of its id */
	char	*json;		/* the combination, a compact JSON object */
};

/* Combinations a matrix may have: more is an error. */
#define MATRIX_MAX	100000

/*
 * The combinations of the "matrix" object at node v (path names it in
 * messages), GitHub's strategy.matrix rules: the product of its lists,
 * the first list outermost, less what "exclude" names, with "include"
 * added.  Returns how many (>= 1) with *out (malloc'd), or -1 after
 * saying what is wrong in d.
 */
int	 matrix_combos(const struct jdoc *, uint32_t v, const char *path,
	    struct diag *d, struct mcombo **out);
void	 matrix_combos_free(struct mcombo *, uint32_t n);
/*
 * Replaces each step o of g that has combinations (n[o] > 0, c[o] taken
 * over) by its instances "ID[key]", consecutive steps of one group: the
 * needs on o become needs on every instance, and so do .steps refs.
 * The id table, dependents and order are built again.
 */
void	 matrix_expand(struct dag *, struct mcombo **c, const uint32_t *n,
	    struct diag *d);

#endif
