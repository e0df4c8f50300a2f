/*
 * Diagnostics: each problem carries a severity, a JSON path such as
 * "steps[3].needs[0]" and a one-line message.  They are collected, not
 * printed as they are found, so that a document gets all of its problems
 * reported at once and the exit status is the worst severity seen.
 */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "diag.h"
#include "exitcode.h"
#include "jdoc.h"
#include "strbuf.h"
#include "xalloc.h"

/*
 * A message quotes what the user wrote (keys, ids, expressions): made one
 * line of valid UTF-8, control characters as \n, \t or \xNN, and a byte
 * that is not UTF-8 (a %.100s may cut a character) as \xNN.  Takes s.
 */
static char *
one_line(char *s)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(s), i, n;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			continue;
		if (c >= 0x80 && strbuf_utf8_len((unsigned char *)s + i,
		    len - i) > 0) {
			i += strbuf_utf8_len((unsigned char *)s + i, len - i) - 1;
			continue;
		}
		break;
	}
	if (i == len)
		return s;	/* the usual case: nothing to change */
	for (i = 0; i < len; i += n) {
		c = (unsigned char)s[i];
		n = c >= 0x80 ? strbuf_utf8_len((unsigned char *)s + i,
		    len - i) : 0;
		if (n > 0)
			strbuf_add(&sb, s + i, n);
		else if (c == '\n')
			strbuf_adds(&sb, "\\n");
		else if (c == '\t')
			strbuf_adds(&sb, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			strbuf_addf(&sb, "\\x%02x", c);
		else
			strbuf_addc(&sb, (char)c);
		if (n == 0)
			n = 1;
	}
	free(s);
	return strbuf_detach(&sb, NULL);
}

void
diag_init(struct diag *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = file;
}

void
diag_release(struct diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = d->nerr = 0;
	d->worst = DIAG_NONE;
}

static void
diag_push(struct diag *d, enum diag_sev sev, const char *path, char *msg)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
	}
	d->v[d->n].sev = sev;
	d->v[d->n].path = path != NULL ? one_line(xstrdup(path)) : NULL;
	d->v[d->n].msg = one_line(msg);
	d->n++;
	if (sev >= DIAG_ERROR)
		d->nerr++;
	if (sev > d->worst)
		d->worst = sev;
}

int
diag_add(struct diag *d, enum diag_sev sev, const char *path,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = xstrdup(fmt);
	va_end(ap);
	diag_push(d, sev, path, msg);
	return -1;
}

int
diag_sys(struct diag *d, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	char *msg, *full;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = xstrdup(fmt);
	va_end(ap);
	full = xasprintf("%s: %s", msg, strerror(saved));
	free(msg);
	diag_push(d, DIAG_SYSERR, NULL, full);
	errno = saved;
	return -1;
}

void
diag_print(const struct diag *d, FILE *fp)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag_msg *m = &d->v[i];

		/* A system error is the program's, not a place in the file. */
		if (m->sev == DIAG_SYSERR && m->path == NULL) {
			fprintf(fp, "%s: %s\n", getprogname(), m->msg);
			continue;
		}
		fprintf(fp, "%s: %s%s%s%s\n", d->file,
		    m->path != NULL ? m->path : "", m->path != NULL ? ": " : "",
		    m->sev == DIAG_WARNING ? "warning: " : "", m->msg);
	}
}

static void
diag_json_list(const struct diag *d, struct strbuf *sb, int warnings)
{
	size_t i;
	int first = 1;

	strbuf_addc(sb, '[');
	for (i = 0; i < d->n; i++) {
		const struct diag_msg *m = &d->v[i];

		if ((m->sev == DIAG_WARNING) != warnings)
			continue;
		if (!first)
			strbuf_addc(sb, ',');
		first = 0;
		strbuf_adds(sb, "{\"path\":");
		if (m->path != NULL)
			strbuf_add_json_str(sb, m->path, strlen(m->path));
		else
			strbuf_adds(sb, "null");
		strbuf_adds(sb, ",\"message\":");
		strbuf_add_json_str(sb, m->msg, strlen(m->msg));
		strbuf_addc(sb, '}');
	}
	strbuf_addc(sb, ']');
}

void
diag_print_json(const struct diag *d, FILE *fp)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "{\"valid\":%s,\"file\":",
	    d->nerr == 0 ? "true" : "false");
	strbuf_add_json_str(&sb, d->file, strlen(d->file));
	strbuf_adds(&sb, ",\"errors\":");
	diag_json_list(d, &sb, 0);
	strbuf_adds(&sb, ",\"warnings\":");
	diag_json_list(d, &sb, 1);
	strbuf_adds(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, fp);
	strbuf_release(&sb);
}

void
diag_bug(const char *what)
{
	fflush(NULL);
	fprintf(stderr, "%s: internal error: %s\n", getprogname(), what);
	exit(EXIT_BUG);
}
