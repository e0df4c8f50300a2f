/*
 * dag-status: what a run did or is doing, read from its directory.  The
 * journal is the source of truth, so every view replays events.jsonl
 * (ignoring a torn last line) rather than trusting run.json, which may be
 * a little behind.  A run that says "running" while nobody holds its lock
 * was interrupted (kill -9, power loss) and is reported as such.
 *
 * Follow mode reads the journal incrementally and sleeps in poll(2) on an
 * inotify descriptor, so it wakes when the file grows and not otherwise,
 * with a one-second timeout to notice a dag-run that died.
 */
#include "compat.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "clock.h"
#include "dag.h"
#include "diag.h"
#include "duration.h"
#include "exitcode.h"
#include "history.h"
#include "html.h"
#include "jdoc.h"
#include "journal.h"
#include "json.h"
#include "plan.h"
#include "progress.h"
#include "rundir.h"
#include "state.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

struct view {
	char		*dir;		/* the run directory */
	struct dag	*g;
	struct runstate	 rs;
	off_t		 off;		/* journal bytes consumed */
	struct strbuf	 part;		/* an incomplete last line */
};

static int
run_exit(int status)
{
	switch (status) {
	case RUN_SUCCEEDED:
		return EXIT_OK;
	case RUN_FAILED:
		return EXIT_FAILED;
	case RUN_TIMED_OUT:
		return EXIT_TIMEOUT;
	case RUN_CANCELLED:
		return exit_for_signal(2);
	case RUN_INTERRUPTED:
		return EXIT_INTERRUPTED;
	default:
		return EXIT_RUNNING;
	}
}

/*
 * RUN operand or --run-dir: a directory, an id in the runs dir, latest.
 * A RUN with a '/' is a path only: the message names it as given.
 */
static char *
find_run(const struct status_opts *o)
{
	const char *runs = rundir_runs(o->runs);
	struct stat st;
	char *p;

	if (o->run != NULL && stat(o->run, &st) == 0 && S_ISDIR(st.st_mode))
		return xstrdup(o->run);
	if (o->run != NULL && strchr(o->run, '/') != NULL) {
		warnx("no such run: %s", o->run);
		return NULL;
	}
	p = xasprintf("%s/%s", runs, o->run != NULL ? o->run : "latest");
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		return p;
	warnx("no such run: %s", p);
	free(p);
	return NULL;
}

/* Feeds new complete journal lines to the state; keeps a partial one. */
static void
feed(struct view *v, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (v->part.len > 0) {
			strbuf_add(&v->part, p, (size_t)(nl - p));
			(void)journal_apply(v->part.buf, v->part.len, v->g,
			    &v->rs);
			strbuf_reset(&v->part);
		} else
			(void)journal_apply(p, (size_t)(nl - p), v->g, &v->rs);
		p = nl + 1;
	}
	if (p < end)
		strbuf_add(&v->part, p, (size_t)(end - p));
}

static int
read_more(struct view *v, int fd)
{
	char buf[65536];
	ssize_t n;
	int any = 0;

	while ((n = pread(fd, buf, sizeof(buf), v->off)) > 0) {
		feed(v, buf, (size_t)n);
		v->off += n;
		any = 1;
	}
	return any;
}

/*
 * A run's status where the journal has not said it yet: a dag-run gone
 * without a last word was interrupted; an external run (dag-step drives
 * it, and does not recompute the run's status) ends once its steps have,
 * as dag-step --finish would record it.
 */
static void
settle_status(struct view *v)
{
	if (v->rs.status != RUN_RUNNING)
		return;
	if (v->rs.external)
		v->rs.status = (uint8_t)sched_restatus(v->rs.s, v->rs.n,
		    RUN_RUNNING);
	else if (rundir_lock_held(v->dir) == 0)
		v->rs.status = RUN_INTERRUPTED;
}

