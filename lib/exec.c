/*
 * What a step runs, and the jq work around it.  Commands without templates
 * are assembled here in dag-run itself.  Everything that evaluates jq
 * (when, input, templates, transform, check, and parsing an output) runs
 * in a forked child of dag-run instead: libjq has no time limit and aborts
 * on memory exhaustion, so a child is the only place where the step's
 * timeout can stop it and where a crash cannot take the run down.  The
 * child inherits the compiled expressions and the run state, reads the
 * outputs it needs from disk, and reports one JSON line through a memfd.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dag.h"
#include "diag.h"
#include "exec.h"
#include "foreach.h"
#include "jdoc.h"
#include "jqexpr.h"
#include "json.h"
#include "rundir.h"
#include "spawn.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

void
exec_init(struct execctx *x, const struct dag *g, struct runstate *rs,
    struct rundir *rd)
{
	x->g = g;
	x->rs = rs;
	x->rd = rd;
	x->max_output = 16u << 20;
	x->checked = xcalloc(g->n + 1, sizeof(*x->checked));
	x->run_status = rs->status;
}

static char *render(const struct execctx *, uint32_t, const struct tmpl *,
    jv, int, char **);

void
exec_slurm_job(const struct execctx *x, uint32_t i, char *buf, size_t len)
{
	/* No run yet (dag-run -n): show the shape of the name. */
	(void)snprintf(buf, len, "%s.%s.%u", x->rs->id != NULL ? x->rs->id :
	    "RUN", x->g->s[i].id, x->rs->s[i].attempts);
}

/*
 * The built-in "slurm" launcher: srun with a job name unique to run, step
 * and attempt (scancel finds it by that name), the step's cwd, the whole
 * environment, and the task's streams written by SLURM straight into the
 * attempt's capture files, so srun's own messages stay out of them.
 */
static int
slurm_prefix(const struct execctx *x, uint32_t i, struct cmdspec *c,
    uint32_t old)
{
	char job[400], *cwd, **v;
	uint32_t n = 0, k, att = x->rs->s[i].attempts;
	int dfd;

	if ((dfd = exec_step_dir(x, i, 1)) != -1)
		close(dfd);
	exec_slurm_job(x, i, job, sizeof(job));
	cwd = c->cwd != NULL ? realpath(c->cwd, NULL) : getcwd(NULL, 0);
	v = xcalloc(old + 10, sizeof(*v));
	v[n++] = xstrdup("srun");
	v[n++] = xstrdup("--quiet");
	v[n++] = xasprintf("--job-name=%s", job);
	v[n++] = xasprintf("--chdir=%s", cwd != NULL ? cwd : "/");
	v[n++] = xstrdup("--export=ALL");
	v[n++] = xasprintf("--output=%s/steps/%s/%u.stdout", x->rd->path,
	    x->g->s[i].id, att);
	v[n++] = xasprintf("--error=%s/steps/%s/%u.stderr", x->rd->path,
	    x->g->s[i].id, att);
	v[n++] = xstrdup("--");
	for (k = 0; k < old; k++)
		v[n + k] = c->argv[k];
	free(cwd);
	free(c->argv);
	c->argv = v;
	c->nlaunch = n;
	c->shell = 0;
	return 0;
}

/* Prepends the step's launcher prefix (rendered) to c->argv. */
static int
add_launcher(const struct execctx *x, uint32_t i, jv ctx, struct cmdspec *c,
    char **err)
{
	const struct jdoc *j = &x->g->doc;
	const struct step *s = &x->g->s[i];
	uint32_t e, n = 0, old, k;
	char **v;

	if (s->launcher == JNONE)
		return 0;
	for (old = 0; c->argv[old] != NULL; old++)
		;
	if (j->n[s->launcher].kind == J_STR)
		return slurm_prefix(x, i, c, old);
	v = xcalloc(j->n[s->launcher].len + old + 1, sizeof(*v));
	for (e = s->launcher + 1; e < j->n[s->launcher].end; e = j->n[e].end,
	    n++)
		if ((v[n] = render(x, e, s->tp != NULL && s->tp->launcher !=
		    NULL ? &s->tp->launcher[n] : NULL, ctx, 0, err)) == NULL) {
			argv_free(v);
			return -1;
		}
	for (k = 0; k < old; k++)
		v[n + k] = c->argv[k];
	free(c->argv);
	c->argv = v;
	c->nlaunch = n;
	c->shell = 0;	/* argv[0] is the launcher now: a PATH search */
	return 0;
}

