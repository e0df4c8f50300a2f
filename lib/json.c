/*
 * JSON text in and out, on top of libjq's jv values.  Parsing always goes
 * through jv_parser with an explicit length (never jv_parse_sized, which
 * copies the whole document into its error message), so a syntax error
 * reports line and column and a second value in the same file is refused.
 * Output of untrusted or big values goes through jv_dumpf; the hot paths
 * that only need a few fields write JSON text with strbuf instead.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "diag.h"
#include "json.h"
#include "strbuf.h"
#include "xalloc.h"

int
json_read_file(const char *path, char **bufp, size_t *lenp, struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	ssize_t n;
	int fd;

	/* O_NONBLOCK, then blocking again for a pipe: a FIFO nobody writes
	 * (a trap in a run directory) reads as empty instead of hanging us,
	 * and <(...) still waits for its writer. */
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return diag_sys(d, "open '%s'", path);
	else
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		if (fd != STDIN_FILENO)
			close(fd);
		return diag_sys(d, "read '%s'", path);
	}
	/* Sized once for regular files: no doubling of a 100 MB buffer. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		strbuf_grow(&sb, (size_t)st.st_size + 65536);
	for (;;) {
		strbuf_grow(&sb, 65536);
		n = read(fd, sb.buf + sb.len, sb.cap - sb.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			diag_sys(d, "read '%s'", path);
			if (fd != STDIN_FILENO)
				close(fd);
			strbuf_release(&sb);
			return -1;
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
	}
	sb.buf[sb.len] = '\0';
	if (fd != STDIN_FILENO)
		close(fd);
	*bufp = strbuf_detach(&sb, lenp);
	return 0;
}

/*
 * libjq says "<what> at line L, column C"; we want "line L, column C:
 * invalid JSON: <what>" so the position comes first like a compiler's.
 */
static void
parse_error(struct diag *d, jv msg)
{
	const char *m = jv_string_value(msg), *at;
	char *what;

	at = strstr(m, " at line ");
	if (at != NULL && strstr(at + 1, " at line ") == NULL) {
		what = xstrndup(m, (size_t)(at - m));
		diag_add(d, DIAG_ERROR, NULL, "%s: invalid JSON: %s", at + 4,
		    what);
		free(what);
	} else
		diag_add(d, DIAG_ERROR, NULL, "invalid JSON: %s", m);
	jv_free(msg);
}

static jv
parse(const char *buf, size_t len, struct diag *d)
{
	struct jv_parser *p;
	jv v, extra;

	if ((p = jv_parser_new(0)) == NULL) {
		if (d != NULL)
			diag_add(d, DIAG_SYSERR, NULL, "out of memory");
		return jv_invalid();
	}
	jv_parser_set_buf(p, buf, (int)len, 0);
	v = jv_parser_next(p);
	if (!jv_is_valid(v)) {
		if (jv_invalid_has_msg(jv_copy(v))) {
			if (d != NULL)
				parse_error(d, jv_invalid_get_msg(v));
			else
				jv_free(v);
		} else {
			jv_free(v);
			if (d != NULL)
				diag_add(d, DIAG_ERROR, NULL,
				    "invalid JSON: empty document");
		}
		jv_parser_free(p);
		return jv_invalid();
	}
	extra = jv_parser_next(p);
	if (jv_is_valid(extra) || jv_invalid_has_msg(jv_copy(extra))) {
		if (d != NULL) {
			if (jv_is_valid(extra))
				diag_add(d, DIAG_ERROR, NULL, "invalid JSON: "
				    "more than one value (trailing data after "
				    "the document)");
			else
				parse_error(d, jv_invalid_get_msg(
				    jv_copy(extra)));
		}
		jv_free(extra);
		jv_free(v);
		jv_parser_free(p);
		return jv_invalid();
	}
	jv_free(extra);
	jv_parser_free(p);
	return v;
}

jv
json_parse(const char *buf, size_t len, struct diag *d)
{
	/* jv_parser takes an int length. */
	if (len > 0x7fffffff) {
		diag_add(d, DIAG_ERROR, NULL, "document too large (2 GiB max)");
		return jv_invalid();
	}
	return parse(buf, len, d);
}

jv
json_parse_quiet(const char *buf, size_t len)
{
	if (len > 0x7fffffff)
		return jv_invalid();
	return parse(buf, len, NULL);
}

jv
json_load(const char *path, struct diag *d)
{
	char *buf;
	size_t len;
	jv v;

	if (json_read_file(path, &buf, &len, d) == -1)
		return jv_invalid();
	v = json_parse(buf, len, d);
	free(buf);
	return v;
}

void
json_dump(jv v, FILE *fp, int pretty)
{
	jv_dumpf(v, fp, pretty ? JV_PRINT_PRETTY | JV_PRINT_INDENT_FLAGS(2) :
	    0);
	fputc('\n', fp);
}

void
json_append(struct strbuf *sb, jv v)
{
	jv s = jv_dump_string(jv_copy(v), 0);

	strbuf_add(sb, jv_string_value(s),
	    (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

const char *
json_str(jv obj, const char *key)
{
	jv v;
	const char *s;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(v);
		return NULL;
	}
	/* The object still holds a reference, so the pointer stays valid. */
	s = jv_string_value(v);
	jv_free(v);
	return s;
}