static int
view_open(struct view *v, const char *dir, int journal)
{
	struct diag d;
	char *path;
	int fd;

	memset(v, 0, sizeof(*v));
	/* Through "latest" the run's name is where the link points. */
	if ((v->dir = realpath(dir, NULL)) == NULL)
		v->dir = xstrdup(dir);
	path = xasprintf("%s/dag.json", dir);
	/* Regular only: a FIFO or a device there must not hang or flood. */
	if ((fd = rundir_open_file(AT_FDCWD, path, O_RDONLY)) == -1 &&
	    errno != ENOENT) {
		warnx("read '%s': %s", path, rundir_strerror(errno));
		free(path);
		free(v->dir);
		v->dir = NULL;
		return -1;
	}
	if (fd != -1)
		close(fd);
	diag_init(&d, path);
	v->g = dag_load(path, path, DAG_NO_EXPR_COMPILE, &d);
	diag_print(&d, stderr);
	diag_release(&d);
	free(path);
	if (v->g == NULL) {
		free(v->dir);
		v->dir = NULL;
		return -1;
	}
	state_init(&v->rs, v->g);
	path = xasprintf("%s/events.jsonl", dir);
	if (journal && (fd = rundir_open_file(AT_FDCWD, path, O_RDONLY)) !=
	    -1) {
		(void)read_more(v, fd);
		close(fd);
	}
	free(path);
	if (v->rs.id == NULL) {
		const char *s = strrchr(v->dir, '/');

		v->rs.id = xstrdup(s != NULL ? s + 1 : v->dir);
	}
	if (v->rs.dag == NULL)
		v->rs.dag = xstrdup(v->g->name);
	settle_status(v);
	return 0;
}

static void
view_close(struct view *v)
{
	state_release(&v->rs);
	dag_free(v->g);
	strbuf_release(&v->part);
	free(v->dir);
}

static uint32_t
done_count(const struct runstate *rs, uint32_t *total)
{
	uint32_t i, done = 0;

	*total = 0;
	for (i = 0; i < rs->n; i++) {
		if (!rs->s[i].selected)
			continue;
		(*total)++;
		done += step_status_terminal(rs->s[i].status);
	}
	return done;
}

/* Remaining time: the longest remaining path, from past durations. */
static double
eta(const struct view *v, const char *runs)
{
	struct plan p;
	double *hist;
	int64_t best = 0;
	uint32_t i;

	hist = history_estimates(runs, v->g);
	plan_compute(v->g, hist, &p);
	for (i = 0; i < v->g->n; i++)
		if (v->rs.s[i].selected &&
		    !step_status_terminal(v->rs.s[i].status) &&
		    p.rank[i] > best)
			best = p.rank[i];
	plan_release(&p);
	free(hist);
	return plan_secs(best);
}

/* A foreach step's instances in one line: "3/4 ok, 1 failed". */
static void
print_group(const struct view *v, const struct group *gr, size_t w)
{
	static const char *const words[] = { "ok", "failed", "running",
	    "pending", "skipped", "upstream_failed", "cancelled" };
	uint32_t n[7] = { 0 }, t, k;
	int st;
	char name[128];

	for (t = 0; t < gr->n; t++) {
		st = v->rs.s[GROUP_AT(gr, t)].status;
		n[st == ST_SUCCEEDED || st == ST_CACHED ? 0 : st == ST_FAILED ||
		    st == ST_TIMED_OUT ? 1 : st == ST_RUNNING ||
		    st == ST_RETRY_WAIT ? 2 : st == ST_PENDING ? 3 :
		    st == ST_SKIPPED ? 4 : st == ST_UPSTREAM_FAILED ? 5 : 6]++;
	}
	(void)snprintf(name, sizeof(name), "%s[*]", gr->name);
	printf("%-*s  %u/%u ok", (int)w, name, n[0], gr->n);
	for (k = 1; k < 7; k++)
		if (n[k] > 0)
			printf(", %u %s", n[k], words[k]);
	putchar('\n');
}