int
exec_needs_prep(const struct dag *g, uint32_t i)
{
	const struct step *s = &g->s[i];

	return s->when >= 0 || s->input >= 0 || s->tp != NULL ||
	    g->env_has_tmpl;
}

/* Renders string node v (template t, may be NULL) into a malloc'd string. */
static char *
render(const struct execctx *x, uint32_t v, const struct tmpl *t, jv ctx,
    int shell, char **err)
{
	struct strbuf sb = STRBUF_INIT;

	if (t == NULL || t->n == 0)
		return jdoc_strdup(&x->g->doc, v, NULL);
	if (tmpl_render(x->g->jqx, t, ctx, shell, &sb, err) == -1) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* The strings of array node arr, rendered: NULL-terminated, or NULL. */
static char **
render_paths(const struct execctx *x, uint32_t arr, const struct tmpl *t,
    jv ctx, char **err)
{
	const struct jdoc *j = &x->g->doc;
	char **v = xcalloc(j->n[arr].len + 1, sizeof(*v));
	uint32_t e, n;

	for (e = arr + 1, n = 0; e < j->n[arr].end; e = j->n[e].end, n++)
		if ((v[n] = render(x, e, t != NULL ? &t[n] : NULL, ctx, 0,
		    err)) == NULL) {
			argv_free(v);
			return NULL;
		}
	return v;
}

/*
 * Assembles the command of step i.  ctx is jv_invalid() in the parent
 * (no templates there) and the step context in an evaluator child.
 */
static int
assemble(const struct execctx *x, uint32_t i, jv ctx, struct cmdspec *c,
    char **err)
{
	const struct dag *g = x->g;
	const struct jdoc *j = &g->doc;
	const struct step *s = &g->s[i];
	const struct step_tmpl *tp = s->tp;
	uint32_t e, k, n, objs[2] = { s->env_def, s->env };
	char *cmd, *val;
	int w;

	memset(c, 0, sizeof(*c));
	*err = NULL;
	/* Templates of the top-level env: per step, since they see it. */
	if (g->env_has_tmpl && jv_is_valid(ctx))
		for (k = g->env + 1, n = 0; k < j->n[g->env].end;
		    k = j->n[k + 1].end, n++) {
			if (g->env_tmpl[n].n == 0)
				continue;
			if ((val = render(x, k + 1, &g->env_tmpl[n], ctx, 0,
			    err)) == NULL)
				return -1;
			cmdspec_env_add(c, jdoc_strdup(j, k, NULL), val);
		}
	for (w = 0, n = 0; w < 2; w++) {
		if (objs[w] == JNONE)
			continue;
		for (k = objs[w] + 1; k < j->n[objs[w]].end;
		    k = j->n[k + 1].end, n++) {
			val = render(x, k + 1, tp != NULL && tp->env != NULL ?
			    &tp->env[n] : NULL, ctx, 0, err);
			if (val == NULL)
				return -1;
			cmdspec_env_add(c, jdoc_strdup(j, k, NULL), val);
		}
	}
	if (s->cwd != JNONE && (c->cwd = render(x, s->cwd, tp != NULL ?
	    tp->cwd : NULL, ctx, 0, err)) == NULL)
		return -1;
	if (s->inputs != JNONE && (c->inputs = render_paths(x, s->inputs,
	    tp != NULL ? tp->inputs : NULL, ctx, err)) == NULL)
		return -1;
	if (s->outputs != JNONE && (c->outputs = render_paths(x, s->outputs,
	    tp != NULL ? tp->outputs : NULL, ctx, err)) == NULL)
		return -1;
	if (s->kind == CMD_TRANSFORM)
		return 0;
	if (s->kind == CMD_ARGV) {
		c->argv = xcalloc(j->n[s->cmd].len + 1, sizeof(*c->argv));
		for (e = s->cmd + 1, n = 0; e < j->n[s->cmd].end;
		    e = j->n[e].end, n++)
			if ((c->argv[n] = render(x, e, tp != NULL &&
			    tp->argv != NULL ? &tp->argv[n] : NULL, ctx, 0,
			    err)) == NULL)
				return -1;
		return add_launcher(x, i, ctx, c, err);
	}
	if ((cmd = render(x, s->cmd, tp != NULL ? tp->run : NULL, ctx, 1,
	    err)) == NULL)
		return -1;
	if ((c->argv = shell_split(cmd)) != NULL) {
		free(cmd);
		return add_launcher(x, i, ctx, c, err);
	}
	c->argv = xcalloc(4, sizeof(*c->argv));
	c->argv[0] = xstrdup("/bin/sh");
	c->argv[1] = xstrdup("-c");
	c->argv[2] = cmd;
	c->shell = 1;
	return add_launcher(x, i, ctx, c, err);
}

int
exec_literal(const struct execctx *x, uint32_t i, struct cmdspec *c,
    char **err)
{
	if (assemble(x, i, jv_invalid(), c, err) == -1) {
		cmdspec_release(c);
		return -1;
	}
	return 0;
}

/*
 * Opens steps/<id>/, creating it when asked.  Directories are made only
 * when a step has something to keep: on a slow disk a mkdir per step was
 * most of dag-run's cost for steps that print nothing.
 */
int
exec_step_dir(const struct execctx *x, uint32_t i, int create)
{
	int fd = openat(x->rd->sdfd, x->g->s[i].id, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);

	if (fd == -1 && errno == ENOENT && create &&
	    (mkdirat(x->rd->sdfd, x->g->s[i].id, 0777) == 0 ||
	    errno == EEXIST))
		fd = openat(x->rd->sdfd, x->g->s[i].id, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC);
	return fd;
}

#define step_dir(x, i) exec_step_dir((x), (i), 0)
#define step_dir_new(x, i) exec_step_dir((x), (i), 1)

/* Why step n's recorded output cannot be used, and what to do.  malloc'd. */
static char *
damaged(const struct execctx *x, uint32_t n, const char *why, int lost)
{
	const char *id = x->g->s[n].id;

	return xasprintf("%s/steps/%s/output.json: %s; the output of \"%s\" "
	    "is %s: run %s again with dag-step", x->rd->path, id, why, id,
	    lost ? "lost" : "damaged", id);
}

/*
 * Reads the output of step n, which the journal says it has, and parses
 * it into jd (borrowing the text; the caller releases both).  With jd NULL
 * only the text is wanted, and a file x->checked has seen is not parsed
 * again.  Returns the text (*len bytes, malloc'd), or NULL with *err
 * (malloc'd) when output.json is missing, unreadable or not one JSON
 * value: a dependent must not get other data in its place.  O(size).
 */
char *
exec_read_output(const struct execctx *x, uint32_t n, struct jdoc *jd,
    size_t *len, char **err)
{
	struct exec_checked id, none = { 0, 0, 0 }, *seen = x->checked !=
	    NULL ? &x->checked[n] : &none;
	struct jdoc tmp;
	struct stat st;
	struct diag d;
	char *text = NULL;
	int sfd, e;

	if ((sfd = step_dir(x, n)) != -1) {
		text = rundir_read_stat(sfd, "output.json", len, &st);
		e = errno;
		close(sfd);
		errno = e;
	}
	if (text == NULL) {
		*err = damaged(x, n, rundir_strerror(errno), errno == ENOENT);
		return NULL;
	}
	id.ino = (uint64_t)st.st_ino;
	id.size = (uint64_t)st.st_size;
	id.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 +
	    st.st_ctim.tv_nsec;
	if (jd == NULL && id.ctime_ns != 0 && seen->ctime_ns == id.ctime_ns &&
	    seen->ino == id.ino && seen->size == id.size)
		return text;
	diag_init(&d, NULL);
	if (jdoc_parse(jd != NULL ? jd : &tmp, text, *len, &d) == -1) {
		*err = damaged(x, n, d.n > 0 ? d.v[0].msg : "invalid JSON", 0);
		free(text);
		text = NULL;
	} else {
		if (jd == NULL)
			jdoc_release(&tmp);
		*seen = id;
	}
	diag_release(&d);
	return text;
}

size_t
exec_output_len(const char *text, size_t len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	return len;
}

void
exec_input_member(struct strbuf *sb, int any, const char *id,
    const char *text, size_t len)
{
	strbuf_adds(sb, any ? "," : "");
	strbuf_add_json_str(sb, id, strlen(id));
	strbuf_addc(sb, ':');
	strbuf_add(sb, text, exec_output_len(text, len));
}

/*
 * Appends "name":[out0,out1,...] for group gr (null where an instance has
 * no output), a comma first if any; nothing when no instance has output.
 * 0, or -1 with *err when an output is damaged.
 */
static int
group_input(const struct execctx *x, const struct group *gr,
    struct strbuf *sb, int any, char **err)
{
	uint32_t t;
	size_t len;
	char *text;

	for (t = 0; t < gr->n && !x->rs->s[GROUP_AT(gr, t)].has_output; t++)
		;
	if (t == gr->n)
		return 0;
	strbuf_adds(sb, any ? "," : "");
	strbuf_add_json_str(sb, gr->name, strlen(gr->name));
	strbuf_adds(sb, ":[");
	for (t = 0; t < gr->n; t++) {
		strbuf_adds(sb, t > 0 ? "," : "");
		if (!x->rs->s[GROUP_AT(gr, t)].has_output) {
			strbuf_adds(sb, "null");
			continue;
		}
		if ((text = exec_read_output(x, GROUP_AT(gr, t), NULL, &len,
		    err)) == NULL)
			return -1;
		strbuf_add(sb, text, exec_output_len(text, len));
		free(text);
	}
	strbuf_addc(sb, ']');
	return 0;
}

int
exec_default_input(const struct execctx *x, uint32_t i, int *has,
    char **err)
{
	const struct dag *g = x->g;
	struct strbuf sb = STRBUF_INIT;
	uint32_t k;
	int dfd, rc = 0, any = 0;
	size_t len;
	char *text;

	*has = 0;
	*err = NULL;
	if (g->need_off[i] == g->need_off[i + 1])
		return 0;		/* no needs: input is null */
	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
		if (x->rs->s[g->need[k]].has_output ||
		    g->s[g->need[k]].head_of != GROUP_NONE)
			break;
	/* {}: nothing per step, but where the step may run elsewhere. */
	if (k == g->need_off[i + 1] && g->s[i].launcher == JNONE) {
		*has = 2;
		return 0;
	}
	strbuf_addc(&sb, '{');
	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		uint32_t n = g->need[k];
		const struct group *gr = g->s[n].head_of != GROUP_NONE ?
		    &g->groups[g->s[n].head_of] : dag_group_of(g, n);

		if (gr != NULL) {	/* its instances' outputs, one array */
			if (group_input(x, gr, &sb, any, err) == -1) {
				strbuf_release(&sb);
				return -2;
			}
			any = any || sb.buf[sb.len - 1] == ']';
			while (k + 1 < g->need_off[i + 1] &&
			    dag_group_of(g, g->need[k + 1]) == gr)
				k++;
			continue;
		}
		if (!x->rs->s[n].has_output)
			continue;
		if ((text = exec_read_output(x, n, NULL, &len, err)) == NULL) {
			strbuf_release(&sb);
			return -2;
		}
		exec_input_member(&sb, any, g->s[n].id, text, len);
		free(text);
		any = 1;
	}
	strbuf_adds(&sb, "}\n");
	if ((dfd = step_dir_new(x, i)) == -1)
		rc = -1;
	else {
		rc = rundir_replace(dfd, "input.json", sb.buf, sb.len);
		close(dfd);
	}
	strbuf_release(&sb);
	*has = rc == 0;
	return rc;
}

