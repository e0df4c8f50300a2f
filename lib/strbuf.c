/*
 * Growable string buffer.  Used for paths, messages, shell quoting and the
 * hand-written JSON that the hot paths emit (events, run.json, plans): writing
 * JSON text directly is several times cheaper than building jv values only to
 * dump them again.  Appends are amortized O(1); capacity doubles.
 */
#include "compat.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "strbuf.h"
#include "xalloc.h"

void
strbuf_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

void
strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb);
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf != NULL)
		sb->buf[0] = '\0';
}

void
strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return;
	if (sb->cap == 0)
		sb->cap = 64;
	while (sb->cap < need)
		sb->cap *= 2;
	sb->buf = xreallocarray(sb->buf, sb->cap, 1);
}

void
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	strbuf_grow(sb, 64);
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sb->cap - sb->len) {
		strbuf_grow(sb, (size_t)n);
		va_start(ap, fmt);
		(void)vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void
strbuf_add_json_str(struct strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run;

	strbuf_grow(sb, n + 2);
	strbuf_addc(sb, '"');
	for (i = 0; i < n; i += run) {
		unsigned char c = (unsigned char)s[i];
		size_t u;

		/* Copy the longest run that needs no escaping in one go:
		 * ASCII, and whole UTF-8 sequences. */
		for (run = 0; i + run < n; run += u) {
			c = (unsigned char)s[i + run];
			u = 1;
			if (c < 0x20 || c == '"' || c == '\\' || (c >= 0x80 &&
			    (u = strbuf_utf8_len((const unsigned char *)s + i +
			    run, n - i - run)) == 0))
				break;
		}
		if (run > 0) {
			strbuf_add(sb, s + i, run);
			continue;
		}
		run = 1;
		/* A byte that is not UTF-8 (a path, a reason from the
		 * system): JSON cannot hold it, U+FFFD stands for it. */
		if (c >= 0x80) {
			strbuf_add(sb, "\\ufffd", 6);
			continue;
		}
		switch (c) {
		case '"':
			strbuf_add(sb, "\\\"", 2);
			break;
		case '\\':
			strbuf_add(sb, "\\\\", 2);
			break;
		case '\n':
			strbuf_add(sb, "\\n", 2);
			break;
		case '\t':
			strbuf_add(sb, "\\t", 2);
			break;
		case '\r':
			strbuf_add(sb, "\\r", 2);
			break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
			    hex[c & 15] };

			strbuf_add(sb, u, sizeof(u));
		}
		}
	}
	strbuf_addc(sb, '"');
}

void
strbuf_add_json_num(struct strbuf *sb, double d)
{
	char tmp[40];
	int prec;

	if (!isfinite(d)) {
		strbuf_adds(sb, d > 0 ? "1.7976931348623157e+308" :
		    d < 0 ? "-1.7976931348623157e+308" : "null");
		return;
	}
	/* The range first: the cast of a double past long long is UB. */
	if (fabs(d) < 1e15 && d == (double)(long long)d) {
		strbuf_addf(sb, "%lld", (long long)d);
		return;
	}
	/* The shortest of %.15g..%.17g that reads back exactly. */
	for (prec = 15; prec < 17; prec++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	strbuf_addf(sb, "%.*g", prec, d);
}

char *
strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p = sb->buf;

	if (p == NULL)
		p = xstrdup("");
	if (len != NULL)
		*len = sb->len;
	strbuf_init(sb);
	return p;
}

const char *
strbuf_str(const struct strbuf *sb)
{
	return sb->buf != NULL ? sb->buf : "";
}

void
strbuf_flush(struct strbuf *sb, FILE *fp, size_t min)
{
	if (fp == NULL || sb->len < min || sb->len == 0)
		return;
	(void)fwrite(sb->buf, 1, sb->len, fp);
	strbuf_reset(sb);
}

void
strbuf_add_secs(struct strbuf *sb, double secs)
{
	char tmp[32], *p = tmp + sizeof(tmp);
	long long ms;
	int neg = secs < 0, frac, i;

	if (!isfinite(secs) || fabs(secs) > 1e15) {
		strbuf_add_json_num(sb, secs);
		return;
	}
	ms = llround(fabs(secs) * 1000);
	frac = (int)(ms % 1000);
	ms /= 1000;
	*--p = '\0';
	if (frac != 0) {
		/* Three decimals, trailing zeros dropped. */
		char d[3] = { (char)('0' + frac / 100),
		    (char)('0' + frac / 10 % 10), (char)('0' + frac % 10) };

		for (i = 2; i > 0 && d[i] == '0'; i--)
			;
		for (; i >= 0; i--)
			*--p = d[i];
		*--p = '.';
	}
	do {
		*--p = (char)('0' + ms % 10);
		ms /= 10;
	} while (ms > 0);
	if (neg)
		*--p = '-';
	strbuf_add(sb, p, (size_t)(tmp + sizeof(tmp) - 1 - p));
}

void
strbuf_add_int(struct strbuf *sb, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	strbuf_add(sb, p, (size_t)(tmp + sizeof(tmp) - 1 - p));
}

/* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
size_t
strbuf_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}
