/*
 * A small strict JSON parser that writes a flat tape instead of a tree of
 * jv values.  It exists for the two numbers the DAG loader must hit: libjq
 * 1.6 needs about 13 times a document's size in memory (an object per step,
 * a string per key) and its streaming mode is 60 times slower, while this
 * tape costs 16 bytes a token over the source text it points into and
 * decodes strings only when asked.  jv values are still built, from the
 * tape, for the small parts jq expressions see (params, outputs).
 *
 * Parsing is one pass, O(n), recursive descent with an explicit depth cap.
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>

#include "diag.h"
#include "jdoc.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_DEPTH 512

struct parser {
	struct jdoc	*doc;
	const char	*s;
	size_t		 len, pos;
	const char	*err;
	size_t		 errpos;
	int		 depth;
};

static uint32_t
push(struct parser *p, enum jkind k, size_t off)
{
	struct jdoc *d = p->doc;

	if (d->nn == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1024;
		d->n = xreallocarray(d->n, d->cap, sizeof(*d->n));
	}
	d->n[d->nn] = (struct jnode){ (uint8_t)k, 0, (uint32_t)off, 0, 0 };
	return d->nn++;
}

static int
fail(struct parser *p, const char *msg)
{
	if (p->err == NULL) {
		p->err = msg;
		p->errpos = p->pos;
	}
	return -1;
}

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			break;
		p->pos++;
	}
}


static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
parse_string(struct parser *p)
{
	size_t start = p->pos, n;
	uint32_t i = push(p, J_STR, start);
	const unsigned char *s = (const unsigned char *)p->s;
	int esc = 0;

	for (p->pos++; ; ) {
		/* Plain ASCII, the bulk of any DAG, in a tight loop. */
		while (p->pos < p->len && s[p->pos] >= 0x20 &&
		    s[p->pos] < 0x80 && s[p->pos] != '"' && s[p->pos] != '\\')
			p->pos++;
		if (p->pos >= p->len)
			return fail(p, "unterminated string");
		if (s[p->pos] == '"')
			break;
		if (s[p->pos] == '\\') {
			char c = p->pos + 1 < p->len ? (char)s[p->pos + 1] : 0;

			esc = 1;
			if (c == 'u') {
				if (p->pos + 5 >= p->len ||
				    !is_hex((char)s[p->pos + 2]) ||
				    !is_hex((char)s[p->pos + 3]) ||
				    !is_hex((char)s[p->pos + 4]) ||
				    !is_hex((char)s[p->pos + 5]))
					return fail(p, "bad \\u escape in string");
				p->pos += 6;
			} else if (c != '\0' && strchr("\"\\/bfnrt", c) != NULL)
				p->pos += 2;
			else
				return fail(p, "bad escape in string");
			continue;
		}
		if (s[p->pos] < 0x20)
			return fail(p, s[p->pos] == 0 ? "NUL byte in string" :
			    "control character in string (escape it)");
		if ((n = strbuf_utf8_len(s + p->pos, p->len - p->pos)) == 0)
			return fail(p, "invalid UTF-8 in string");
		p->pos += n;
	}
	p->pos++;
	if (p->pos - start > UINT32_MAX)
		return fail(p, "string too long");
	p->doc->n[i].len = (uint32_t)(p->pos - start);
	p->doc->n[i].esc = (uint8_t)esc;
	p->doc->n[i].end = i + 1;
	return 0;
}

static int
parse_number(struct parser *p)
{
	size_t start = p->pos;
	const char *s = p->s;
	uint32_t i;

	if (p->pos < p->len && s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !(s[p->pos] >= '0' && s[p->pos] <= '9'))
		return fail(p, "bad number");
	if (s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || !(s[p->pos] >= '0' && s[p->pos] <= '9'))
			return fail(p, "bad number");
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !(s[p->pos] >= '0' && s[p->pos] <= '9'))
			return fail(p, "bad number");
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos - start > 1000)
		return fail(p, "number too long");
	i = push(p, J_NUM, start);
	p->doc->n[i].len = (uint32_t)(p->pos - start);
	p->doc->n[i].end = i + 1;
	return 0;
}

