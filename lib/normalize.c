/*
 * The normalized form of a DAG: "name" filled in, the defaults merged into
 * every step (objects such as env and retry merged key by key), durations
 * as numbers of seconds, "defaults" and any old "plan" dropped.  It is a
 * valid DAG document itself and normalizing it again changes nothing, so
 * dag-plan and dag-run read raw and normalized DAGs through the same
 * loader.  Values the loader does not interpret are copied token by token
 * from the source text, which makes this a linear pass with no jv at all.
 *
 * Interface: dag.h (dag_emit).
 */
#include "compat.h"

#include <stdio.h>

#include "dag.h"
#include "jdoc.h"
#include "strbuf.h"

static void
key(struct strbuf *sb, int *first, const char *k)
{
	if (!*first)
		strbuf_addc(sb, ',');
	*first = 0;
	strbuf_add_json_str(sb, k, strlen(k));
	strbuf_addc(sb, ':');
}

static void
raw_key(const struct jdoc *j, uint32_t k, struct strbuf *sb, int *first)
{
	if (!*first)
		strbuf_addc(sb, ',');
	*first = 0;
	jdoc_emit(j, k, sb);
	strbuf_addc(sb, ':');
}

static void
emit_retry(const struct step *s, struct strbuf *sb)
{
	int i, first = 1;

	strbuf_addf(sb, "{\"attempts\":%u,\"delay\":", s->pol.attempts);
	strbuf_add_json_num(sb, s->pol.delay);
	strbuf_adds(sb, ",\"factor\":");
	strbuf_add_json_num(sb, s->pol.factor);
	strbuf_adds(sb, ",\"max_delay\":");
	strbuf_add_json_num(sb, s->pol.max_delay);
	strbuf_adds(sb, s->pol.jitter ? ",\"jitter\":true" :
	    ",\"jitter\":false");
	if (s->pol.exit_codes != NULL) {
		strbuf_adds(sb, ",\"exit_codes\":[");
		for (i = 0; i < 256; i++)
			if (s->pol.exit_codes[i]) {
				strbuf_addf(sb, first ? "%d" : ",%d", i);
				first = 0;
			}
		strbuf_addc(sb, ']');
	}
	if (s->pol.max_duration > 0) {
		strbuf_adds(sb, ",\"max_duration\":");
		strbuf_add_json_num(sb, s->pol.max_duration);
	}
	strbuf_addc(sb, '}');
}

/* Member k's key, as "name" into a small buffer for lookups. */
static int
has_key(const struct jdoc *j, uint32_t obj, uint32_t k)
{
	uint32_t i;
	const struct jnode *a = &j->n[k];

	for (i = obj + 1; i < j->n[obj].end; i = j->n[i + 1].end) {
		const struct jnode *b = &j->n[i];

		if (a->len == b->len && memcmp(j->buf + a->off, j->buf + b->off,
		    a->len) == 0)
			return 1;
	}
	return 0;
}

static void
emit_env(const struct jdoc *j, const struct step *s, struct strbuf *sb)
{
	uint32_t k;
	int first = 1;

	if (s->env_def == JNONE || s->env == JNONE) {
		jdoc_emit(j, s->env != JNONE ? s->env : s->env_def, sb);
		return;
	}
	strbuf_addc(sb, '{');
	for (k = s->env_def + 1; k < j->n[s->env_def].end; k = j->n[k + 1].end)
		if (!has_key(j, s->env, k)) {
			raw_key(j, k, sb, &first);
			jdoc_emit(j, k + 1, sb);
		}
	for (k = s->env + 1; k < j->n[s->env].end; k = j->n[k + 1].end) {
		raw_key(j, k, sb, &first);
		jdoc_emit(j, k + 1, sb);
	}
	strbuf_addc(sb, '}');
}

/* One member of a step (or an inherited default) in normalized form. */
static void
emit_member(const struct jdoc *j, const struct step *s, uint32_t k,
    struct strbuf *sb, int *first, int *did_env, int *did_retry)
{
	if (jdoc_streq(j, k, "timeout")) {
		key(sb, first, "timeout");
		strbuf_add_json_num(sb, s->timeout);
	} else if (jdoc_streq(j, k, "kill_grace")) {
		key(sb, first, "kill_grace");
		strbuf_add_json_num(sb, s->kill_grace);
	} else if (jdoc_streq(j, k, "retry")) {
		if (*did_retry)
			return;
		*did_retry = 1;
		key(sb, first, "retry");
		emit_retry(s, sb);
	} else if (jdoc_streq(j, k, "env")) {
		if (*did_env)
			return;
		*did_env = 1;
		key(sb, first, "env");
		emit_env(j, s, sb);
	} else {
		raw_key(j, k, sb, first);
		jdoc_emit(j, k + 1, sb);
	}
}

