#ifndef DURATION_H
#define DURATION_H

#include <stddef.h>

/* The longest duration accepted anywhere: 100 years, in seconds. */
#define DURATION_MAX (100.0 * 365 * 86400)

/*
 * Parses "250ms", "30s", "5m", "1h30m", "2d", "1.5h" or a plain number of
 * seconds.  Returns 0 and sets *secs, or -1 with *why set to a static
 * message.  Negative, non-finite and larger-than-DURATION_MAX values fail.
 */
int	duration_parse(const char *, double *secs, const char **why);
/* Formats for humans: "850ms", "2.31s", "4m05s", "1h02m". */
void	duration_format(double secs, char *buf, size_t len);

#endif
