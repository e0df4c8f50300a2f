#ifndef STRBUF_H
#define STRBUF_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A growable NUL-terminated byte buffer.  Embed it; init/release. */
struct strbuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

void	 strbuf_init(struct strbuf *);
void	 strbuf_release(struct strbuf *);
void	 strbuf_reset(struct strbuf *);
void	 strbuf_grow(struct strbuf *, size_t);
void	 strbuf_addf(struct strbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void	 strbuf_add_json_str(struct strbuf *, const char *, size_t);
/* Appends a number as JSON: integers exactly, others with %.17g trimmed. */
void	 strbuf_add_json_num(struct strbuf *, double);
/* Appends a decimal integer without printf. */
void	 strbuf_add_int(struct strbuf *, long long);
/* Appends seconds rounded to milliseconds ("2.31"): cheap, for timings. */
void	 strbuf_add_secs(struct strbuf *, double);
/*
 * The appends are inline: the events and run.json call them per field of
 * every step, and a string literal's length then folds at compile time.
 */
static inline void
strbuf_add(struct strbuf *sb, const void *p, size_t n)
{
	if (sb->len + n + 1 > sb->cap)
		strbuf_grow(sb, n);
	memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static inline void
strbuf_adds(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

static inline void
strbuf_addc(struct strbuf *sb, char c)
{
	if (sb->len + 2 > sb->cap)
		strbuf_grow(sb, 1);
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
}

/* Returns the buffer (owned by the caller) and resets sb. */
char	*strbuf_detach(struct strbuf *, size_t *);
const char *strbuf_str(const struct strbuf *);
/* Writes the contents to fp and resets once it holds at least min bytes. */
void	 strbuf_flush(struct strbuf *, FILE *, size_t min);

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is invalid. */
size_t	 strbuf_utf8_len(const unsigned char *s, size_t avail);

#endif