static int parse_value(struct parser *);

/* Keys are compared raw; an escaped key is decoded only on collision risk. */
static int
dup_key(struct parser *p, uint32_t obj, uint32_t key)
{
	const struct jdoc *d = p->doc;
	const struct jnode *k = &d->n[key];
	uint32_t i;

	if (d->n[obj].len > 64)
		return 0;	/* checked by the hash in jdoc_check_dups */
	for (i = obj + 1; i < key; i = d->n[i + 1].end) {
		const struct jnode *o = &d->n[i];

		if (o->len == k->len && !o->esc && !k->esc &&
		    memcmp(d->buf + o->off, d->buf + k->off, k->len) == 0)
			return 1;
	}
	return 0;
}

static int
parse_object(struct parser *p)
{
	uint32_t i = push(p, J_OBJ, p->pos), key, count = 0;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		goto done;
	}
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"')
			return fail(p, "expected a string key");
		key = p->doc->nn;
		if (parse_string(p) == -1)
			return -1;
		if (dup_key(p, i, key)) {
			p->pos = p->doc->n[key].off;
			return fail(p, "duplicate key in object");
		}
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return fail(p, "expected ':' after key");
		p->pos++;
		if (parse_value(p) == -1)
			return -1;
		count++;
		p->doc->n[i].len = count;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		return fail(p, "expected ',' or '}' in object");
	}
done:
	p->doc->n[i].len = count;
	p->doc->n[i].end = p->doc->nn;
	return 0;
}

static int
parse_array(struct parser *p)
{
	uint32_t i = push(p, J_ARR, p->pos), count = 0;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		goto done;
	}
	for (;;) {
		if (parse_value(p) == -1)
			return -1;
		count++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			break;
		}
		return fail(p, "expected ',' or ']' in array");
	}
done:
	p->doc->n[i].len = count;
	p->doc->n[i].end = p->doc->nn;
	return 0;
}

static int
literal(struct parser *p, const char *word, enum jkind k)
{
	size_t n = strlen(word);
	uint32_t i;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail(p, "unexpected character");
	i = push(p, k, p->pos);
	p->doc->n[i].len = (uint32_t)n;
	p->doc->n[i].end = i + 1;
	p->pos += n;
	return 0;
}

static int
parse_value(struct parser *p)
{
	int rc;

	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "unexpected end of document");
	if (p->doc->nn >= UINT32_MAX - 1)
		return fail(p, "document too large");
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		if (++p->depth > MAX_DEPTH)
			return fail(p, "nesting deeper than 512 levels");
		rc = p->s[p->pos] == '{' ? parse_object(p) : parse_array(p);
		p->depth--;
		return rc;
	case '"':
		return parse_string(p);
	case 't':
		return literal(p, "true", J_TRUE);
	case 'f':
		return literal(p, "false", J_FALSE);
	case 'n':
		return literal(p, "null", J_NULL);
	case '\0':
		return fail(p, "NUL byte in document");
	default:
		if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' &&
		    p->s[p->pos] <= '9'))
			return parse_number(p);
		if (p->pos == 0 && p->len >= 3 &&
		    memcmp(p->s, "\xef\xbb\xbf", 3) == 0)
			return fail(p, "a UTF-8 byte order mark: save the file "
			    "without it");
		return fail(p, "unexpected character");
	}
}

/* Large objects: duplicate keys found by sorting key spans. */
static const struct jdoc *sort_doc;

static int
cmp_key(const void *a, const void *b)
{
	const struct jnode *x = &sort_doc->n[*(const uint32_t *)a];
	const struct jnode *y = &sort_doc->n[*(const uint32_t *)b];
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = memcmp(sort_doc->buf + x->off, sort_doc->buf + y->off, x->len);
	return c;
}

