/*
 * Durations as users write them.  A duration string is a sequence of
 * <number><unit> pairs (units ms, s, m, h, d) or one bare number meaning
 * seconds; each unit may appear once and in decreasing order, so "1h30m"
 * is fine and "30m1h" is refused as a likely typo.
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

/*
 * A number of a unit is turned into seconds exactly, in decimal: its
 * digits times the unit's seconds, with the exponent moved, then read by
 * strtod, which rounds once and correctly.  So 3195ms is 3.195, 0.0001ms
 * 1e-07 and 1.1h 3960, not 3.1950000000000003, 1.0000000000000001e-07 or
 * 3960.0000000000005.
 */
static const struct unit {
	const char	*name;
	unsigned	 secs;
	int		 exp;		/* seconds = number * secs * 10^exp */
} units[] = {
	{ "d", 86400, 0 }, { "h", 3600, 0 }, { "m", 60, 0 }, { "s", 1, 0 },
	{ "ms", 1, -3 },
};

/* num (digits, maybe a point) * mult * 10^exp, correctly rounded. */
static double
scaled(const char *num, unsigned mult, int exp)
{
	char d[96], buf[128];
	size_t n = 0, i;
	unsigned long long carry = 0;
	int frac = 0, k = 0;

	for (; *num != '\0' && n < 80; num++) {
		if (*num == '.') {
			frac = 1;
			continue;
		}
		d[n++] = *num;
		k += frac;
	}
	/* The digits times mult, from the last one up, in place. */
	for (i = n; i-- > 0; ) {
		carry += (unsigned long long)(d[i] - '0') * mult;
		d[i] = (char)('0' + carry % 10);
		carry /= 10;
	}
	/* What carries over goes in front, its last digit first. */
	for (; carry > 0; carry /= 10) {
		memmove(d + 1, d, n++);
		d[0] = (char)('0' + carry % 10);
	}
	d[n] = '\0';
	(void)snprintf(buf, sizeof(buf), "%se%d", d, exp - k);
	return strtod(buf, NULL);
}

/* Digits, a point, digits: the text into buf (len bytes), *sp past it. */
static int
parse_number(const char **sp, char *buf, size_t len)
{
	const char *s = *sp;
	size_t n;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (digits == 0 || (n = (size_t)(s - *sp)) + 4 >= len)
		return -1;
	memcpy(buf, *sp, n);
	buf[n] = '\0';
	*sp = s;
	return 0;
}

int
duration_parse(const char *s, double *secs, const char **why)
{
	double total = 0;
	size_t next = 0, i, len;
	char num[64];
	int any = 0;

	*why = "expected a duration such as 30s, 5m, 1h30m or 250ms";
	if (*s == '\0')
		return -1;
	if (*s == '-') {
		*why = "must not be negative";
		return -1;
	}
	while (*s != '\0') {
		if (parse_number(&s, num, sizeof(num)) == -1)
			return -1;
		if (*s == '\0') {
			if (any)
				return -1;	/* "1h30": unit missing */
			total = scaled(num, 1, 0);
			break;
		}
		for (i = next; i < nitems(units); i++) {
			len = strlen(units[i].name);
			if (strncmp(s, units[i].name, len) == 0 &&
			    !(len == 1 && s[0] == 'm' && s[1] == 's'))
				break;
		}
		if (i == nitems(units))
			return -1;
		total += scaled(num, units[i].secs, units[i].exp);
		s += strlen(units[i].name);
		next = i + 1;
		any = 1;
	}
	if (!isfinite(total) || total > DURATION_MAX) {
		*why = "too large (at most 100 years)";
		return -1;
	}
	*secs = total;
	return 0;
}

void
duration_format(double secs, char *buf, size_t len)
{
	long long t;

	if (secs < 0)
		secs = 0;
	if (secs < 1)
		(void)snprintf(buf, len, "%.0fms", secs * 1000);
	else if (secs < 60)
		(void)snprintf(buf, len, "%.2fs", secs);
	else if (secs < 3600) {
		t = (long long)secs;
		(void)snprintf(buf, len, "%lldm%02llds", t / 60, t % 60);
	} else {
		t = (long long)(secs / 60);
		(void)snprintf(buf, len, "%lldh%02lldm", t / 60, t % 60);
	}
}
