#ifndef MATRIX_H
#define MATRIX_H

#include <stdint.h>

struct dag;
struct diag;
struct fitem;
struct jdoc;

/* Combinations a matrix may have: more is an error. */
#define MATRIX_MAX	100000

/*
 * The combinations of the "matrix" object at node v (path names it in
 * messages), GitHub's strategy.matrix rules: the product of its lists,
 * the first list outermost, less what "exclude" names, with "include"
 * added.  Returns how many (>= 1) with *out (malloc'd: each its key,
 * what goes between the brackets of its id, and its JSON object; freed
 * by foreach_items_free), or -1 after saying what is wrong in d.
 */
int	 matrix_combos(const struct jdoc *, uint32_t v, const char *path,
	    struct diag *d, struct fitem **out);
/*
 * Replaces each step o of g that has combinations (n[o] > 0, c[o] taken
 * over) by its instances "ID[key]", consecutive steps of one group: the
 * needs on o become needs on every instance, and so do .steps refs.
 * The id table, dependents and order are built again.
 */
void	 matrix_expand(struct dag *, struct fitem **c, const uint32_t *n,
	    struct diag *d);

#endif