static int
check_big_dups(struct parser *p)
{
	struct jdoc *d = p->doc;
	uint32_t i, k, m, *keys;

	for (i = 0; i < d->nn; i++) {
		if (d->n[i].kind != J_OBJ || d->n[i].len <= 64)
			continue;
		keys = xreallocarray(NULL, d->n[i].len, sizeof(*keys));
		for (m = 0, k = i + 1; k < d->n[i].end; k = d->n[k + 1].end)
			keys[m++] = k;
		sort_doc = d;
		qsort(keys, m, sizeof(*keys), cmp_key);
		for (k = 1; k < m; k++)
			if (cmp_key(&keys[k - 1], &keys[k]) == 0) {
				p->pos = d->n[keys[k]].off;
				free(keys);
				return fail(p, "duplicate key in object");
			}
		free(keys);
	}
	return 0;
}

/*
 * Every node but the root follows one of , : [ { so their count bounds
 * the tape; sizing it once keeps the peak at the tape itself, not the
 * tape plus its doubled copy.
 */
static uint32_t
count_nodes(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	size_t n = 1;

	for (; p < end; p++)
		if (*p == ',' || *p == ':' || *p == '[' || *p == '{')
			n++;
	return n > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)n;
}

int
jdoc_parse(struct jdoc *doc, const char *buf, size_t len, struct diag *dg)
{
	struct parser p = { doc, buf, len, 0, NULL, 0, 0 };
	size_t line = 1, col = 1, i;

	memset(doc, 0, sizeof(*doc));
	doc->buf = buf;
	doc->len = len;
	if (len >= UINT32_MAX) {
		diag_add(dg, DIAG_ERROR, NULL, "document too large (4 GiB max)");
		return -1;
	}
	doc->cap = count_nodes(buf, len);
	doc->n = xreallocarray(NULL, doc->cap, sizeof(*doc->n));
	skip_ws(&p);
	if (p.pos == len)
		fail(&p, "empty document");
	else if (parse_value(&p) == 0) {
		skip_ws(&p);
		if (p.pos < len)
			fail(&p, p.s[p.pos] == '{' || p.s[p.pos] == '[' ?
			    "more than one document (trailing data)" :
			    "trailing data after the document");
		else
			check_big_dups(&p);
	}
	if (p.err == NULL)
		return 0;
	for (i = 0; i < p.errpos && i < len; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			col++;
	}
	diag_add(dg, DIAG_ERROR, NULL, "line %zu, column %zu: invalid JSON: %s",
	    line, col, p.err);
	jdoc_release(doc);
	return -1;
}

void
jdoc_release(struct jdoc *doc)
{
	free(doc->n);
	doc->n = NULL;
	doc->nn = doc->cap = 0;
}

uint32_t
jdoc_get(const struct jdoc *d, uint32_t obj, const char *key)
{
	uint32_t i;

	if (obj == JNONE || d->n[obj].kind != J_OBJ)
		return JNONE;
	for (i = obj + 1; i < d->n[obj].end; i = d->n[i + 1].end)
		if (jdoc_streq(d, i, key))
			return i + 1;
	return JNONE;
}

static unsigned
hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

static void
put_utf8(struct strbuf *sb, uint32_t cp)
{
	char b[4];

	if (cp < 0x80)
		strbuf_addc(sb, (char)cp);
	else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 4);
	}
}

void
jdoc_str(const struct jdoc *d, uint32_t i, struct strbuf *sb)
{
	const char *s = d->buf + d->n[i].off + 1;
	size_t n = d->n[i].len - 2, k;
	uint32_t cp, lo;

	if (!d->n[i].esc) {
		strbuf_add(sb, s, n);
		return;
	}
	for (k = 0; k < n; k++) {
		if (s[k] != '\\') {
			strbuf_addc(sb, s[k]);
			continue;
		}
		k++;
		switch (s[k]) {
		case 'b': strbuf_addc(sb, '\b'); break;
		case 'f': strbuf_addc(sb, '\f'); break;
		case 'n': strbuf_addc(sb, '\n'); break;
		case 'r': strbuf_addc(sb, '\r'); break;
		case 't': strbuf_addc(sb, '\t'); break;
		case 'u':
			cp = hexval(s[k + 1]) << 12 | hexval(s[k + 2]) << 8 |
			    hexval(s[k + 3]) << 4 | hexval(s[k + 4]);
			k += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && k + 6 < n + 1 &&
			    s[k + 1] == '\\' && s[k + 2] == 'u') {
				lo = hexval(s[k + 3]) << 12 |
				    hexval(s[k + 4]) << 8 |
				    hexval(s[k + 5]) << 4 | hexval(s[k + 6]);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					k += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;	/* lone surrogate */
			put_utf8(sb, cp);
			break;
		default:
			strbuf_addc(sb, s[k]);
		}
	}
}

