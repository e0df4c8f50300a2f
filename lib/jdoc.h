#ifndef JDOC_H
#define JDOC_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

struct diag;
struct strbuf;

/*
 * A parsed JSON document as a flat tape of nodes over the source text.
 * Node 0 is the root.  Children of an array follow it; members of an object
 * follow it as key, value subtree, key, value subtree...  Every node knows
 * where its subtree ends, so skipping a value is O(1).
 */
enum jkind { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

#define JNONE UINT32_MAX

struct jnode {
	uint8_t		kind;
	uint8_t		esc;	/* string holds a backslash escape */
	uint32_t	off;	/* byte offset of the token in the source */
	uint32_t	len;	/* token bytes (scalars) or element count */
	uint32_t	end;	/* index of the node after this subtree */
};

struct jdoc {
	const char	*buf;	/* borrowed source text */
	size_t		 len;
	struct jnode	*n;
	uint32_t	 nn, cap;
};

/*
 * Parses buf[0..len) (strict RFC 8259, UTF-8 checked, depth at most 512,
 * duplicate keys refused).  Returns 0, or -1 with one DIAG_ERROR
 * "line L, column C: invalid JSON: ..." added.  buf must outlive doc.
 */
int	 jdoc_parse(struct jdoc *, const char *buf, size_t len, struct diag *);
void	 jdoc_release(struct jdoc *);

/* Member lookup in object node obj: the value's index, or JNONE. */
uint32_t jdoc_get(const struct jdoc *, uint32_t obj, const char *key);
/* Decoded string of a J_STR node, appended to sb. */
void	 jdoc_str(const struct jdoc *, uint32_t, struct strbuf *sb);
/* Decoded string, malloc'd.  Embedded NULs are kept; *len gets the size. */
char	*jdoc_strdup(const struct jdoc *, uint32_t, size_t *len);
/* 1 if the J_STR node equals s. */
int	 jdoc_streq(const struct jdoc *, uint32_t, const char *s);
double	 jdoc_num(const struct jdoc *, uint32_t);
/* Converts a subtree to an owned jv. */
jv	 jdoc_jv(const struct jdoc *, uint32_t);
/* Appends a subtree as compact JSON text (tokens copied verbatim). */
void	 jdoc_emit(const struct jdoc *, uint32_t, struct strbuf *sb);
/* "an array", "a string", "null"...: for messages. */
const char *jkind_article(enum jkind);

#endif
