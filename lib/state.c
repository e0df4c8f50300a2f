/*
 * The state of a run as run.json shows it: one record per step and a few
 * run-level fields.  Writing it is a linear pass into a strbuf; callers
 * decide how often (runner.c throttles it, so a 10,000-step run rewrites
 * it a few times a second, not once per event).
 */
#include "compat.h"

#include "clock.h"
#include "dag.h"
#include "rundir.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

const char *const step_status_names[] = { "pending", "running",
    "retry_wait", "succeeded", "failed", "timed_out", "skipped",
    "upstream_failed", "cancelled", "cached", NULL };
const char *const run_status_names[] = { "running", "succeeded", "failed",
    "timed_out", "cancelled", "interrupted", NULL };

void
state_init(struct runstate *rs, const struct dag *g)
{
	uint32_t i;

	memset(rs, 0, sizeof(*rs));
	rs->n = g->n;
	rs->s = xcalloc(g->n + 1, sizeof(*rs->s));
	for (i = 0; i < g->n; i++) {
		rs->s[i].exit_code = -1;
		rs->s[i].selected = 1;
	}
}

int64_t
state_now(const struct runstate *rs)
{
	if (rs->status == RUN_INTERRUPTED && rs->last_event > 0)
		return rs->last_event;
	return clock_wall_ms();
}

void
state_release(struct runstate *rs)
{
	uint32_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->s[i].reason);
	free(rs->s);
	free(rs->id);
	free(rs->dag);
	free(rs->dir);
	free(rs->params);
	memset(rs, 0, sizeof(*rs));
}

int
step_status_terminal(int st)
{
	return st >= ST_SUCCEEDED;
}

static int
parse_name(const char *const *names, const char *s, size_t n)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return i;
	return -1;
}

int
step_status_parse(const char *s, size_t n)
{
	return parse_name(step_status_names, s, n);
}

int
run_status_parse(const char *s, size_t n)
{
	return parse_name(run_status_names, s, n);
}

void
state_set_reason(struct sstate *ss, const char *why)
{
	free(ss->reason);
	ss->reason = why != NULL ? xstrdup(why) : NULL;
}

void
state_clear(struct sstate *s)
{
	s->status = ST_PENDING;
	s->has_output = 0;
	s->allowed = 0;
	s->exit_code = -1;
	s->signal = 0;
	s->started = 0;
	s->finished = 0;
	state_set_reason(s, NULL);
}

void
state_counts(const struct runstate *rs, uint32_t counts[ST__N])
{
	uint32_t i;

	memset(counts, 0, sizeof(uint32_t) * ST__N);
	for (i = 0; i < rs->n; i++)
		if (rs->s[i].selected)
			counts[rs->s[i].status]++;
}

void
state_emit_counts(const uint32_t counts[ST__N], struct strbuf *sb)
{
	int i, first = 1;

	strbuf_addc(sb, '{');
	for (i = 0; i < ST__N; i++) {
		if (counts[i] == 0)
			continue;
		strbuf_addf(sb, "%s\"%s\":%u", first ? "" : ",",
		    step_status_names[i], counts[i]);
		first = 0;
	}
	strbuf_addc(sb, '}');
}

static inline void
time_field(struct strbuf *sb, const char *name, int64_t ms)
{
	char ts[40];

	strbuf_adds(sb, ",\"");
	strbuf_adds(sb, name);
	strbuf_adds(sb, "\":");
	if (ms == 0) {
		strbuf_adds(sb, "null");
		return;
	}
	clock_rfc3339(ms, ts, sizeof(ts));
	strbuf_addc(sb, '"');
	strbuf_adds(sb, ts);
	strbuf_addc(sb, '"');
}

void
state_emit_exit(const struct sstate *s, struct strbuf *sb)
{
	strbuf_adds(sb, ",\"exit_code\":");
	if (s->exit_code >= 0)
		strbuf_add_int(sb, s->exit_code);
	else
		strbuf_adds(sb, "null");
	strbuf_adds(sb, ",\"signal\":");
	if (s->signal > 0)
		strbuf_add_int(sb, s->signal);
	else
		strbuf_adds(sb, "null");
}