static void
print_table(const struct view *v, const char *runs)
{
	const struct runstate *rs = &v->rs;
	char ts[40], d[32];
	uint32_t i, done, total;
	int64_t end = rs->finished ? rs->finished : state_now(rs);
	size_t w = 4;

	done = done_count(rs, &total);
	/* A paused run is running: nothing new starts in it. */
	printf("run      %s\ndag      %s\nstatus   %s%s\n", rs->id, rs->dag,
	    rs->paused && rs->status == RUN_RUNNING ? "paused" :
	    run_status_names[rs->status], rs->paused && rs->status ==
	    RUN_INTERRUPTED ? " (paused: --resume stays paused until "
	    "--unpause)" : "");
	if (rs->started) {
		clock_rfc3339(rs->started, ts, sizeof(ts));
		duration_format((double)(end - rs->started) / 1000, d,
		    sizeof(d));
		printf("started  %s\nelapsed  %s\n", ts, d);
	}
	printf("done     %u/%u\n", done, total);
	if (rs->status == RUN_RUNNING) {
		duration_format(eta(v, runs), d, sizeof(d));
		printf("eta      %s\n", d);
	}
	for (i = 0; i < v->g->nstatic; i++)
		if (strlen(v->g->s[i].id) + 3 * (v->g->s[i].foreach >= 0) > w)
			w = strlen(v->g->s[i].id) + 3 * (v->g->s[i].foreach >= 0);
	printf("\n%-*s  %-15s  %8s  %9s  %4s\n", (int)w, "STEP", "STATUS",
	    "ATTEMPTS", "DURATION", "EXIT");
	/* A foreach's instances: one line after their step (--json and
	 * --logs ID[key] give each). */
	for (i = 0; i < v->g->nstatic; i++) {
		const struct sstate *s = &rs->s[i];

		if (!s->selected)
			continue;
		if (s->started)
			duration_format(s->finished ? s->duration :
			    (double)(state_now(rs) - s->started) / 1000, d,
			    sizeof(d));
		else
			strlcpy(d, "-", sizeof(d));
		printf("%-*s  %-15s  %8u  %9s  ", (int)w, v->g->s[i].id,
		    step_status_names[s->status], s->attempts, d);
		if (s->exit_code >= 0)
			printf("%4d\n", s->exit_code);
		else
			printf("%4s\n", "-");
		if (v->g->s[i].head_of != GROUP_NONE &&
		    v->g->groups[v->g->s[i].head_of].n > 0)
			print_group(v, &v->g->groups[v->g->s[i].head_of], w);
	}
}

static void
print_json(const struct view *v)
{
	struct strbuf sb = STRBUF_INIT;

	state_emit(&v->rs, v->g, &sb);
	strbuf_addc(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
}

static unsigned
term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");
	long n;

	if (c != NULL && (n = strtol(c, NULL, 10)) >= 40 && n <= 1000)
		return (unsigned)n;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* A text timeline: one row per step that started, scaled to the width. */
static void
print_gantt(const struct view *v)
{
	const struct runstate *rs = &v->rs;
	int64_t t0 = rs->started, t1 = rs->finished ? rs->finished :
	    state_now(rs);
	unsigned width = term_width(), w = 4, bar, a, b, k;
	uint32_t i, *idx = xcalloc(v->g->n + 1, sizeof(*idx)), n = 0, j;
	char d[32];

	for (i = 0; i < v->g->n; i++)
		if (rs->s[i].started) {
			idx[n++] = i;
			if (strlen(v->g->s[i].id) > w)
				w = (unsigned)strlen(v->g->s[i].id);
		}
	/* Insertion by start time: n is small for a terminal view. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && rs->s[idx[j]].started <
		    rs->s[idx[j - 1]].started; j--) {
			uint32_t t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	/* A row is the id, " |", the bar, "| " and a duration of up to 10
	 * columns.  The bar keeps 10 columns; the id gives way to it. */
	if (w > 30)
		w = 30;
	if (width < w + 24)
		w = width - 24;		/* width >= 40: w >= 16 */
	bar = width - w - 14;
	if (t1 <= t0)
		t1 = t0 + 1;
	duration_format((double)(t1 - t0) / 1000, d, sizeof(d));
	printf("%-*s |%*s| %s\n", (int)w, "STEP", (int)bar, "", d);
	for (i = 0; i < n; i++) {
		const struct sstate *s = &rs->s[idx[i]];
		int64_t e = s->finished ? s->finished : t1;
		char c = s->status == ST_SUCCEEDED ? '#' : s->status ==
		    ST_CACHED ? '=' : s->status ==
		    ST_RUNNING ? '>' : 'x';

		a = (unsigned)((s->started - t0) * bar / (t1 - t0));
		b = (unsigned)((e - t0) * bar / (t1 - t0));
		if (b <= a)
			b = a + 1;
		if (b > bar)
			b = bar;
		if (a >= bar)
			a = bar - 1;
		printf("%-*.*s |", (int)w, (int)w, v->g->s[idx[i]].id);
		for (k = 0; k < bar; k++)
			putchar(k >= a && k < b ? c : ' ');
		duration_format(s->finished ? s->duration :
		    (double)(e - s->started) / 1000, d, sizeof(d));
		printf("| %s\n", d);
	}
	free(idx);
}

/* Copies dfd/name to fp in chunks: a log may be bigger than memory.
 * Returns 1 if copied, 0 if there is no such file, -1 on error. */
static int
copy_log(int dfd, const char *name, FILE *fp)
{
	char buf[65536];
	ssize_t n;
	int fd;

	if ((fd = rundir_open_file(dfd, name, O_RDONLY)) == -1)
		return errno == ENOENT ? 0 : -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
			break;		/* stdout_close reports it */
	}
	close(fd);
	return 1;
}

