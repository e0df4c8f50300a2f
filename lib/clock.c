/*
 * Time.  Deadlines use the monotonic clock, so a wall-clock step (NTP,
 * daylight saving) never fires or delays a timeout; the wall clock is only
 * read to stamp events and files in RFC 3339 UTC with milliseconds.
 */
#include "compat.h"

#include <stdio.h>
#include <time.h>

#include "clock.h"

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_wall_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Events and run.json stamp every line: the date part is formatted once
 * per second and cached, only the milliseconds are written per call.
 */
void
clock_rfc3339(int64_t ms, char *buf, size_t len)
{
	static time_t last = -1;
	static char head[64];		/* "2026-11-23T08:50:03." */
	static size_t hlen;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	int frac = (int)(ms % 1000);

	if (len < 32) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	if (t != last) {
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		(void)snprintf(head, sizeof(head),
		    "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		last = t;
		hlen = strlen(head);
		if (hlen > 27)
			hlen = 27;
	}
	memcpy(buf, head, hlen);
	buf[hlen] = (char)('0' + frac / 100);
	buf[hlen + 1] = (char)('0' + frac / 10 % 10);
	buf[hlen + 2] = (char)('0' + frac % 10);
	buf[hlen + 3] = 'Z';
	buf[hlen + 4] = '\0';
}

int
clock_parse_rfc3339(const char *s, int64_t *ms)
{
	struct tm tm;
	int frac = 0, n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &frac, &n) != 7 || n == 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}
