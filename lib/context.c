/*
 * The context of SPEC section 3 that a step's jq sees: params, run, step,
 * and .steps, the records of its ancestors with their outputs read from
 * disk; a matrix's instances grouped under the matrix's id, a foreach
 * step as the record of its instances; and .matrix, or .item and .index,
 * for an instance.  Interface: exec.h (exec_build_ctx).
 */
#include "compat.h"

#include "dag.h"
#include "exec.h"
#include "jdoc.h"
#include "rundir.h"
#include "state.h"
#include "xalloc.h"

/* Step i's output, null if none, or jv_invalid_with_msg (see read_output). */
static jv
load_output(const struct execctx *x, uint32_t i)
{
	struct jdoc jd;
	size_t len;
	char *text, *err;
	jv v;

	if (!x->rs->s[i].has_output)
		return jv_null();
	if ((text = exec_read_output(x, i, &jd, &len, &err)) == NULL) {
		v = jv_invalid_with_msg(jv_string(err));
		free(err);
		return v;
	}
	v = jdoc_jv(&jd, 0);
	jdoc_release(&jd);
	free(text);
	return v;
}

/*
 * What a group's instances add up to: failed if one failed the run,
 * else upstream_failed, cancelled, running (one has not ended), skipped
 * (all were), or succeeded.
 */
static const char *
group_status(const struct execctx *x, const struct group *gr)
{
	uint32_t t, seen = 0;
	const struct sstate *ss;

	for (t = 0; t < gr->n; t++) {
		ss = &x->rs->s[GROUP_AT(gr, t)];
		if ((ss->status == ST_FAILED || ss->status == ST_TIMED_OUT) &&
		    !ss->allowed)
			seen |= 1u << 0;
		else if (ss->status == ST_UPSTREAM_FAILED)
			seen |= 1u << 1;
		else if (ss->status == ST_CANCELLED)
			seen |= 1u << 2;
		else if (!step_status_terminal(ss->status))
			seen |= 1u << 3;
		else if (ss->status != ST_SKIPPED)
			seen |= 1u << 4;
	}
	return seen & 1 ? "failed" : seen & 2 ? "upstream_failed" : seen & 4 ?
	    "cancelled" : seen & 8 ? "running" : seen & 16 ? "succeeded" :
	    "skipped";
}

static jv
step_record(const struct execctx *x, uint32_t i)
{
	const struct sstate *s = &x->rs->s[i];
	jv r = jv_object(), out = load_output(x, i);

	if (!jv_is_valid(out)) {
		jv_free(r);
		return out;
	}
	r = jv_object_set(r, jv_string("status"),
	    jv_string(step_status_names[s->status]));
	r = jv_object_set(r, jv_string("exit_code"), s->exit_code >= 0 ?
	    jv_number(s->exit_code) : jv_null());
	r = jv_object_set(r, jv_string("output"), out);
	r = jv_object_set(r, jv_string("attempts"), jv_number(s->attempts));
	r = jv_object_set(r, jv_string("duration"), jv_number(s->duration));
	return r;
}

/* Instance k's record rec (consumed) at place t of group record gv. */
static jv
put_instance(const struct execctx *x, jv gv, uint32_t k, uint32_t t, jv rec)
{
	const struct step *s = &x->g->s[k];
	jv v = jv_object_get(jv_copy(gv), jv_string("output"));

	v = jv_array_set(v, (int)t, jv_object_get(jv_copy(rec),
	    jv_string("output")));
	gv = jv_object_set(gv, jv_string("output"), v);
	rec = jv_object_set(rec, jv_string("id"), jv_string(s->id));
	if (s->item != NULL)
		rec = jv_object_set(rec, jv_string(s->pol.parent == SCHED_NONE ?
		    "matrix" : "item"), jv_parse(s->item));
	v = jv_object_get(jv_copy(gv), jv_string("instances"));
	v = jv_array_set(v, (int)t, rec);
	return jv_object_set(gv, jv_string("instances"), v);
}

static jv
group_record(const struct execctx *x, const struct group *gr)
{
	return jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("status"), jv_string(group_status(x, gr))),
	    jv_string("output"), jv_array()), jv_string("instances"),
	    jv_array());
}

