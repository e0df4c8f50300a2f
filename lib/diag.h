#ifndef DIAG_H
#define DIAG_H

#include <stddef.h>
#include <stdio.h>

enum diag_sev {
	DIAG_NONE = 0,
	DIAG_WARNING,
	DIAG_ERROR,	/* the document is invalid */
	DIAG_SYSERR	/* reading it failed (I/O) */
};

struct diag_msg {
	enum diag_sev	 sev;
	char		*path;		/* JSON path, or NULL */
	char		*msg;
};

/* A list of problems found so far; nothing stops at the first. */
struct diag {
	const char	*file;		/* borrowed: name used in messages */
	struct diag_msg	*v;
	size_t		 n, cap;
	size_t		 nerr;		/* count of DIAG_ERROR and worse */
	enum diag_sev	 worst;
};

void	diag_init(struct diag *, const char *file);
void	diag_release(struct diag *);
/* Adds a problem at path (may be NULL).  Returns -1, for "return diag_...". */
int	diag_add(struct diag *, enum diag_sev, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Adds a DIAG_SYSERR with ": strerror(errno)" appended. */
int	diag_sys(struct diag *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The impossible happened: says so on stderr and exits EXIT_BUG (70). */
__attribute__((__noreturn__)) void diag_bug(const char *what);
/* Prints "FILE: PATH: message" lines (warnings get "warning: "). */
void	diag_print(const struct diag *, FILE *);
/* Prints {"valid", "errors", "warnings"} as one JSON line. */
void	diag_print_json(const struct diag *, FILE *);

#endif