char *
exec_need_output(const struct execctx *x, uint32_t n, size_t *len, char **err)
{
	return exec_read_output(x, n, NULL, len, err);
}

/* The evaluator (a child of its own) saw a number beyond 2^53 go
 * through jq: its result says so. */
static int saw_bignum;

/* 2^53: past it a double holds no longer every integer. */
#define EXACT_MAX	9007199254740992.0

/* 1 if v holds a number beyond 2^53.  Recursive over v's nesting, which
 * the parsers bound (jdoc: 512). */
static int
has_bignum(jv v)
{
	jv e;
	int i, n, big = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_NUMBER:
		/* 2^53 + 1 reaches jq as 2^53 already: count 2^53 in. */
		return fabs(jv_number_value(v)) >= EXACT_MAX;
	case JV_KIND_ARRAY:
		n = jv_array_length(jv_copy(v));
		for (i = 0; i < n && !big; i++) {
			e = jv_array_get(jv_copy(v), i);
			big = has_bignum(e);
			jv_free(e);
		}
		return big;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, key, val) {
			if (!big)
				big = has_bignum(val);
			jv_free(key);
			jv_free(val);
		}
		return big;
	default:
		return 0;
	}
}

/* Notes a value (borrowed) about to go through jq. */
static void
watch(jv v)
{
	if (!saw_bignum)
		saw_bignum = has_bignum(v);
}

