#ifndef SPELL_H
#define SPELL_H

#include <stddef.h>

/* Levenshtein distance, capped: returns max+1 once it exceeds max. */
size_t	spell_distance(const char *, const char *, size_t max);
/*
 * Returns the candidate closest to word (borrowed from cands), or NULL when
 * none is within a third of the word's length (at least 1, at most 3 edits).
 */
const char *spell_suggest(const char *word, const char *const *cands,
	    size_t ncands);

#endif