static int
print_logs(const struct view *v, const struct status_opts *o)
{
	int64_t i = dag_find(v->g, o->step, strlen(o->step));
	unsigned att;
	char *path;
	int dfd, w;
	uint32_t f, n;

	if (i < 0 && dag_lookup(v->g, o->step, &f, &n) == 0) {
		warnx("\"%s\" is a matrix of %u steps: name one, such as "
		    "\"%s\"", o->step, n, v->g->s[f].id);
		return EXIT_USAGE;
	}
	if (i >= 0 && v->g->s[i].head_of != GROUP_NONE &&
	    v->g->groups[v->g->s[i].head_of].n > 0) {
		warnx("\"%s\" is a foreach of %u steps: name one, such as "
		    "\"%s\"", o->step, v->g->groups[v->g->s[i].head_of].n,
		    v->g->s[GROUP_AT(&v->g->groups[v->g->s[i].head_of],
		    0)].id);
		return EXIT_USAGE;
	}
	if (i < 0 || v->rs.s[i].hidden) {
		warnx("no step \"%s\" in run %s", o->step, v->rs.id);
		return EXIT_USAGE;
	}
	att = o->attempt ? o->attempt : v->rs.s[i].attempts;
	if (att == 0 || v->rs.s[i].attempts == 0) {
		warnx("step \"%s\" has not run", o->step);
		return EXIT_USAGE;
	}
	if (att > v->rs.s[i].attempts) {
		warnx("step \"%s\" has %u attempt%s, not %u", o->step,
		    v->rs.s[i].attempts, v->rs.s[i].attempts == 1 ? "" : "s",
		    att);
		return EXIT_USAGE;
	}
	/* A step that printed nothing has no files: nothing to print. */
	path = xasprintf("%s/steps/%s", v->dir, o->step);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 && errno != ENOENT) {
		warn("%s", path);
		free(path);
		return EXIT_SYSERR;
	}
	for (w = 0; w < 2 && dfd != -1; w++) {
		char name[64];

		(void)snprintf(name, sizeof(name), "%u.%s", att,
		    w == 0 ? "stdout" : "stderr");
		/* stdout before stderr; told here, while errno is its. */
		if (w == 1 && fflush(stdout) == EOF && errno != EPIPE) {
			warn("stdout");
			clearerr(stdout);
			close(dfd);
			free(path);
			return EXIT_SYSERR;
		}
		if (copy_log(dfd, name, w == 0 ? stdout : stderr) == -1) {
			warnx("%s/%s: %s", path, name, rundir_strerror(errno));
			close(dfd);
			free(path);
			return EXIT_SYSERR;
		}
	}
	if (dfd != -1)
		close(dfd);
	free(path);
	return EXIT_OK;
}

