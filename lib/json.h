#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <stdio.h>
#include <jv.h>

struct diag;
struct strbuf;

/*
 * Reads a whole file ("-" is stdin) into a NUL-terminated buffer that the
 * caller frees.  Returns 0, or -1 with a DIAG_SYSERR added.
 */
int	json_read_file(const char *path, char **buf, size_t *len, struct diag *);
/*
 * Parses exactly one JSON value from buf.  Returns it (owned), or
 * jv_invalid() with a "line L, column C: invalid JSON: ..." error added.
 */
jv	json_parse(const char *buf, size_t len, struct diag *);
/* json_read_file + json_parse. */
jv	json_load(const char *path, struct diag *);
/* Parses one value or returns jv_invalid() silently (for trusted files). */
jv	json_parse_quiet(const char *buf, size_t len);
/* Dumps v (consumed) compactly, or indented when pretty, plus a newline. */
void	json_dump(jv v, FILE *, int pretty);
/* Appends v (borrowed) as compact JSON text to sb. */
void	json_append(struct strbuf *sb, jv v);
/* Borrowing typed getters: *out untouched and 0 returned when absent. */
const char *json_str(jv obj, const char *key);	/* NULL unless a string */

#endif
