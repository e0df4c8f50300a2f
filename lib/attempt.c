/*
 * One attempt of one step, as a state machine (see attempt.h for the
 * states).  Events go through table[state][event]; an event a state does
 * not expect is a bug and ends dagkit with EXIT_BUG, never a guess.
 *
 * Starting: a step with jq work (when, input, templates) or a transform
 * first runs an evaluator in a forked child (exec.c), whose one-line
 * result comes back through a memfd; a literal command is built and
 * spawned at once.  The command gets its input on stdin, two pipes for
 * stdout and stderr (capture.c), and the DAG_* variables.  After exit 0,
 * a step whose output must be parsed or checked gets one more evaluator.
 *
 * Stopping (a timeout, or the run's cancel, deadline or abort): SIGTERM
 * and SIGCONT to the process group, SIGKILL when kill_grace ends; under
 * the slurm launcher the job is cancelled by name instead (killing srun
 * would orphan it), and srun itself is killed only after another grace.
 * If the leader ends before the grace, the rest of its group still gets
 * SIGKILL when the grace ends (procset_kill_later).
 *
 * Nothing here prints: what the user must hear goes to ctx->news.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "attempt.h"
#include "cache.h"
#include "capture.h"
#include "dag.h"
#include "diag.h"
#include "exec.h"
#include "journal.h"
#include "procset.h"
#include "rundir.h"
#include "spawn.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

enum attempt_event { AE_EXIT, AE_TIMER, AE_KILL, AE__N };

typedef int handler(struct attempt *, const struct attempt_ctx *, int arg,
    int64_t now);

static int64_t
ms_of(double secs)
{
	return (int64_t)llround(secs * 1000);
}

int
attempt_is_slurm(const struct dag *g, uint32_t i)
{
	uint32_t l = g->s[i].launcher;

	return l != JNONE && g->doc.n[l].kind == J_STR;
}

void
attempt_init(struct attempt *a, uint32_t tag)
{
	memset(a, 0, sizeof(*a));
	a->tag = tag;
	a->memfd = -1;
	a->res.exit_code = -1;
	a->res.expand = -1;
	capture_init(&a->cap);
}

void
attempt_release(struct attempt *a)
{
	uint32_t tag = a->tag;

	free(a->res.reason);
	if (a->memfd != -1)
		close(a->memfd);
	if (a->probe != NULL) {
		cache_probe_release(a->probe);
		free(a->probe);
	}
	free(a->explain);
	attempt_init(a, tag);
}

/* The attempt is over: its result, for the runner to take. */
static int
done(struct attempt *a, int st, int code, int sig, const char *reason,
    int output)
{
	a->state = AT_FREE;
	a->pid = 0;
	a->timer = 0;
	a->res.status = (uint8_t)st;
	a->res.exit_code = code;
	a->res.signal = sig;
	a->res.output = (uint8_t)output;
	free(a->res.reason);
	a->res.reason = reason != NULL ? xstrdup(reason) : NULL;
	return AN_DONE;
}

/*
 * The step could not go on for a reason of the machine or of the run
 * directory (out of processes, a need's output damaged): it fails, and
 * the run stops (exit 4).  tell: the user hears it too.
 */
static int
done_sys(struct attempt *a, const struct attempt_ctx *ctx, int code,
    const char *msg, int tell)
{
	if (tell)
		diag_add(ctx->news, DIAG_SYSERR, NULL, "%s", msg);
	a->res.syserr = 1;
	return done(a, ST_FAILED, code, 0, msg, 0);
}

/* Less room than this left where the run directory is, and a step that
 * fails may have failed for it: a system error, as a full disk is. */
#define DISK_LOW	(64 * 1024)
#define DISK_LOW_INODES	16

/* 1 if the run directory's file system is full, or as good as. */
static int
disk_full(const struct attempt_ctx *ctx)
{
	struct statvfs v;

	/* Out of inodes is full too (where the file system counts them). */
	return fstatvfs(ctx->x->rd->dfd, &v) == 0 &&
	    ((unsigned long long)v.f_bavail * v.f_frsize < DISK_LOW ||
	    (v.f_files > 0 && v.f_favail < DISK_LOW_INODES));
}

