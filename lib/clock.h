#ifndef CLOCK_H
#define CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: every timer deadline is one of these. */
int64_t	clock_mono_ms(void);
/* Wall-clock milliseconds since the epoch (timestamps only). */
int64_t	clock_wall_ms(void);
/* "2026-11-23T08:50:03.123Z" into buf (at least 25 bytes). */
void	clock_rfc3339(int64_t wall_ms, char *buf, size_t len);
/* Parses the form above back; -1 if it is not one. */
int	clock_parse_rfc3339(const char *, int64_t *wall_ms);

#endif