static void
put_result(int fd, struct strbuf *sb)
{
	const char *p = sb->buf;
	size_t n = sb->len;
	ssize_t w;

	if (saw_bignum && n > 1 && p[0] == '{') {
		static const char head[] = "{\"bignum\":true";

		(void)!write(fd, head, sizeof(head) - 1);
		p++;
		n--;
		if (*p != '}')
			(void)!write(fd, ",", 1);
	}
	while (n > 0 && (w = write(fd, p, n)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static __dead void
finish(int fd, struct strbuf *sb)
{
	put_result(fd, sb);
	_exit(0);
}

/* {"error": msg}, with "syserr": true for a system error, not the
 * step's (a need's output damaged, the run directory not writable). */
static __dead void
fail_msg(int fd, const char *msg, int sys)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "{\"error\":");
	strbuf_add_json_str(&sb, msg, strlen(msg));
	strbuf_adds(&sb, sys ? ",\"syserr\":true}\n" : "}\n");
	finish(fd, &sb);
}

static __dead void
fail(int fd, const char *what, const char *msg)
{
	fail_msg(fd, xasprintf("%s%s", what, msg), 0);
}

static __dead void
fail_sys(int fd, const char *msg)
{
	fail_msg(fd, msg, 1);
}

/* The same for a file of the run directory that cannot be written. */
static __dead void
fail_sys_errno(int fd, const char *what)
{
	char *msg = xasprintf("%s: %s", what, strerror(errno));

	fail_sys(fd, msg);
}

/* Evaluates the step's input; returns it (null when none). */
static jv
eval_input(const struct execctx *x, uint32_t i, jv ctx, int fd, int write)
{
	const struct step *s = &x->g->s[i];
	char *err = NULL;
	jv in = jv_null();
	int rc, dfd, has;

	if (s->input < 0) {
		rc = exec_default_input(x, i, &has, &err);
		if (rc == -2)
			fail_sys(fd, err);
		if (rc == -1)
			fail_sys_errno(fd, "writing input.json");
		if (has == 2)
			return jv_object();
		if (!has || (dfd = step_dir(x, i)) == -1)
			return jv_null();
		{
			size_t len;
			char *text = rundir_read(dfd, "input.json", &len);

			close(dfd);
			if (text != NULL) {
				in = json_parse_quiet(text, len);
				free(text);
			}
		}
		return jv_is_valid(in) ? in : jv_null();
	}
	rc = jqx_first(x->g->jqx, s->input, jv_copy(ctx), &in, &err);
	if (rc == -1)
		fail(fd, "input: ", err);
	if (rc == 0)
		in = jv_null();
	if (write && jv_get_kind(in) == JV_KIND_NULL &&
	    (dfd = step_dir(x, i)) != -1) {
		(void)unlinkat(dfd, "input.json", 0);	/* a stale one */
		close(dfd);
	}
	if (write && jv_get_kind(in) != JV_KIND_NULL) {
		struct strbuf sb = STRBUF_INIT;

		json_append(&sb, in);
		strbuf_addc(&sb, '\n');
		if ((dfd = step_dir_new(x, i)) == -1 || rundir_replace(dfd,
		    "input.json", sb.buf, sb.len) == -1)
			fail_sys_errno(fd, "writing input.json");
		close(dfd);
		strbuf_release(&sb);
	}
	return in;
}

static __dead void
too_big(int fd, size_t len, size_t limit)
{
	char m[128];

	(void)snprintf(m, sizeof(m), "output is %zu bytes, more than "
	    "max_output (%zu)", len, limit);
	fail(fd, m, "");
}

/*
 * Applies check, then writes output.json: raw (len bytes) when it is the
 * step's own JSON text, kept as it was written (jq would turn its numbers
 * into doubles), else out as jq gives it.  Exits through finish/fail.
 */
static __dead void
conclude(const struct execctx *x, uint32_t i, jv out, int have,
    const char *raw, size_t len, int fd)
{
	const struct step *s = &x->g->s[i];
	struct strbuf sb = STRBUF_INIT;
	char *err = NULL;
	jv r;
	int rc, dfd;

	if (s->check >= 0) {
		watch(out);
		rc = jqx_first(x->g->jqx, s->check, have ? jv_copy(out) :
		    jv_null(), &r, &err);
		if (rc == -1)
			fail(fd, "check: ", err);
		if (rc == 0 || !jqx_truthy(r))
			fail(fd, "check failed", "");
		jv_free(r);
	}
	if (have) {
		size_t limit = s->max_output ? s->max_output : x->max_output;

		if (raw != NULL) {
			while (len > 0 && (raw[len - 1] == '\n' ||
			    raw[len - 1] == ' ' || raw[len - 1] == '\t' ||
			    raw[len - 1] == '\r'))
				len--;
			strbuf_add(&sb, raw, len);
		} else
			json_append(&sb, out);
		strbuf_addc(&sb, '\n');
		if (sb.len > limit)
			too_big(fd, sb.len, limit);
		/* Not kept (a full disk): the run directory's fault. */
		if ((dfd = step_dir_new(x, i)) == -1 || rundir_replace(dfd,
		    "output.json", sb.buf, sb.len) == -1)
			fail_sys_errno(fd, "writing output.json");
		close(dfd);
		strbuf_reset(&sb);
	}
	jv_free(out);
	strbuf_addf(&sb, "{\"output\":%s}\n", have ? "true" : "false");
	finish(fd, &sb);
}

/* stdout kept as a JSON string must be text: bytes that are not UTF-8
 * would become U+FFFD, so the step fails, saying where. */
static void
bad_utf8(int fd, const char *s, size_t len)
{
	size_t k, n;
	char m[128];

	for (k = 0; k < len; k += n)
		if ((n = strbuf_utf8_len((const unsigned char *)s + k,
		    len - k)) == 0) {
			(void)snprintf(m, sizeof(m), "output is not JSON, nor "
			    "text in UTF-8 (byte %zu is not)", k + 1);
			fail(fd, m, "");
		}
}

static __dead void
post(const struct execctx *x, uint32_t i, uint32_t attempt, int fd)
{
	const struct step *s = &x->g->s[i];
	char name[300];
	struct jdoc jd;
	struct diag d;
	struct stat st;
	size_t len, limit = s->max_output ? s->max_output : x->max_output;
	char *text;
	jv out;

	if (s->output == OUT_STDOUT) {
		(void)snprintf(name, sizeof(name), "%s/%u.stdout", s->id,
		    attempt);
	} else
		exec_output_name(x->g, i, attempt, name, sizeof(name));
	/* The size first: a huge output is refused without reading it. */
	if (fstatat(x->rd->sdfd, name, &st, 0) == 0 &&
	    (size_t)st.st_size > limit)
		too_big(fd, (size_t)st.st_size, limit);
	text = rundir_read(x->rd->sdfd, name, &len);
	if (text == NULL || len == 0) {
		free(text);
		conclude(x, i, jv_null(), 0, NULL, 0, fd);
	}
	if (len > limit)
		too_big(fd, len, limit);
	diag_init(&d, name);
	/* The strict parser: its messages say where the output is wrong. */
	if (jdoc_parse(&jd, text, len, &d) == 0) {
		out = jdoc_jv(&jd, 0);
		jdoc_release(&jd);
		conclude(x, i, out, 1, text, len, fd);
	}
	if (s->output == OUT_FILE)
		fail(fd, "output: ", d.n > 0 ? d.v[0].msg : "?");
	/* stdout that is not JSON is kept as a string: text, that is. */
	while (len > 0 && text[len - 1] == '\n')
		len--;
	bad_utf8(fd, text, len);
	out = jv_string_sized(text, (int)len);
	free(text);
	conclude(x, i, out, 1, NULL, 0, fd);
}

/* The id key foreach_key gives item (or why not): malloc'd, or exits. */
static char *
item_key(const struct execctx *x, const struct step *s, jv item, jv *seen,
    int fd)
{
	char *err = NULL, *k;
	jv r;
	int rc;

	rc = jqx_first(x->g->jqx, s->foreach_key, item, &r, &err);
	if (rc == -1)
		fail(fd, "foreach_key: ", err);
	if (rc == 0 || (jv_get_kind(r) != JV_KIND_STRING &&
	    jv_get_kind(r) != JV_KIND_NUMBER))
		fail(fd, "foreach_key gave no string or number for an item",
		    "");
	if (jv_get_kind(r) == JV_KIND_NUMBER)
		r = jv_dump_string(r, 0);
	k = xstrdup(jv_string_value(r));
	jv_free(r);
	if (!foreach_key_ok(k, strlen(k)))
		fail(fd, "foreach_key gave a key an id cannot hold (1 to 100 "
		    "of letters, digits and _.+@~-): ", k);
	if (jv_object_has(jv_copy(*seen), jv_string(k)))
		fail(fd, "foreach_key gave one key twice: ", k);
	*seen = jv_object_set(*seen, jv_string(k), jv_true());
	return k;
}

/*
 * A foreach step's expansion: its items (an array's, or an object's
 * entries, keyed by their keys) to steps/<id>/items.<attempt>.json, and
 * {"expand": n}.
 */
static __dead void
expand(const struct execctx *x, uint32_t i, uint32_t attempt, jv ctx,
    int fd)
{
	const struct step *s = &x->g->s[i];
	struct strbuf sb = STRBUF_INIT;
	jv r, items, seen = jv_object(), e;
	char *err = NULL, *key, *name;
	int rc, n, k, keyed, dfd;

	watch(ctx);
	if ((rc = jqx_first(x->g->jqx, s->foreach, ctx, &r, &err)) == -1)
		fail(fd, "foreach: ", err);
	if (rc == 0 || jv_get_kind(r) == JV_KIND_NULL) {
		jv_free(rc == 0 ? jv_null() : r);
		r = jv_array();
	}
	keyed = jv_get_kind(r) == JV_KIND_OBJECT;
	if (keyed) {
		items = jv_array();
		jv_object_foreach(r, ok, ov) {
			items = jv_array_append(items, jv_object_set(
			    jv_object_set(jv_object(), jv_string("key"), ok),
			    jv_string("value"), ov));
		}
		jv_free(r);
	} else if (jv_get_kind(r) == JV_KIND_ARRAY)
		items = r;
	else
		fail(fd, "foreach must give an array or an object, not ",
		    jv_kind_name(jv_get_kind(r)));
	keyed = keyed || s->foreach_key >= 0;
	n = jv_array_length(jv_copy(items));
	strbuf_adds(&sb, "[");
	for (k = 0; k < n; k++) {
		e = jv_array_get(jv_copy(items), k);
		strbuf_adds(&sb, k > 0 ? ",\n" : "\n");
		if (keyed) {
			key = s->foreach_key >= 0 ? item_key(x, s, jv_copy(e),
			    &seen, fd) : NULL;
			if (key == NULL) {
				jv kv = jv_object_get(jv_copy(e),
				    jv_string("key"));

				key = xstrdup(jv_string_value(kv));
				jv_free(kv);
				if (!foreach_key_ok(key, strlen(key)))
					fail(fd, "foreach: a key an id cannot "
					    "hold (give foreach_key): ", key);
			}
			strbuf_adds(&sb, "{\"key\":");
			strbuf_add_json_str(&sb, key, strlen(key));
			strbuf_adds(&sb, ",\"item\":");
			free(key);
		} else
			strbuf_adds(&sb, "{\"item\":");
		json_append(&sb, e);
		strbuf_addc(&sb, '}');
	}
	strbuf_adds(&sb, "\n]\n");
	jv_free(items);
	jv_free(seen);
	name = xasprintf("items.%u.json", attempt);
	if ((dfd = step_dir_new(x, i)) == -1 || rundir_replace(dfd, name,
	    sb.buf, sb.len) == -1)
		fail_sys_errno(fd, "writing the items");
	close(dfd);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "{\"expand\":%d}\n", n);
	finish(fd, &sb);
}

