#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

/* Allocation that cannot fail: on exhaustion these print and exit 4. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