/* Errors of the machine, not of the step: out of processes, memory, fds. */
static int
is_resource_errno(int e)
{
	return e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE;
}

/* Runs scancel for the step's job (reaped as a stray). */
static void
scancel(const struct attempt *a, const struct attempt_ctx *ctx, int term)
{
	char job[400], *name, *argv[5];
	const char *file;
	pid_t pid;
	int k = 0;

	exec_slurm_job(ctx->x, a->step, job, sizeof(job));
	name = xasprintf("--name=%s", job);
	argv[k++] = "scancel";
	argv[k++] = "--quiet";
	if (term)
		argv[k++] = "--signal=TERM";
	argv[k++] = name;
	argv[k] = NULL;
	if ((file = spawn_resolve("scancel", envv_get(ctx->base, "PATH"))) ==
	    NULL || procset_spawn(ctx->ps, &(struct spawn_req){ file, argv,
	    ctx->base->v, ctx->ps->devnull, ctx->ps->devnull, ctx->ps->devnull,
	    -1, NULL }, PROCSET_NONE, &pid) != 0)
		diag_add(ctx->news, DIAG_WARNING, NULL, "cannot run scancel "
		    "for job %s", job);
	free(name);
}

/* Forks an evaluator of the step; 0 or -1 (errno). */
static int
fork_eval(struct attempt *a, const struct attempt_ctx *ctx,
    enum eval_mode mode)
{
	pid_t pid;
	int fd;

	if ((fd = memfd_create("dagkit-eval", MFD_CLOEXEC)) == -1)
		return -1;
	if ((pid = procset_fork(ctx->ps, a->tag)) == -1) {
		close(fd);
		return -1;
	}
	if (pid == 0)
		exec_eval_child(ctx->x, a->step,
		    ctx->x->rs->s[a->step].attempts, mode, fd);
	a->pid = pid;
	a->memfd = fd;
	a->eval = 1;
	return 0;
}

static char *
read_memfd(int fd, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		strbuf_add(&sb, buf, (size_t)n);
		off += n;
	}
	return strbuf_detach(&sb, len);
}

/* The longest item DAG_ITEM (DAG_MATRIX) holds. */
#define ITEM_ENV_MAX	(100 * 1000)

/* The DAG_* variables of the attempt, per SPEC section 3. */
static void
set_dag_env(const struct attempt *a, const struct attempt_ctx *ctx,
    struct envv *e)
{
	const char *id = ctx->g->s[a->step].id, *dir = ctx->x->rd->path;
	uint32_t att = ctx->x->rs->s[a->step].attempts;
	struct strbuf sb = STRBUF_INIT;
	char name[300];
	size_t at[7], k, nat = 5;

	envv_put_added(e, ctx->run_env, 0);
	envv_put_added(e, ctx->run_env + strlen(ctx->run_env) + 1, 0);
	/* The step's five (six) in one allocation, without printf: per
	 * attempt. */
	at[0] = sb.len;
	strbuf_adds(&sb, "DAG_STEP_ID=");
	strbuf_adds(&sb, id);
	strbuf_addc(&sb, '\0');
	at[1] = sb.len;
	strbuf_adds(&sb, "DAG_ATTEMPT=");
	strbuf_add_int(&sb, att);
	strbuf_addc(&sb, '\0');
	at[2] = sb.len;
	strbuf_adds(&sb, "DAG_INPUT=");
	if (a->has_input == 1) {
		strbuf_adds(&sb, dir);
		strbuf_adds(&sb, "/steps/");
		strbuf_adds(&sb, id);
		strbuf_adds(&sb, "/input.json");
	} else
		strbuf_adds(&sb, a->has_input == 2 ? ctx->empty_path :
		    "/dev/null");
	strbuf_addc(&sb, '\0');
	at[3] = sb.len;
	strbuf_adds(&sb, "DAG_OUTPUT=");
	strbuf_adds(&sb, dir);
	strbuf_adds(&sb, "/steps/");
	exec_output_name(ctx->g, a->step, att, name, sizeof(name));
	strbuf_adds(&sb, name);
	strbuf_addc(&sb, '\0');
	at[4] = sb.len;
	strbuf_adds(&sb, "DAG_RUN_STATUS=");
	strbuf_adds(&sb, run_status_names[ctx->x->run_status]);
	/* An instance's item, unless past what one variable may hold
	 * (Linux: 128 KiB): then .item and templates carry it. */
	if (ctx->g->s[a->step].item != NULL &&
	    strlen(ctx->g->s[a->step].item) <= ITEM_ENV_MAX) {
		strbuf_addc(&sb, '\0');
		at[nat++] = sb.len;
		if (ctx->g->s[a->step].pol.parent == SCHED_NONE)
			strbuf_adds(&sb, "DAG_MATRIX=");
		else {
			strbuf_adds(&sb, "DAG_ITEM_INDEX=");
			strbuf_add_int(&sb, ctx->g->s[a->step].inst);
			strbuf_addc(&sb, '\0');
			at[nat++] = sb.len;
			strbuf_adds(&sb, "DAG_ITEM=");
		}
		strbuf_adds(&sb, ctx->g->s[a->step].item);
	}
	for (k = 0; k < nat; k++)
		envv_put_added(e, sb.buf + at[k], k == 0);
	/* sb.buf is owned by the envv now (through its first entry). */
}

