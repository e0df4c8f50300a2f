/*
 * Where a template of a "run" string stands in the shell's grammar, so
 * that its value can be quoted for that place: a bare word gets single
 * quotes, inside '...' a quote becomes '\'' and inside "..." the four
 * characters special there get a backslash.  Quoting for the wrong place
 * would let data become shell syntax ("$(id)" between double quotes runs
 * id if it is only single-quoted), so places this scanner does not model
 * exactly are refused, with the way around them: pass the value through
 * env and use "$V".
 *
 * The scan reads only the literal text: a quoted value never changes the
 * shell's state, so each template's place is known before any runs.
 * Backslash-newline is removed by the shell before it reads tokens (but in
 * '...' and comments), so "$\<newline>(" opens a $(...) and "<\<newline><"
 * a here-document: the scan skips such pairs, in its look-aheads too. *
 * Interface: jqexpr.h (tmpl_shell_places, shell_quote_at).
 */
#include "compat.h"

#include <string.h>

#include "jqexpr.h"
#include "strbuf.h"

enum frame {
	F_TOP,		/* a command line */
	F_SUB,		/* $( ... ): a command line, until its ) */
	F_DQ,		/* "..." */
	F_SQ,		/* '...' */
	F_PARAM,	/* ${...} */
	F_ARITH,	/* $(( ... )) */
	F_COMMENT	/* # ... to the end of the line */
};

#define MAXDEPTH	64

struct lex {
	unsigned char	 st[MAXDEPTH];
	unsigned	 parens[MAXDEPTH];	/* F_SUB, F_ARITH: open ( */
	size_t		 n;
	int		 esc;		/* the last character was a backslash */
	int		 dollar;	/* ... an unquoted-by-us $ */
	int		 wordstart;	/* a # here starts a comment */
	const char	*lost;		/* what the scan cannot follow past */
};

static int
in_sub(const struct lex *L)
{
	size_t k;

	for (k = 0; k < L->n; k++)
		if (L->st[k] == F_SUB)
			return 1;
	return 0;
}

static void
push(struct lex *L, enum frame f)
{
	if (L->n == MAXDEPTH) {
		L->lost = "too deep in nested quotes";
		return;
	}
	L->parens[L->n] = 0;
	L->st[L->n++] = (unsigned char)f;
}

/* The next character the shell sees from p on: line continuations out. */
static const char *
cont(const char *p)
{
	while (p[0] == '\\' && p[1] == '\n')
		p += 2;
	return p;
}

/* 1 if the word w starts at p, line continuations allowed inside. */
static int
word_at(const char *p, const char *w, const char **end)
{
	for (; *w != '\0'; w++) {
		p = cont(p);
		if (*p++ != *w)
			return 0;
	}
	*end = cont(p);
	return 1;
}

/*
 * Scans literal text, moving through the frames.  Long: one loop over the
 * characters, a case per token of the shell's grammar that changes where
 * a template stands; the cases share the position and the frame stack.
 */