void
exec_eval_child(const struct execctx *x, uint32_t i, uint32_t attempt,
    enum eval_mode mode, int fd)
{
	const struct step *s = &x->g->s[i];
	struct strbuf sb = STRBUF_INIT;
	struct cmdspec c;
	char *err = NULL;
	jv ctx, r, in;
	int rc;

	if (mode == EVAL_POST)
		post(x, i, attempt, fd);
	ctx = exec_build_ctx(x, i, attempt);
	if (!jv_is_valid(ctx)) {
		r = jv_invalid_get_msg(ctx);
		fail_sys(fd, jv_string_value(r));
	}
	if (mode == EVAL_EXPAND)
		expand(x, i, attempt, ctx, fd);
	if (s->when >= 0 || s->input >= 0 || s->tp != NULL ||
	    x->g->env_has_tmpl)
		watch(ctx);
	if (s->when >= 0) {
		rc = jqx_first(x->g->jqx, s->when, jv_copy(ctx), &r, &err);
		if (rc == -1)
			fail(fd, "when: ", err);
		if (rc == 0 || !jqx_truthy(r)) {
			strbuf_adds(&sb, "{\"skip\":true}\n");
			finish(fd, &sb);
		}
		jv_free(r);
	}
	in = eval_input(x, i, ctx, fd, 1);
	if (mode == EVAL_TRANSFORM) {
		watch(in);
		rc = jqx_first(x->g->jqx, s->transform, in, &r, &err);
		if (rc == -1)
			fail(fd, "transform: ", err);
		conclude(x, i, rc == 1 ? r : jv_null(), rc == 1, NULL, 0, fd);
	}
	jv_free(in);
	if (assemble(x, i, ctx, &c, &err) == -1)
		fail(fd, "template: ", err);
	strbuf_adds(&sb, "{\"cmd\":");
	cmdspec_emit(&c, &sb);
	strbuf_adds(&sb, "}\n");
	finish(fd, &sb);
}