/* One line of --list. */
struct listrow {
	char	*name;
	char	 status[32], started[40], dur[32];
};

/* Newest first: by start time (RFC 3339 UTC strings sort as times), then
 * by name; runs that never started last. */
static int
cmp_row(const void *a, const void *b)
{
	const struct listrow *x = a, *y = b;
	int c, xs = x->started[0] != '-', ys = y->started[0] != '-';

	if (xs != ys)
		return ys - xs;
	if ((c = strcmp(y->started, x->started)) != 0)
		return c;
	return strcmp(y->name, x->name);
}

/*
 * A run with no run.json yet: 1 if it has a journal, whose first line
 * (run_started) gives its start time to started.
 */
static int
journal_start(int dfd, char *started, size_t size)
{
	char head[1024], *end;

	if (rundir_peek(dfd, "events.jsonl", head, sizeof(head)) == 0)
		return faccessat(dfd, "events.jsonl", F_OK, 0) == 0;
	if (strncmp(head, "{\"ts\":\"", 7) == 0 && (end = strchr(head + 7,
	    '"')) != NULL && (size_t)(end - head - 7) < size) {
		*end = '\0';
		strlcpy(started, head + 7, size);
	}
	return 1;
}

static void
list_read(const char *runs, struct listrow *r)
{
	struct jdoc j;
	struct diag d;
	uint32_t s, st, du, ex;
	char *path, *text = NULL;
	size_t len;
	int dfd, held, journal = 0;

	strlcpy(r->dur, "-", sizeof(r->dur));
	strlcpy(r->status, "?", sizeof(r->status));
	strlcpy(r->started, "-", sizeof(r->started));
	path = xasprintf("%s/%s", runs, r->name);
	diag_init(&d, path);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		text = rundir_read(dfd, "run.json", &len);
		if (text == NULL)
			journal = journal_start(dfd, r->started,
			    sizeof(r->started));
		close(dfd);
	}
	if (text != NULL && jdoc_parse(&j, text, len, &d) == 0 &&
	    j.n[0].kind == J_OBJ) {
		if ((s = jdoc_get(&j, 0, "status")) != JNONE &&
		    j.n[s].kind == J_STR)
			(void)snprintf(r->status, sizeof(r->status), "%.*s",
			    (int)j.n[s].len - 2, j.buf + j.n[s].off + 1);
		ex = jdoc_get(&j, 0, "external");
		if (strcmp(r->status, "running") == 0 && (ex == JNONE ||
		    j.n[ex].kind != J_TRUE) && rundir_lock_held(path) == 0)
			strlcpy(r->status, "interrupted", sizeof(r->status));
		else if (strcmp(r->status, "running") == 0 &&
		    (ex = jdoc_get(&j, 0, "paused")) != JNONE &&
		    j.n[ex].kind == J_TRUE)
			strlcpy(r->status, "paused", sizeof(r->status));
		if ((st = jdoc_get(&j, 0, "started")) != JNONE &&
		    j.n[st].kind == J_STR)
			(void)snprintf(r->started, sizeof(r->started), "%.*s",
			    (int)j.n[st].len - 2, j.buf + j.n[st].off + 1);
		if ((du = jdoc_get(&j, 0, "duration")) != JNONE &&
		    j.n[du].kind == J_NUM)
			duration_format(jdoc_num(&j, du), r->dur,
			    sizeof(r->dur));
		jdoc_release(&j);
	} else if (text == NULL && journal && (held = rundir_lock_held(path)) !=
	    -1)
		/* Its first run.json comes with its first command: a
		 * dag-run gone before then was interrupted. */
		strlcpy(r->status, held ? "running" : "interrupted",
		    sizeof(r->status));
	free(text);
	free(path);
	diag_release(&d);
}