/* run.json up to the first step's record. */
static void
emit_head(const struct runstate *rs, struct strbuf *sb)
{
	uint32_t counts[ST__N];
	int64_t end = rs->finished ? rs->finished : state_now(rs);

	strbuf_adds(sb, "{\"format\":1,\"id\":");
	strbuf_add_json_str(sb, rs->id, strlen(rs->id));
	strbuf_adds(sb, ",\"dag\":");
	strbuf_add_json_str(sb, rs->dag, strlen(rs->dag));
	strbuf_addf(sb, ",\"status\":\"%s\",\"pid\":%ld",
	    run_status_names[rs->status], (long)rs->pid);
	if (rs->external)
		strbuf_adds(sb, ",\"external\":true");
	if (rs->paused)
		strbuf_adds(sb, ",\"paused\":true");
	time_field(sb, "started", rs->started);
	time_field(sb, "finished", rs->finished);
	strbuf_adds(sb, ",\"duration\":");
	strbuf_add_secs(sb, rs->started ? (double)(end - rs->started) /
	    1000 : 0);
	strbuf_adds(sb, ",\"params\":");
	strbuf_adds(sb, rs->params != NULL ? rs->params : "{}");
	strbuf_adds(sb, ",\"counts\":");
	state_counts(rs, counts);
	state_emit_counts(counts, sb);
	strbuf_adds(sb, ",\"steps\":{");
}

/* Step i's record in run.json. */
static void
emit_step(const struct runstate *rs, const struct dag *g, uint32_t i,
    struct strbuf *sb)
{
	const struct sstate *s = &rs->s[i];

	if (s->hidden)		/* never step 0: a static step */
		return;
	if (i > 0)
		strbuf_addc(sb, ',');
	strbuf_add_json_str(sb, g->s[i].id, strlen(g->s[i].id));
	/* No printf here: this runs for every step of every snapshot. */
	strbuf_adds(sb, ":{\"status\":\"");
	strbuf_adds(sb, step_status_names[s->status]);
	strbuf_adds(sb, "\",\"attempts\":");
	strbuf_add_int(sb, s->attempts);
	state_emit_exit(s, sb);
	time_field(sb, "started", s->started);
	time_field(sb, "finished", s->finished);
	strbuf_adds(sb, ",\"duration\":");
	if (s->started)
		strbuf_add_secs(sb, s->duration);
	else
		strbuf_adds(sb, "null");
	strbuf_adds(sb, ",\"reason\":");
	if (s->reason != NULL)
		strbuf_add_json_str(sb, s->reason, strlen(s->reason));
	else
		strbuf_adds(sb, "null");
	if (!s->selected)
		strbuf_adds(sb, ",\"selected\":false");
	if (s->allowed)
		strbuf_adds(sb, ",\"allowed_failure\":true");
	strbuf_addc(sb, '}');
}

void
state_emit(const struct runstate *rs, const struct dag *g, struct strbuf *sb)
{
	uint32_t i;

	emit_head(rs, sb);
	for (i = 0; i < rs->n; i++)
		emit_step(rs, g, i, sb);
	strbuf_adds(sb, "}}");
}

/* Written out in pieces of this size: run.json of 10,000 steps is 2 MB. */
#define SAVE_PIECE	(64 << 10)

int
state_save(const struct runstate *rs, const struct dag *g, int dirfd)
{
	struct strbuf sb = STRBUF_INIT;
	char tmp[RUNDIR_TMP];
	uint32_t i;
	FILE *fp;

	if ((fp = rundir_stream(dirfd, "run.json", tmp)) == NULL)
		return -1;
	emit_head(rs, &sb);
	for (i = 0; i < rs->n && !ferror(fp); i++) {
		emit_step(rs, g, i, &sb);
		strbuf_flush(&sb, fp, SAVE_PIECE);
	}
	strbuf_adds(&sb, "}}\n");
	strbuf_flush(&sb, fp, 0);
	strbuf_release(&sb);
	return rundir_stream_end(dirfd, fp, tmp, "run.json");
}
