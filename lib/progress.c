/*
 * Talking to the person at the terminal, on stderr only.  Without a
 * terminal (CI logs, cron mail) every finished step is one plain line, so
 * the log reads top to bottom; on a terminal a status line below them
 * shows what is running, redrawn at most ten times a second.  Colour only
 * on a terminal and never with NO_COLOR set.
 */
#include "compat.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "clock.h"
#include "duration.h"
#include "progress.h"
#include "rundir.h"
#include "state.h"
#include "xalloc.h"

void
progress_init(struct progress *p, uint32_t total, int quiet)
{
	const char *nc = getenv("NO_COLOR");

	memset(p, 0, sizeof(*p));
	p->tty = isatty(STDERR_FILENO);
	p->color = p->tty && (nc == NULL || *nc == '\0');
	p->quiet = quiet;
	p->total = total;
	p->start = clock_mono_ms();
}

static void
clear_line(struct progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = 0;
	}
}

void
progress_step(struct progress *p, const char *id, int st, uint32_t attempt,
    double secs, const char *reason)
{
	static const char *const word[] = { "pending", "running", "retry",
	    "ok", "FAILED", "TIMEOUT", "skipped", "upstream_failed",
	    "cancelled", "cached" };
	static const char *const col[] = { "", "", "\033[33m", "\033[32m",
	    "\033[31m", "\033[31m", "\033[2m", "\033[33m", "\033[33m",
	    "\033[32m" };
	char d[32];

	if (st != ST_RETRY_WAIT)
		p->done++;
	if (p->quiet)
		return;
	clear_line(p);
	duration_format(secs, d, sizeof(d));
	fprintf(stderr, "[%u/%u] %s%s%s %s %s", p->done, p->total,
	    p->color ? col[st] : "", word[st], p->color ? "\033[0m" : "", id,
	    d);
	if (st == ST_RETRY_WAIT)
		fprintf(stderr, " (attempt %u)", attempt);
	if (reason != NULL && st != ST_SUCCEEDED && st != ST_CACHED)
		fprintf(stderr, ": %s", reason);
	fputc('\n', stderr);
}

void
progress_explain(struct progress *p, const char *line)
{
	clear_line(p);
	fprintf(stderr, "%s\n", line);
}

void
progress_tail(struct progress *p, int sdfd, const char *id, uint32_t attempt)
{
	char name[300], buf[4096];
	ssize_t n;
	off_t size;
	int fd, lines = 0;
	char *s, *start;

	if (p->quiet)
		return;
	(void)snprintf(name, sizeof(name), "%s/%u.stderr", id, attempt);
	if ((fd = rundir_open_file(sdfd, name, O_RDONLY)) == -1)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		size = sizeof(buf) - 1;
	n = size > 0 ? pread(fd, buf, (size_t)size, lseek(fd, 0, SEEK_END) -
	    size) : 0;
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* The last 10 lines. */
	for (start = buf + n; start > buf; start--)
		if (start[-1] == '\n' && ++lines == 10)
			break;
	clear_line(p);
	for (s = start; s != NULL && *s != '\0'; ) {
		char *nl = strchr(s, '\n');

		fprintf(stderr, "    %s | %.*s\n", id, nl ? (int)(nl - s) :
		    (int)strlen(s), s);
		s = nl ? nl + 1 : NULL;
	}
}

void
progress_tick(struct progress *p, double eta)
{
	int64_t now = clock_mono_ms();
	char el[32], e[32];

	if (!p->tty || p->quiet || now - p->last_draw < 100)
		return;
	p->last_draw = now;
	duration_format((double)(now - p->start) / 1000, el, sizeof(el));
	fprintf(stderr, "\r\033[K[%u/%u] %u running, %s elapsed", p->done,
	    p->total, p->running, el);
	if (eta >= 0) {
		duration_format(eta, e, sizeof(e));
		fprintf(stderr, ", ETA %s", e);
	}
	p->drawn = 1;
	fflush(stderr);
}

void
progress_done(struct progress *p)
{
	clear_line(p);
	fflush(stderr);
}
