/*
 * Binary min-heap.  O(log n) per push and pop, no allocation after the array
 * has grown to its high-water mark.  Used for timers (key = deadline in
 * monotonic ms) and for the ready queue (key = minus the remaining critical
 * path, value = declaration index, so ties go to the step declared first).
 */
#include "compat.h"

#include "heap.h"
#include "xalloc.h"

void
heap_init(struct heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void
heap_release(struct heap *h)
{
	free(h->v);
	heap_init(h);
}

static int
less(const struct heap_item *a, const struct heap_item *b)
{
	return a->key < b->key || (a->key == b->key && a->val < b->val);
}

void
heap_push(struct heap *h, int64_t key, uint32_t val)
{
	size_t i, p;
	struct heap_item it = { key, val };

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	for (i = h->n++; i > 0; i = p) {
		p = (i - 1) / 2;
		if (!less(&it, &h->v[p]))
			break;
		h->v[i] = h->v[p];
	}
	h->v[i] = it;
}

int
heap_pop(struct heap *h, struct heap_item *out)
{
	struct heap_item last;
	size_t i, c;

	if (h->n == 0)
		return -1;
	*out = h->v[0];
	last = h->v[--h->n];
	for (i = 0; (c = 2 * i + 1) < h->n; i = c) {
		if (c + 1 < h->n && less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
	}
	h->v[i] = last;
	return 0;
}

const struct heap_item *
heap_top(const struct heap *h)
{
	return h->n > 0 ? &h->v[0] : NULL;
}
