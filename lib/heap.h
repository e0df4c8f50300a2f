#ifndef HEAP_H
#define HEAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * A binary min-heap of (key, value) pairs: key orders, value is the caller's
 * (a step index, a timer id).  Ties on key are broken by value, so order is
 * reproducible.
 */
struct heap_item {
	int64_t		key;
	uint32_t	val;
};

struct heap {
	struct heap_item	*v;
	size_t			 n, cap;
};

void	heap_init(struct heap *);
void	heap_release(struct heap *);
void	heap_push(struct heap *, int64_t key, uint32_t val);
/* Removes the smallest item into *out; returns 0, or -1 if empty. */
int	heap_pop(struct heap *, struct heap_item *out);
const struct heap_item *heap_top(const struct heap *);

#endif
