/*
 * A step's command (struct cmdspec) and an evaluator's result line, to
 * JSON and back: the forked evaluator (exec.c) prints what it made of a
 * step, and the runner's side parses it.  Interface: exec.h.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "exec.h"
#include "jdoc.h"
#include "spawn.h"
#include "strbuf.h"
#include "xalloc.h"

void
cmdspec_release(struct cmdspec *c)
{
	size_t i;

	argv_free(c->argv);
	argv_free(c->inputs);
	argv_free(c->outputs);
	for (i = 0; i < c->nenv; i++) {
		free(c->envk[i]);
		free(c->envv[i]);
	}
	free(c->envk);
	free(c->envv);
	free(c->cwd);
	memset(c, 0, sizeof(*c));
}

void
cmdspec_env_add(struct cmdspec *c, char *k, char *v)
{
	c->envk = xreallocarray(c->envk, c->nenv + 1, sizeof(*c->envk));
	c->envv = xreallocarray(c->envv, c->nenv + 1, sizeof(*c->envv));
	c->envk[c->nenv] = k;
	c->envv[c->nenv++] = v;
}

/* ,"name":[...] of a NULL-terminated list, nothing for NULL. */
static void
emit_strs(struct strbuf *sb, const char *name, char *const *v)
{
	size_t i;

	if (v == NULL)
		return;
	strbuf_addf(sb, ",\"%s\":[", name);
	for (i = 0; v[i] != NULL; i++) {
		strbuf_adds(sb, i ? "," : "");
		strbuf_add_json_str(sb, v[i], strlen(v[i]));
	}
	strbuf_addc(sb, ']');
}

/* The strings of array node a of d: NULL-terminated, or NULL. */
static char **
parse_strs(const struct jdoc *d, uint32_t o, const char *name)
{
	uint32_t a = jdoc_get(d, o, name), e, n = 0;
	char **v;

	if (a == JNONE || d->n[a].kind != J_ARR)
		return NULL;
	v = xcalloc(d->n[a].len + 1, sizeof(*v));
	for (e = a + 1; e < d->n[a].end; e = d->n[e].end)
		v[n++] = jdoc_strdup(d, e, NULL);
	return v;
}

void
cmdspec_emit(const struct cmdspec *c, struct strbuf *sb)
{
	size_t i;

	strbuf_adds(sb, "{\"argv\":[");
	for (i = 0; c->argv[i] != NULL; i++) {
		strbuf_adds(sb, i ? "," : "");
		strbuf_add_json_str(sb, c->argv[i], strlen(c->argv[i]));
	}
	strbuf_addf(sb, "],\"shell\":%s,\"env\":[", c->shell ? "true" :
	    "false");
	for (i = 0; i < c->nenv; i++) {
		strbuf_adds(sb, i ? ",[" : "[");
		strbuf_add_json_str(sb, c->envk[i], strlen(c->envk[i]));
		strbuf_addc(sb, ',');
		strbuf_add_json_str(sb, c->envv[i], strlen(c->envv[i]));
		strbuf_addc(sb, ']');
	}
	strbuf_adds(sb, "],\"cwd\":");
	if (c->cwd != NULL)
		strbuf_add_json_str(sb, c->cwd, strlen(c->cwd));
	else
		strbuf_adds(sb, "null");
	strbuf_addf(sb, ",\"nlaunch\":%zu", c->nlaunch);
	emit_strs(sb, "inputs", c->inputs);
	emit_strs(sb, "outputs", c->outputs);
	strbuf_addc(sb, '}');
}

void
exec_result_release(struct exec_result *r)
{
	free(r->err);
	cmdspec_release(&r->cmd);
	memset(r, 0, sizeof(*r));
}

/* 1 if member k of object o is true. */
static int
is_true(const struct jdoc *d, uint32_t o, const char *k)
{
	uint32_t v = jdoc_get(d, o, k);

	return v != JNONE && d->n[v].kind == J_TRUE;
}

int
exec_parse_result(const char *text, size_t len, struct exec_result *r)
{
	struct cmdspec *c = &r->cmd;
	struct jdoc d;
	struct diag dg;
	uint32_t v, k, e, n;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	diag_init(&dg, "result");
	if (jdoc_parse(&d, text, len, &dg) == -1 || d.n[0].kind != J_OBJ)
		goto out;
	r->skip = is_true(&d, 0, "skip");
	r->output = is_true(&d, 0, "output");
	r->syserr = is_true(&d, 0, "syserr");
	r->bignum = is_true(&d, 0, "bignum");
	r->expand = (v = jdoc_get(&d, 0, "expand")) != JNONE &&
	    d.n[v].kind == J_NUM ? (long)jdoc_num(&d, v) : -1;
	if ((v = jdoc_get(&d, 0, "error")) != JNONE && d.n[v].kind == J_STR)
		r->err = jdoc_strdup(&d, v, NULL);
	if ((v = jdoc_get(&d, 0, "cmd")) != JNONE && d.n[v].kind == J_OBJ) {
		uint32_t a = jdoc_get(&d, v, "argv");

		if (a == JNONE || d.n[a].kind != J_ARR || d.n[a].len == 0)
			goto out;
		c->argv = xcalloc(d.n[a].len + 1, sizeof(*c->argv));
		for (e = a + 1, n = 0; e < d.n[a].end; e = d.n[e].end)
			c->argv[n++] = jdoc_strdup(&d, e, NULL);
		c->shell = is_true(&d, v, "shell");
		k = jdoc_get(&d, v, "cwd");
		if (k != JNONE && d.n[k].kind == J_STR)
			c->cwd = jdoc_strdup(&d, k, NULL);
		k = jdoc_get(&d, v, "env");
		if (k != JNONE && d.n[k].kind == J_ARR)
			for (e = k + 1; e < d.n[k].end; e = d.n[e].end)
				cmdspec_env_add(c, jdoc_strdup(&d, e + 1, NULL),
				    jdoc_strdup(&d, e + 2, NULL));
		k = jdoc_get(&d, v, "nlaunch");
		if (k != JNONE && d.n[k].kind == J_NUM)
			c->nlaunch = (size_t)jdoc_num(&d, k);
		c->inputs = parse_strs(&d, v, "inputs");
		c->outputs = parse_strs(&d, v, "outputs");
	}
	rc = 0;
out:
	jdoc_release(&d);
	diag_release(&dg);
	return rc;
}