/* --list: every run in the runs directory, newest first, from run.json. */
static int
print_list(const char *runs)
{
	struct listrow *rows = NULL;
	struct dirent *de;
	size_t n = 0, k;
	DIR *dp;

	if ((dp = opendir(runs)) == NULL) {
		warn("%s", runs);
		return EXIT_USAGE;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "latest") == 0 ||
		    de->d_type == DT_REG)
			continue;
		rows = xreallocarray(rows, n + 1, sizeof(*rows));
		rows[n].name = xstrdup(de->d_name);
		list_read(runs, &rows[n++]);
	}
	closedir(dp);
	if (n > 0)
		qsort(rows, n, sizeof(*rows), cmp_row);
	printf("%-44s  %-11s  %-24s  %9s\n", "RUN", "STATUS", "STARTED",
	    "DURATION");
	for (k = 0; k < n; k++) {
		printf("%-44s  %-11s  %-24s  %9s\n", rows[k].name,
		    rows[k].status, rows[k].started, rows[k].dur);
		free(rows[k].name);
	}
	free(rows);
	return EXIT_OK;
}

/*
 * Prints steps that finished since the last call, as dag-run would.
 * *seen (*nseen steps) grows with the run: a foreach adds instances.
 */
static void
report_new(struct view *v, struct progress *pg, uint8_t **seenp,
    uint32_t *nseen)
{
	uint8_t *seen;
	uint32_t i;

	if (*seenp == NULL || v->g->n > *nseen) {
		*seenp = xreallocarray(*seenp, v->g->n + 1, 1);
		memset(*seenp + *nseen, 0, v->g->n + 1 - *nseen);
		if (*nseen > 0)
			pg->total += v->g->n - *nseen;
		*nseen = v->g->n;
	}
	seen = *seenp;
	for (i = 0; i < v->g->n; i++) {
		const struct sstate *s = &v->rs.s[i];

		if (!s->selected || seen[i] == s->status + 1 ||
		    !step_status_terminal(s->status))
			continue;
		seen[i] = (uint8_t)(s->status + 1);
		progress_step(pg, v->g->s[i].id, s->status, s->attempts,
		    s->duration, s->reason);
		if ((s->status == ST_FAILED || s->status == ST_TIMED_OUT) &&
		    !s->allowed) {
			/* The tail of its stderr, as dag-run prints it. */
			char *path = xasprintf("%s/steps", v->dir);
			int sdfd = open(path, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);

			if (sdfd != -1) {
				progress_tail(pg, sdfd, v->g->s[i].id,
				    s->attempts);
				close(sdfd);
			}
			free(path);
		}
	}
}

static int
follow(struct view *v)
{
	struct progress pg;
	uint8_t *seen = NULL;
	char *path = xasprintf("%s/events.jsonl", v->dir);
	uint32_t total, nseen = 0;
	int fd, ino, rc;

	(void)done_count(&v->rs, &total);
	progress_init(&pg, total, 0);
	pg.tty = isatty(STDOUT_FILENO);
	fd = rundir_open_file(AT_FDCWD, path, O_RDONLY);
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino != -1)
		(void)inotify_add_watch(ino, path, IN_MODIFY);
	report_new(v, &pg, &seen, &nseen);
	while (v->rs.status == RUN_RUNNING) {
		struct pollfd p = { ino, POLLIN, 0 };
		char buf[4096];

		/* Woken by a write; the timeout notices a dead dag-run. */
		if (poll(&p, ino != -1 ? 1 : 0, ino != -1 ? 1000 : 200) > 0)
			while (read(ino, buf, sizeof(buf)) > 0)
				;
		if (fd == -1)
			fd = rundir_open_file(AT_FDCWD, path, O_RDONLY);
		if (fd != -1)
			(void)read_more(v, fd);
		report_new(v, &pg, &seen, &nseen);
		settle_status(v);
	}
	progress_done(&pg);
	rc = run_exit(v->rs.status);
	fprintf(stderr, "dag-status: run %s %s\n", v->rs.id,
	    run_status_names[v->rs.status]);
	if (fd != -1)
		close(fd);
	if (ino != -1)
		close(ino);
	free(path);
	free(seen);
	return rc;
}