char *
jdoc_strdup(const struct jdoc *d, uint32_t i, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_grow(&sb, d->n[i].len);
	jdoc_str(d, i, &sb);
	return strbuf_detach(&sb, len);
}

int
jdoc_streq(const struct jdoc *d, uint32_t i, const char *s)
{
	const struct jnode *n = &d->n[i];
	struct strbuf sb = STRBUF_INIT;
	int eq;

	if (n->kind != J_STR)
		return 0;
	if (!n->esc)
		return strlen(s) == n->len - 2 &&
		    memcmp(d->buf + n->off + 1, s, n->len - 2) == 0;
	jdoc_str(d, i, &sb);
	eq = sb.len == strlen(s) && memcmp(sb.buf, s, sb.len) == 0;
	strbuf_release(&sb);
	return eq;
}

double
jdoc_num(const struct jdoc *d, uint32_t i)
{
	char tmp[64], *big = NULL;
	const struct jnode *n = &d->n[i];
	double v;

	if (n->len < sizeof(tmp)) {
		memcpy(tmp, d->buf + n->off, n->len);
		tmp[n->len] = '\0';
		return strtod(tmp, NULL);
	}
	big = xstrndup(d->buf + n->off, n->len);
	v = strtod(big, NULL);
	free(big);
	return v;
}

jv
jdoc_jv(const struct jdoc *d, uint32_t i)
{
	const struct jnode *n = &d->n[i];
	struct strbuf sb = STRBUF_INIT;
	uint32_t k;
	jv v;

	switch (n->kind) {
	case J_NULL:
		return jv_null();
	case J_FALSE:
		return jv_false();
	case J_TRUE:
		return jv_true();
	case J_NUM:
		return jv_number(jdoc_num(d, i));
	case J_STR:
		jdoc_str(d, i, &sb);
		v = jv_string_sized(sb.buf != NULL ? sb.buf : "", (int)sb.len);
		strbuf_release(&sb);
		return v;
	case J_ARR:
		v = jv_array();
		for (k = i + 1; k < n->end; k = d->n[k].end)
			v = jv_array_append(v, jdoc_jv(d, k));
		return v;
	default:
		v = jv_object();
		for (k = i + 1; k < n->end; k = d->n[k + 1].end)
			v = jv_object_set(v, jdoc_jv(d, k), jdoc_jv(d, k + 1));
		return v;
	}
}

void
jdoc_emit(const struct jdoc *d, uint32_t i, struct strbuf *sb)
{
	const struct jnode *n = &d->n[i];
	uint32_t k;

	switch (n->kind) {
	case J_ARR:
		strbuf_addc(sb, '[');
		for (k = i + 1; k < n->end; k = d->n[k].end) {
			if (k != i + 1)
				strbuf_addc(sb, ',');
			jdoc_emit(d, k, sb);
		}
		strbuf_addc(sb, ']');
		return;
	case J_OBJ:
		strbuf_addc(sb, '{');
		for (k = i + 1; k < n->end; k = d->n[k + 1].end) {
			if (k != i + 1)
				strbuf_addc(sb, ',');
			jdoc_emit(d, k, sb);
			strbuf_addc(sb, ':');
			jdoc_emit(d, k + 1, sb);
		}
		strbuf_addc(sb, '}');
		return;
	default:
		strbuf_add(sb, d->buf + n->off, n->len);
	}
}

const char *
jkind_article(enum jkind k)
{
	static const char *names[] = { "null", "a boolean", "a boolean",
	    "a number", "a string", "an array", "an object" };

	return names[k];
}
