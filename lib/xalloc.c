/*
 * Allocation wrappers.  Library code never checks for NULL from these: the
 * only sane reaction to memory exhaustion in a command-line tool is to say so
 * and exit with the system-error status, which is all they do.
 */
#include "compat.h"

#include <err.h>
#include <stdarg.h>
#include <stdio.h>

#include "exitcode.h"
#include "xalloc.h"

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		err(EXIT_SYSERR, "malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(EXIT_SYSERR, "calloc");
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if ((p = reallocarray(old, n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(EXIT_SYSERR, "reallocarray");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		err(EXIT_SYSERR, "strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		err(EXIT_SYSERR, "strndup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n == -1)
		err(EXIT_SYSERR, "asprintf");
	return p;
}