int
exec_needs_post(const struct execctx *x, uint32_t i, uint32_t attempt)
{
	const struct step *s = &x->g->s[i];
	struct stat st;
	char name[300];

	if (s->check >= 0 || s->output == OUT_STDOUT)
		return 1;
	exec_output_name(x->g, i, attempt, name, sizeof(name));
	return fstatat(x->rd->sdfd, name, &st, 0) == 0 && st.st_size > 0;
}

void
exec_output_name(const struct dag *g, uint32_t i, uint32_t attempt,
    char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s@%u.output", g->s[i].id, attempt);
}

void
exec_describe(const struct execctx *x, uint32_t i, struct strbuf *sb)
{
	const struct step *s = &x->g->s[i];
	struct cmdspec c;
	char *err;
	int k;

	if (s->kind == CMD_TRANSFORM)
		strbuf_adds(sb, "transform");
	else if (s->tp != NULL)
		strbuf_adds(sb, "(templates: rendered when it runs)");
	else if (exec_literal(x, i, &c, &err) == 0) {
		for (k = c.shell ? 2 : 0; c.argv[k] != NULL; k++) {
			strbuf_adds(sb, k > (c.shell ? 2 : 0) ? " " : "");
			strbuf_adds(sb, c.argv[k]);
		}
		cmdspec_release(&c);
	} else {
		strbuf_adds(sb, err);
		free(err);
	}
}
