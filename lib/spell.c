/*
 * "Did you mean": edit distance over a candidate list.  O(len^2) per
 * candidate with an early exit once the row minimum passes the cap, so even
 * a list of 100,000 step ids costs little on the error path, which is the
 * only place this runs.
 */
#include "compat.h"

#include "spell.h"
#include "xalloc.h"

/* Optimal string alignment: Levenshtein plus adjacent transpositions. */
size_t
spell_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), i, j, best = 0, d;
	size_t *pp, *prev, *row, *t;

	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;
	pp = xcalloc(lb + 1, sizeof(*pp));
	prev = xcalloc(lb + 1, sizeof(*prev));
	row = xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		row[0] = best = i;
		for (j = 1; j <= lb; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			row[j] = d;
			if (d < best)
				best = d;
		}
		t = pp;
		pp = prev;
		prev = row;
		row = t;
		if (best > max)
			break;
	}
	d = best > max ? max + 1 : prev[lb];
	free(pp);
	free(prev);
	free(row);
	return d > max ? max + 1 : d;
}

const char *
spell_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t max = strlen(word) / 3, i, d, bestd;
	const char *best = NULL;

	if (max < 1)
		max = 1;
	if (max > 3)
		max = 3;
	bestd = max + 1;
	for (i = 0; i < n; i++) {
		d = spell_distance(word, cands[i], bestd - 1);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
		if (bestd == 0)
			break;
	}
	return bestd == 0 ? NULL : best;
}