/* Opens what the command gets: its cwd (*cwd) and stdin (*in). */
static int
open_places(struct attempt *a, const struct attempt_ctx *ctx,
    const struct cmdspec *c, int *cwd, int *in, char **err)
{
	char name[300];

	*cwd = *in = -1;
	if (c->cwd != NULL && (*cwd = open(c->cwd, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		*err = xasprintf("cwd '%s': %s", c->cwd, strerror(errno));
		return -1;
	}
	/* The sealed {} is opened afresh: each step reads it from its start,
	 * and nobody can write it. */
	if (a->has_input == 1)
		(void)snprintf(name, sizeof(name), "%s/input.json",
		    ctx->g->s[a->step].id);
	else
		(void)snprintf(name, sizeof(name), "/proc/self/fd/%d",
		    ctx->empty);
	if (a->has_input && (*in = openat(ctx->x->rd->sdfd, name, O_RDONLY |
	    O_CLOEXEC)) == -1) {
		*err = xasprintf("input: %s", strerror(errno));
		return -2;
	}
	return 0;
}

/*
 * Spawns c: directly, or for a "run" string that failed so, through the
 * shell, which then says it its way.  A path is checked here, from the
 * step's cwd, not left to exec: the answer must not depend on how
 * posix_spawn reports a failed exec (under valgrind it is a child exiting
 * 127).  An absolute path found along PATH was checked when the cache
 * found it.  Returns 0 or an errno value.
 */
static int
spawn_cmd(struct attempt *a, const struct attempt_ctx *ctx,
    const struct cmdspec *c, const struct envv *env, struct spawn_req *req)
{
	const char *file;
	struct strbuf sb = STRBUF_INIT;
	char *sh[4] = { "/bin/sh", "-c", NULL, NULL };
	int e, k;

	file = c->shell ? "/bin/sh" : spawn_resolve(c->argv[0],
	    envv_get(env, "PATH"));
	if (file == NULL)
		e = ENOENT;
	else if (!c->shell && (strchr(c->argv[0], '/') != NULL ||
	    file[0] != '/') && faccessat(req->cwd != -1 ? req->cwd : AT_FDCWD,
	    file, X_OK, 0) == -1)
		e = errno == EACCES ? EACCES : ENOENT;
	else {
		req->file = file;
		req->argv = c->argv;
		e = procset_spawn(ctx->ps, req, a->tag, &a->pid);
	}
	if (e == 0 || is_resource_errno(e) ||
	    ctx->g->s[a->step].kind != CMD_RUN || c->shell)
		return e;
	for (k = 0; c->argv[k] != NULL; k++) {
		strbuf_adds(&sb, k ? " " : "");
		strbuf_adds(&sb, c->argv[k]);
	}
	sh[2] = sb.buf;
	req->file = "/bin/sh";
	req->argv = sh;
	e = procset_spawn(ctx->ps, req, a->tag, &a->pid);
	strbuf_release(&sb);
	return e;
}

/*
 * Starts the command c of the attempt: AN_STARTED, or AN_DONE when it
 * could not start.  The capture files are created when the first byte
 * arrives, so a quiet step costs no file at all.
 */
static int
start_cmd(struct attempt *a, const struct attempt_ctx *ctx,
    const struct cmdspec *c)
{
	const struct step *s = &ctx->g->s[a->step];
	uint32_t att = ctx->x->rs->s[a->step].attempts;
	int in, cwd, p[2][2] = { { -1, -1 }, { -1, -1 } }, e, k, rc;
	struct envv env;
	char *msg = NULL, *note;

	/* The runner left this to us for a step the cache might have
	 * taken: what ended before goes to disk before anything starts. */
	if (ctx->cache != NULL && cache_wanted(ctx->g, a->step))
		(void)journal_flush(ctx->jr);
	/* Files may change from now on: no stat(2) result is kept. */
	if (ctx->cache != NULL)
		cache_unsettle();
	envv_copy(&env, ctx->base);
	for (k = 0; (size_t)k < c->nenv; k++)
		envv_set(&env, c->envk[k], strlen(c->envk[k]), c->envv[k],
		    strlen(c->envv[k]));
	set_dag_env(a, ctx, &env);
	if ((rc = open_places(a, ctx, c, &cwd, &in, &msg)) == -1)
		rc = done(a, ST_FAILED, -1, 0, msg, 0);
	else if (rc == -2 || capset_pipes(ctx->cs, p) == -1) {
		if (msg == NULL)
			msg = xasprintf("pipe: %s", strerror(errno));
		rc = done_sys(a, ctx, -1, msg, 0);
	} else if ((e = spawn_cmd(a, ctx, c, &env, &(struct spawn_req){ NULL,
	    NULL, env.v, in != -1 ? in : ctx->ps->devnull, p[0][1], p[1][1],
	    cwd, NULL })) != 0) {
		if (is_resource_errno(e)) {
			/* Not the step's fault: no shell tried, no retry. */
			msg = xasprintf("cannot start: %s", strerror(e));
			rc = done_sys(a, ctx, -1, msg, 0);
		} else {
			msg = xasprintf("%s: %s", c->argv[0], e == ENOENT ?
			    "command not found" : strerror(e));
			/* Said where the step's own errors go, as a shell
			 * would say it. */
			note = xasprintf("%s: %s\n", getprogname(), msg);
			capset_note(ctx->cs, s->id, att, note);
			free(note);
			rc = done(a, ST_FAILED, spawn_errno_status(e), 0, msg,
			    0);
		}
	} else {
		a->eval = 0;
		a->state = AT_RUNNING;
		capset_attach(ctx->cs, &a->cap, p, s->id, att,
		    attempt_is_slurm(ctx->g, a->step));
		rc = AN_STARTED;
	}
	for (k = 0; k < 2; k++) {
		if (p[k][0] != -1)
			close(p[k][0]);
		if (p[k][1] != -1)
			close(p[k][1]);
	}
	if (in != -1)
		close(in);
	if (cwd != -1)
		close(cwd);
	free(msg);
	envv_release(&env);
	return rc;
}

/*
 * Asks the cache whether step a->step, about to run c (for a transform:
 * to evaluate) on its input, is up to date.  Returns 1 when it is: the
 * attempt is over, *rc is AN_DONE and the step cached.  Returns 0 to run
 * it (a->probe then keeps its key, for a success to record).  With
 * --explain, says which and why.
 */
static int
up_to_date(struct attempt *a, const struct attempt_ctx *ctx,
    const struct cmdspec *c, int *rc)
{
	const struct step *s = &ctx->g->s[a->step];
	struct cache *k = ctx->cache;
	char *text = NULL, *why = NULL, *from, name[300];
	size_t len = 0;
	int got, out = 0;

	if (k == NULL)
		return 0;
	if (!cache_wanted(ctx->g, a->step)) {
		if (k->explain)
			a->explain = xasprintf("%s: runs: %s", s->id,
			    s->cache == 1 ? "\"cache\": false" :
			    "no inputs or outputs declared");
		return 0;
	}
	if (s->kind != CMD_TRANSFORM && a->has_input == 1) {
		(void)snprintf(name, sizeof(name), "%s/input.json", s->id);
		if ((text = rundir_read(ctx->x->rd->sdfd, name, &len)) ==
		    NULL)
			return 0;	/* it fails as it starts */
	} else if (s->kind != CMD_TRANSFORM) {
		text = xstrdup(a->has_input == 2 ? "{}" : "null");
		len = strlen(text);
	}
	a->probe = xcalloc(1, sizeof(*a->probe));
	got = cache_probe(k, ctx->x, a->step, c, text, len, a->probe);
	free(text);
	from = got && a->probe->hit->run != NULL ?
	    xstrdup(a->probe->hit->run) : NULL;
	if (got && (out = cache_restore(k, ctx->x, a->probe, &why)) == -1) {
		got = out = 0;
		free(a->probe->why);
		a->probe->why = why;
	}
	if (k->explain)
		a->explain = xasprintf("%s: %s%s", s->id, got ? "up to date" :
		    "runs: ", got ? "" : a->probe->why);
	if (got) {
		why = from != NULL ? xasprintf("up to date (run %s)", from) :
		    xstrdup("up to date");
		*rc = done(a, ST_CACHED, -1, 0, why, out);
		free(why);
	}
	free(from);
	return got;
}

int
attempt_begin(struct attempt *a, const struct attempt_ctx *ctx,
    uint32_t step, int64_t now)
{
	const struct step *s = &ctx->g->s[step];
	struct cmdspec c;
	char *err = NULL;
	int has, rc, tr = s->kind == CMD_TRANSFORM;

	attempt_init(a, a->tag);
	a->step = step;
	a->timer = s->timeout > 0 ? now + ms_of(s->timeout) : 0;
	if (s->foreach >= 0) {	/* its items, as a transform's evaluator */
		if (fork_eval(a, ctx, EVAL_EXPAND) == -1) {
			err = xasprintf("fork: %s", strerror(errno));
			rc = done_sys(a, ctx, -1, err, 0);
			free(err);
			return rc;
		}
		a->state = AT_TRANSFORMING;
		return AN_STARTED;
	}
	if (tr && ctx->cache != NULL && exec_literal(ctx->x, step, &c,
	    &err) == 0) {
		has = up_to_date(a, ctx, &c, &rc);
		cmdspec_release(&c);
		if (has)
			return rc;
	}
	free(err);
	err = NULL;
	if (tr || exec_needs_prep(ctx->g, step)) {
		if (fork_eval(a, ctx, tr ? EVAL_TRANSFORM : EVAL_PREP) == -1) {
			err = xasprintf("fork: %s", strerror(errno));
			rc = done_sys(a, ctx, -1, err, 0);
			free(err);
			return rc;
		}
		a->state = tr ? AT_TRANSFORMING : AT_PREPARING;
		return tr ? AN_STARTED : AN_NONE;
	}
	/* Output recorded for a need that is missing or damaged, or an
	 * input that cannot be written: running the step on other data
	 * would be wrong, and the fault is the run directory's. */
	if ((rc = exec_default_input(ctx->x, step, &has, &err)) == -2) {
		rc = done_sys(a, ctx, -1, err, 1);
		free(err);
		return rc;
	}
	if (rc == -1) {
		err = xasprintf("%s/steps/%s/input.json: %s", ctx->x->rd->path,
		    s->id, strerror(errno));
		rc = done_sys(a, ctx, -1, err, 1);
		free(err);
		return rc;
	}
	a->has_input = (uint8_t)has;
	if (exec_literal(ctx->x, step, &c, &err) == -1) {
		rc = done(a, ST_FAILED, -1, 0, err, 0);
		free(err);
		return rc;
	}
	if (!up_to_date(a, ctx, &c, &rc))
		rc = start_cmd(a, ctx, &c);
	cmdspec_release(&c);
	return rc;
}

/* An evaluator ended: what its result line says. */
static int
eval_exit(struct attempt *a, const struct attempt_ctx *ctx, int ws,
    int64_t now)
{
	const struct dag *g = ctx->g;
	struct exec_result er;
	char *text, *err = NULL, name[300];
	struct stat sb;
	size_t len;
	int rc;

	(void)now;
	memset(&er, 0, sizeof(er));
	text = read_memfd(a->memfd, &len);
	close(a->memfd);
	a->memfd = -1;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0 ||
	    exec_parse_result(text, len, &er) == -1) {
		err = xasprintf("jq evaluation crashed (%s %d)",
		    WIFSIGNALED(ws) ? "signal" : "exit", WIFSIGNALED(ws) ?
		    WTERMSIG(ws) : WEXITSTATUS(ws));
		rc = done(a, ST_FAILED, -1, 0, err, 0);
		goto out;
	}
	a->res.bignum |= (uint8_t)er.bignum;
	if (er.err != NULL && (er.syserr || disk_full(ctx)))
		rc = done_sys(a, ctx, -1, er.err, er.syserr);
	else if (er.err != NULL)
		rc = done(a, ST_FAILED, a->state == AT_CHECKING ? 0 : -1, 0,
		    er.err, 0);
	else if (er.skip)
		rc = done(a, ST_SKIPPED, -1, 0, "when is false", 0);
	else if (er.expand >= 0) {
		rc = done(a, ST_SUCCEEDED, -1, 0, NULL, 0);
		a->res.expand = er.expand;
	}
	else if (a->state == AT_PREPARING) {
		(void)snprintf(name, sizeof(name), "%s/input.json",
		    g->s[a->step].id);
		a->has_input = fstatat(ctx->x->rd->sdfd, name, &sb, 0) == 0 ?
		    1 : g->s[a->step].input < 0 && g->need_off[a->step] !=
		    g->need_off[a->step + 1] ? 2 : 0;
		a->pid = 0;
		if (!up_to_date(a, ctx, &er.cmd, &rc))
			rc = start_cmd(a, ctx, &er.cmd);
	} else
		rc = done(a, ST_SUCCEEDED, a->state == AT_CHECKING ? 0 : -1, 0,
		    NULL, er.output);
out:
	exec_result_release(&er);
	free(err);
	free(text);
	return rc;
}

/* The command ended. */
static int
run_exit(struct attempt *a, const struct attempt_ctx *ctx, int ws,
    int64_t now)
{
	int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	int sig = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0, rc;
	char *msg;

	(void)now;
	if (code != 0) {
		msg = xasprintf(sig ? "killed by signal %d%s" :
		    "exit status %d%s", sig ? sig : code, disk_full(ctx) ?
		    ", with the run directory's file system full" : "");
		rc = disk_full(ctx) ? done_sys(a, ctx, code, msg, 1) :
		    done(a, ST_FAILED, code, sig, msg, 0);
		a->res.signal = sig;
		free(msg);
		return rc;
	}
	if (a->cap.failed)
		return done(a, ST_FAILED, 0, 0, "its output could not be "
		    "written to the run directory", 0);
	if (!exec_needs_post(ctx->x, a->step,
	    ctx->x->rs->s[a->step].attempts))
		return done(a, ST_SUCCEEDED, 0, 0, NULL, 0);
	if (fork_eval(a, ctx, EVAL_POST) == -1) {
		msg = xasprintf("fork: %s", strerror(errno));
		rc = done_sys(a, ctx, 0, msg, 0);
		free(msg);
		return rc;
	}
	a->state = AT_CHECKING;
	return AN_NONE;
}

/* A process we were stopping ended: the attempt ends as the stop says. */
static int
killed_exit(struct attempt *a, const struct attempt_ctx *ctx, int ws,
    int64_t now)
{
	static const char *const why[] = { NULL, "timed out", "cancelled",
	    "run deadline exceeded", "aborted after a failure" };
	int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	int sig = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;

	(void)now;
	if (a->state == AT_TERMINATING && a->timer != 0 && !a->eval &&
	    !attempt_is_slurm(ctx->g, a->step))
		procset_kill_later(ctx->ps, a->pid, a->timer);
	if (a->memfd != -1) {
		close(a->memfd);
		a->memfd = -1;
	}
	return done(a, a->kill == AK_TIMEOUT || a->kill == AK_DEADLINE ?
	    ST_TIMED_OUT : ST_CANCELLED, a->eval ? -1 : code, a->eval ? 0 : sig,
	    why[a->kill], 0);
}

/* SIGTERM (or scancel) now, SIGKILL when kill_grace ends. */
static int
term(struct attempt *a, const struct attempt_ctx *ctx, int why, int64_t now)
{
	a->kill = (uint8_t)why;
	if (!a->eval && attempt_is_slurm(ctx->g, a->step))
		scancel(a, ctx, 1);
	else
		procset_term(a->pid);
	a->state = AT_TERMINATING;
	a->timer = now + ms_of(ctx->g->s[a->step].kill_grace);
	return AN_NONE;
}

static int
live_timer(struct attempt *a, const struct attempt_ctx *ctx, int arg,
    int64_t now)
{
	(void)arg;
	return term(a, ctx, AK_TIMEOUT, now);
}

static int
live_kill(struct attempt *a, const struct attempt_ctx *ctx, int why,
    int64_t now)
{
	return term(a, ctx, why, now);
}

/* kill_grace is over. */
static int
term_timer(struct attempt *a, const struct attempt_ctx *ctx, int arg,
    int64_t now)
{
	(void)arg;
	if (!a->eval && attempt_is_slurm(ctx->g, a->step)) {
		/* Cancel for good; srun itself only if it still hangs after
		 * another grace. */
		scancel(a, ctx, 0);
		a->state = AT_CANCELLING;
		a->timer = now + ms_of(ctx->g->s[a->step].kill_grace) + 1000;
		return AN_NONE;
	}
	procset_kill(a->pid);
	a->state = AT_KILLED;
	a->timer = 0;
	return AN_NONE;
}

static int
cancel_timer(struct attempt *a, const struct attempt_ctx *ctx, int arg,
    int64_t now)
{
	(void)ctx;
	(void)arg;
	(void)now;
	procset_kill(a->pid);
	a->state = AT_KILLED;
	a->timer = 0;
	return AN_NONE;
}

/* Already being stopped, or a timer that another event superseded. */
static int
ignore(struct attempt *a, const struct attempt_ctx *ctx, int arg,
    int64_t now)
{
	(void)a;
	(void)ctx;
	(void)arg;
	(void)now;
	return AN_NONE;
}

static int
impossible(struct attempt *a, const struct attempt_ctx *ctx, int arg,
    int64_t now)
{
	(void)ctx;
	(void)arg;
	(void)now;
	(void)a;
	diag_bug("a process ended for an attempt that has none");
}

static handler *const table[AT__N][AE__N] = {
	/*		   AE_EXIT	AE_TIMER	AE_KILL */
	[AT_FREE] =	 { impossible,	ignore,		ignore },
	[AT_PREPARING] = { eval_exit,	live_timer,	live_kill },
	[AT_TRANSFORMING] = { eval_exit, live_timer,	live_kill },
	[AT_RUNNING] =	 { run_exit,	live_timer,	live_kill },
	[AT_CHECKING] =	 { eval_exit,	live_timer,	live_kill },
	[AT_TERMINATING] = { killed_exit, term_timer,	ignore },
	[AT_CANCELLING] = { killed_exit, cancel_timer,	ignore },
	[AT_KILLED] =	 { killed_exit,	ignore,		ignore },
};

int
attempt_exit(struct attempt *a, const struct attempt_ctx *ctx, int ws,
    int64_t now)
{
	return table[a->state][AE_EXIT](a, ctx, ws, now);
}

int
attempt_timer(struct attempt *a, const struct attempt_ctx *ctx, int64_t now)
{
	return table[a->state][AE_TIMER](a, ctx, 0, now);
}

int
attempt_kill(struct attempt *a, const struct attempt_ctx *ctx, int why,
    int64_t now)
{
	return table[a->state][AE_KILL](a, ctx, why, now);
}

void
attempt_kill_now(struct attempt *a, const struct attempt_ctx *ctx,
    int64_t now)
{
	if (a->state == AT_FREE || a->pid <= 0)
		return;
	if (a->kill == AK_NONE)
		a->kill = AK_CANCEL;
	/* Killing srun would leave its job to SLURM, and the run's end
	 * would sweep scancel away: cancel the job for good, and kill srun
	 * only if it still hangs a second later. */
	if (!a->eval && attempt_is_slurm(ctx->g, a->step) && a->state !=
	    AT_CANCELLING && a->state != AT_KILLED) {
		scancel(a, ctx, 0);
		a->state = AT_CANCELLING;
		a->timer = now + 1000;
		return;
	}
	procset_kill(a->pid);
	a->state = AT_KILLED;
	a->timer = 0;
}