/* Step s as written (defaults merged); inst: a matrix instance as what
 * it runs, its own id and combination in place of the step's. */
static void
emit_step(const struct dag *g, uint32_t defaults, const struct step *s,
    int inst, struct strbuf *sb)
{
	const struct jdoc *j = &g->doc;
	uint32_t k;
	int first = 1, did_env = 0, did_retry = 0;

	strbuf_addc(sb, '{');
	for (k = s->node + 1; k < j->n[s->node].end; k = j->n[k + 1].end)
		if (inst && s->item != NULL && jdoc_streq(j, k, "id")) {
			key(sb, &first, "id");
			strbuf_add_json_str(sb, s->id, strlen(s->id));
		} else if (inst && s->item != NULL &&
		    jdoc_streq(j, k, "matrix")) {
			key(sb, &first, "matrix");
			strbuf_adds(sb, s->item);
		} else
			emit_member(j, s, k, sb, &first, &did_env, &did_retry);
	if (defaults != JNONE)
		for (k = defaults + 1; k < j->n[defaults].end;
		    k = j->n[k + 1].end)
			if (!has_key(j, s->node, k))
				emit_member(j, s, k, sb, &first, &did_env,
				    &did_retry);
	strbuf_addc(sb, '}');
}

void
dag_emit_step(const struct dag *g, uint32_t i, struct strbuf *sb)
{
	uint32_t defaults = jdoc_get(&g->doc, 0, "defaults");

	if (defaults != JNONE && g->doc.n[defaults].kind != J_OBJ)
		defaults = JNONE;
	emit_step(g, defaults, &g->s[i], 1, sb);
}

/*
 * The document: every member (top only: all but the steps and finally),
 * each step's place in it to span[2i], span[2i + 1] (offset, length).
 */
static void
emit_doc(const struct dag *g, struct strbuf *sb, FILE *fp, uint64_t *span,
    int top)
{
	const struct jdoc *j = &g->doc;
	uint32_t k, defaults = jdoc_get(j, 0, "defaults"), i;
	uint64_t base = 0;		/* bytes written out to fp */
	int first = 0;

	if (defaults != JNONE && j->n[defaults].kind != J_OBJ)
		defaults = JNONE;
	if (fp == NULL)
		strbuf_grow(sb, top ? 256 : g->len + g->len / 4);
	strbuf_adds(sb, "{\"name\":");
	strbuf_add_json_str(sb, g->name, strlen(g->name));
	for (k = 1; k < j->n[0].end; k = j->n[k + 1].end) {
		if (jdoc_streq(j, k, "name") || jdoc_streq(j, k, "defaults") ||
		    jdoc_streq(j, k, "plan") || (top && (jdoc_streq(j, k,
		    "steps") || jdoc_streq(j, k, "finally"))))
			continue;
		if (jdoc_streq(j, k, "timeout")) {
			key(sb, &first, "timeout");
			strbuf_add_json_num(sb, g->timeout);
		} else if (jdoc_streq(j, k, "steps")) {
			key(sb, &first, "steps");
			strbuf_addc(sb, '[');
			/* A matrix step once, as written: a load expands
			 * it again. */
			for (i = 0; i < g->n; i++) {
				if (g->s[i].shared)
					continue;
				if (i > 0)
					strbuf_addc(sb, ',');
				if (span != NULL)
					span[2 * i] = base + sb->len;
				emit_step(g, defaults, &g->s[i], 0, sb);
				if (span != NULL)
					span[2 * i + 1] = base + sb->len -
					    span[2 * i];
				if (fp != NULL && sb->len >= 64 << 10) {
					base += sb->len;
					strbuf_flush(sb, fp, 0);
				}
			}
			strbuf_addc(sb, ']');
		} else {
			raw_key(j, k, sb, &first);
			jdoc_emit(j, k + 1, sb);
		}
	}
}

void
dag_emit(const struct dag *g, struct strbuf *sb, FILE *fp, uint64_t *span)
{
	emit_doc(g, sb, fp, span, 0);
}

void
dag_emit_top(const struct dag *g, struct strbuf *sb)
{
	emit_doc(g, sb, NULL, NULL, 1);
	strbuf_addc(sb, '}');
}