/* "-": an event stream on stdin; the run directory comes from run_started. */
static int
stream(void)
{
	struct strbuf line = STRBUF_INIT;
	struct view v;
	struct progress pg;
	uint8_t *seen = NULL;
	uint32_t nseen = 0;
	char buf[65536];
	ssize_t n;
	int have = 0, rc = EXIT_USAGE;

	memset(&v, 0, sizeof(v));
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0 ||
	    (n == -1 && errno == EINTR)) {
		char *p = buf, *end = buf + (n > 0 ? n : 0), *nl;

		while (p < end && (nl = memchr(p, '\n',
		    (size_t)(end - p))) != NULL) {
			strbuf_add(&line, p, (size_t)(nl - p));
			p = nl + 1;
			if (!have) {
				struct jdoc j;
				struct diag d;
				uint32_t k;
				char *dir = NULL;

				diag_init(&d, "-");
				if (jdoc_parse(&j, line.buf, line.len, &d) ==
				    0 && j.n[0].kind == J_OBJ && (k =
				    jdoc_get(&j, 0, "dir")) != JNONE &&
				    j.n[k].kind == J_STR)
					dir = jdoc_strdup(&j, k, NULL);
				jdoc_release(&j);
				diag_release(&d);
				if (dir != NULL && view_open(&v, dir, 0) == 0) {
					have = 1;
					progress_init(&pg, v.rs.n, 0);
					pg.tty = 0;
				}
				free(dir);
			}
			if (have) {
				(void)journal_apply(line.buf, line.len, v.g,
				    &v.rs);
				report_new(&v, &pg, &seen, &nseen);
			}
			strbuf_reset(&line);
		}
		if (p < end)
			strbuf_add(&line, p, (size_t)(end - p));
		if (n == 0)
			break;
	}
	if (have) {
		rc = run_exit(v.rs.status);
		fprintf(stderr, "dag-status: run %s %s\n", v.rs.id,
		    run_status_names[v.rs.status]);
		view_close(&v);
	} else
		warnx("no run_started event with a run directory on stdin");
	free(seen);
	strbuf_release(&line);
	return rc;
}

int
status_main(const struct status_opts *o)
{
	const char *runs = rundir_runs(o->runs);
	struct view v;
	char *dir;
	int rc;

	if (o->view == SV_STREAM)
		return stream();
	if (o->view == SV_LIST)
		return print_list(runs);
	if ((dir = find_run(o)) == NULL)
		return EXIT_USAGE;
	if (view_open(&v, dir, 1) == -1) {
		free(dir);
		return EXIT_USAGE;
	}
	free(dir);
	if (o->follow || o->view == SV_FOLLOW) {
		rc = follow(&v);
		view_close(&v);
		return rc;
	}
	rc = run_exit(v.rs.status);
	switch (o->view) {
	case SV_JSON:
		print_json(&v);
		break;
	case SV_LOGS:
		rc = print_logs(&v, o);
		break;
	case SV_GANTT:
		print_gantt(&v);
		break;
	case SV_HTML: {
		/* "-": standard output, which the caller closes and checks. */
		int out = strcmp(o->html, "-") == 0;
		FILE *fp = out ? stdout : fopen(o->html, "we");
		int sdfd;
		char *sp = xasprintf("%s/steps", v.dir);

		sdfd = open(sp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(sp);
		/* On stdout, an error is told once, by stdout_close. */
		if (fp == NULL || (html_report(fp, v.g, &v.rs, sdfd) == -1 &&
		    !out)) {
			warn("%s", o->html);
			rc = EXIT_SYSERR;
		}
		if (fp != NULL && !out && fclose(fp) == EOF &&
		    rc != EXIT_SYSERR) {
			warn("%s", o->html);
			rc = EXIT_SYSERR;
		}
		if (sdfd != -1)
			close(sdfd);
		break;
	}
	default:
		print_table(&v, runs);
	}
	view_close(&v);
	return rc;
}