static void
scan(struct lex *L, const char *s)
{
	const char *p, *q, *q2;
	enum frame top;
	char c;

	for (p = s; *p != '\0' && L->lost == NULL; p++) {
		c = *p;
		top = (enum frame)L->st[L->n - 1];
		if (L->esc) {
			L->esc = 0;
			L->wordstart = 0;
			continue;
		}
		if (c == '\\' && p[1] == '\n' && top != F_SQ &&
		    top != F_COMMENT) {
			p++;		/* removed: nothing changes */
			continue;
		}
		L->dollar = 0;
		switch (top) {
		case F_SQ:
			if (c == '\'')
				L->n--;
			continue;
		case F_COMMENT:
			if (c == '\n') {
				L->n--;
				L->wordstart = 1;
			}
			continue;
		case F_PARAM:
			/* ${x}, ${x:-word}, ${#x}: quotes or expansions
			 * inside are not followed. */
			if (c == '}')
				L->n--;
			else if (strchr("'\"\\`$", c) != NULL)
				L->lost = "after quotes or $ inside ${...}";
			continue;
		case F_ARITH:
			if (c == '(')
				L->parens[L->n - 1]++;
			else if (c == ')') {
				if (L->parens[L->n - 1] > 0)
					L->parens[L->n - 1]--;
				else if (*(q = cont(p + 1)) == ')') {
					p = q;
					L->n--;
				} else
					L->lost = "after an unbalanced $((...))";
			} else if (strchr("'\"\\`", c) != NULL)
				L->lost = "after quotes inside $((...))";
			continue;
		default:
			break;
		}
		/* A command line, or "...". */
		if (c == '\\') {
			L->esc = 1;
			continue;
		}
		if (c == '`') {
			L->lost = "after backquotes (write $(...) instead)";
			continue;
		}
		if (c == '$') {
			q = cont(p + 1);
			q2 = *q != '\0' ? cont(q + 1) : q;
			if (*q == '(' && *q2 == '(') {
				push(L, F_ARITH);
				p = q2;
			} else if (*q == '(') {
				push(L, F_SUB);
				p = q;
				L->wordstart = 1;
				continue;
			} else if (*q == '{') {
				push(L, F_PARAM);
				p = q;
			} else if (*q == '\'' && top != F_DQ)
				L->lost = "after $'...'";
			else
				L->dollar = 1;
			L->wordstart = 0;
			continue;
		}
		if (top == F_DQ) {
			if (c == '"')
				L->n--;
			continue;
		}
		/* A command line. */
		if (c == '\'' || c == '"') {
			push(L, c == '\'' ? F_SQ : F_DQ);
			L->wordstart = 0;
			continue;
		}
		if (c == '#' && L->wordstart) {
			push(L, F_COMMENT);
			continue;
		}
		if (c == '<' && *cont(p + 1) == '<') {
			L->lost = "after a here-document (<<)";
			continue;
		}
		if (L->wordstart && word_at(p, "case", &q) && *q != '\0' &&
		    strchr(" \t\n", *q) != NULL && in_sub(L)) {
			L->lost = "after a case inside $(...)";
			continue;
		}
		if (top == F_SUB && c == '(')
			L->parens[L->n - 1]++;
		else if (top == F_SUB && c == ')') {
			if (L->parens[L->n - 1] == 0) {
				L->n--;
				L->wordstart = 0;
				continue;
			}
			L->parens[L->n - 1]--;
		}
		L->wordstart = strchr(" \t\n;&|()<>", c) != NULL;
	}
}

int
tmpl_shell_places(struct tmpl *t, size_t *bad, const char **why)
{
	struct lex L;
	size_t i;

	memset(&L, 0, sizeof(L));
	L.st[L.n++] = F_TOP;
	L.wordstart = 1;
	for (i = 0; i < t->n; i++) {
		struct tmpl_part *q = &t->part[i];

		if (!q->is_expr) {
			scan(&L, q->text);
			continue;
		}
		*bad = i;
		if (L.lost != NULL) {
			*why = L.lost;
			return -1;
		}
		if (L.esc) {
			*why = "right after a backslash";
			return -1;
		}
		if (L.dollar) {
			*why = "right after a $";
			return -1;
		}
		switch ((enum frame)L.st[L.n - 1]) {
		case F_TOP:
		case F_SUB:
			q->place = TQ_WORD;
			break;
		case F_SQ:
			q->place = TQ_SQ;
			break;
		case F_DQ:
			q->place = TQ_DQ;
			break;
		case F_PARAM:
			*why = "inside ${...}";
			return -1;
		case F_ARITH:
			*why = "inside $((...))";
			return -1;
		case F_COMMENT:
			*why = "inside a comment";
			return -1;
		}
		/* The value is part of a word: no # after it starts one. */
		L.wordstart = 0;
	}
	return 0;
}

void
shell_quote_at(struct strbuf *sb, int place, const char *s, size_t n)
{
	size_t i;

	if (place == TQ_WORD)
		strbuf_addc(sb, '\'');
	for (i = 0; i < n; i++) {
		if (place != TQ_DQ && s[i] == '\'')
			strbuf_adds(sb, "'\\''");
		else {
			if (place == TQ_DQ && strchr("\\$`\"", s[i]) != NULL)
				strbuf_addc(sb, '\\');
			strbuf_addc(sb, s[i]);
		}
	}
	if (place == TQ_WORD)
		strbuf_addc(sb, '\'');
}