/*
 * Adds step k's record to steps (consumed): a matrix's instance in its
 * group's record, a foreach step as the record of its instances.
 * Returns steps, or the record's jv_invalid_with_msg when an output
 * cannot be read.
 */
static jv
add_record(const struct execctx *x, jv steps, uint32_t k)
{
	const struct step *s = &x->g->s[k];
	const struct group *gr = dag_group_of(x->g, k);
	jv rec, gv;
	uint32_t t;

	if (s->head_of != GROUP_NONE) {
		gr = &x->g->groups[s->head_of];
		gv = group_record(x, gr);
		for (t = 0; t < gr->n; t++) {
			rec = step_record(x, GROUP_AT(gr, t));
			if (!jv_is_valid(rec)) {
				jv_free(gv);
				jv_free(steps);
				return rec;
			}
			gv = put_instance(x, gv, GROUP_AT(gr, t), t, rec);
		}
		return jv_object_set(steps, jv_string(gr->name), gv);
	}
	rec = step_record(x, k);
	if (!jv_is_valid(rec)) {
		jv_free(steps);
		return rec;
	}
	if (gr == NULL)
		return jv_object_set(steps, jv_string(s->id), rec);
	gv = jv_object_get(jv_copy(steps), jv_string(gr->name));
	if (!jv_is_valid(gv))
		gv = group_record(x, gr);
	gv = put_instance(x, gv, k, k - gr->first, rec);
	return jv_object_set(steps, jv_string(gr->name), gv);
}

/*
 * The context of SPEC section 3: ancestors only, outputs read from disk.
 * jv_invalid_with_msg when an output the journal records is damaged.
 */
jv
exec_build_ctx(const struct execctx *x, uint32_t i, uint32_t attempt)
{
	const struct dag *g = x->g;
	const struct step *s = &g->s[i];
	jv steps = jv_object(), ctx;
	uint32_t k, head = 0, tail = 0, *q;
	uint8_t *seen;

	if (s->all_refs) {
		q = xcalloc(g->n + 1, sizeof(*q));
		seen = xcalloc(g->n + 1, 1);
		q[tail++] = i;
		while (head < tail) {
			uint32_t v = q[head++];

			for (k = g->need_off[v]; k < g->need_off[v + 1]; k++)
				if (!seen[g->need[k]]) {
					seen[g->need[k]] = 1;
					q[tail++] = g->need[k];
				}
		}
		for (k = 0; k < g->n && jv_is_valid(steps); k++)
			if (seen[k])
				steps = add_record(x, steps, k);
		free(q);
		free(seen);
	} else
		for (k = 0; k < s->nrefs && jv_is_valid(steps); k++)
			steps = add_record(x, steps, s->refs[k]);
	if (!jv_is_valid(steps))
		return steps;
	ctx = jv_object();
	ctx = jv_object_set(ctx, jv_string("params"), jv_copy(x->params));
	ctx = jv_object_set(ctx, jv_string("run"), jv_object_set(jv_object_set(
	    jv_object_set(jv_object(), jv_string("id"), jv_string(x->rs->id)),
	    jv_string("dir"), jv_string(x->rd->path)), jv_string("status"),
	    jv_string(run_status_names[x->run_status])));
	ctx = jv_object_set(ctx, jv_string("step"), jv_object_set(
	    jv_object_set(jv_object(), jv_string("id"), jv_string(s->id)),
	    jv_string("attempt"), jv_number(attempt)));
	ctx = jv_object_set(ctx, jv_string("steps"), steps);
	if (s->item != NULL && s->pol.parent == SCHED_NONE)
		ctx = jv_object_set(ctx, jv_string("matrix"), jv_parse(s->item));
	else if (s->pol.parent != SCHED_NONE) {	/* a foreach's instance */
		ctx = jv_object_set(ctx, jv_string("item"), s->item != NULL ?
		    jv_parse(s->item) : jv_null());
		ctx = jv_object_set(ctx, jv_string("index"),
		    jv_number(s->inst));
	}
	return ctx;
}

