#ifndef FOREACH_H
#define FOREACH_H

#include <stdint.h>

struct dag;
struct jdoc;
struct runstate;

/* One item of a foreach step, as its evaluator wrote it (or one
 * combination of a matrix, matrix.c). */
struct fitem {
	char	*key;		/* its id's key, or NULL: by place */
	char	*json;		/* the item, compact JSON */
};

/* Keys an id may hold: what foreach_key may give (foreach.c). */
int	 foreach_key_ok(const char *key, size_t len);
/*
 * Step h's instances for n items named keys[0 .. n) (NULL: by place,
 * h[0], h[1], ...): those of an earlier expansion with the same id are
 * kept, the others appended to g and rs (pending, selected as h is).
 * The instances of an earlier expansion left out are retired: hidden,
 * not selected.  The group's members are the instances in item order.
 * Returns the group's index.
 */
uint32_t foreach_add(struct dag *, struct runstate *, uint32_t h,
	    char *const *keys, uint32_t n);
/* The journal's step_expanded event of h (object o of d), replayed. */
void	 foreach_replay(struct dag *, struct runstate *, uint32_t h,
	    const struct jdoc *d, uint32_t o);
/*
 * The items file the evaluator of h's attempt wrote in steps/ (sdfd):
 * *out (malloc'd, n items), *keyed.  0, or -1 with *err (malloc'd).
 */
int	 foreach_read(int sdfd, const char *id, uint32_t attempt,
	    struct fitem **out, uint32_t *n, int *keyed, char **err);
void	 foreach_items_free(struct fitem *, uint32_t n);
/*
 * The items of foreach step h's last expansion (a replay named its
 * instances without them), from its items file in steps/ (sdfd), to its
 * instances' item.  Nothing when they have theirs, or the file is lost.
 */
void	 foreach_load_items(struct dag *, int sdfd, uint32_t h);
/* The items file's name, relative to steps/: "<id>/items.<attempt>.json" */
char	*foreach_file(const char *id, uint32_t attempt);

#endif
