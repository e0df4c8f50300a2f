/*
 * The journal.  Writing: every event is formatted into one buffer and sent
 * with a single write(2) on an O_APPEND descriptor; on a local file system
 * that appends the whole line atomically with respect to other appenders
 * (dag-step processes of one run share the file) and a SIGKILL can only
 * leave a complete prefix.  Reading: lines are parsed one by one with the
 * tape parser and applied to a runstate; anything unparsable is skipped.
 *
 * --events mirrors each line to stdout; EPIPE there stops the mirror only.
 * A pipe is written through a second open file description of its own,
 * made O_NONBLOCK (opening /proc/self/fd/N of a pipe makes one), so the
 * shell's stays as it was; a socket is sent to with MSG_DONTWAIT.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "clock.h"
#include "dag.h"
#include "diag.h"
#include "jdoc.h"
#include "foreach.h"
#include "journal.h"
#include "rundir.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

/* Cuts a final line that has no newline: the write a crash interrupted. */
static void
repair_tail(int fd)
{
	struct stat st;
	char buf[4096];
	off_t end, pos;
	ssize_t n, i;

	if (fstat(fd, &st) == -1 || st.st_size == 0)
		return;
	end = st.st_size;
	if (pread(fd, buf, 1, end - 1) == 1 && buf[0] == '\n')
		return;
	for (pos = end; pos > 0; ) {
		off_t from = pos > (off_t)sizeof(buf) ? pos -
		    (off_t)sizeof(buf) : 0;

		n = pread(fd, buf, (size_t)(pos - from), from);
		if (n <= 0)
			return;
		for (i = n; i-- > 0; )
			if (buf[i] == '\n') {
				(void)ftruncate(fd, from + i + 1);
				return;
			}
		pos = from;
	}
	(void)ftruncate(fd, 0);
}

int
journal_open(struct journal *j, int dirfd, const char *run)
{
	memset(j, 0, sizeof(*j));
	j->mirror = j->tee = -1;
	j->run = run;
	j->fd = openat(dirfd, "events.jsonl", O_RDWR | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0666);
	if (j->fd == -1)
		return -1;
	if (journal_lock(j) == -1)
		return -1;
	repair_tail(j->fd);
	journal_unlock(j);
	return 0;
}

int
journal_lock(struct journal *j)
{
	while (flock(j->fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	j->locked = 1;
	return 0;
}

void
journal_unlock(struct journal *j)
{
	(void)flock(j->fd, LOCK_UN);
	j->locked = 0;
}

/* Past this much queued, the run waits for the reader after all. */
#define MIRROR_MAX	(64 << 20)
/* Queued lines written at once when they reach this. */
#define JOURNAL_BATCH	(64 << 10)

void
journal_mirror(struct journal *j, int fd)
{
	struct stat st;
	char path[64];
	int nfd;

	j->mirror = fd;
	j->mmode = MIRROR_BLOCK;
	if (fstat(fd, &st) == -1)
		return;
	if (S_ISSOCK(st.st_mode))
		j->mmode = MIRROR_SOCKET;
	else if (S_ISFIFO(st.st_mode)) {
		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) !=
		    -1) {
			j->mirror = nfd;
			j->mmode = MIRROR_PIPE;
		}
	}
}

int
journal_mirror_fd(const struct journal *j)
{
	return j->mirror != -1 && j->mmode != MIRROR_BLOCK &&
	    j->moff < j->mbuf.len ? j->mirror : -1;
}

static void
mirror_off(struct journal *j)
{
	if (j->mmode == MIRROR_PIPE)
		close(j->mirror);
	j->mirror = -1;
	strbuf_release(&j->mbuf);
	j->moff = 0;
}

void
journal_mirror_push(struct journal *j)
{
	ssize_t w;

	while (j->mirror != -1 && j->moff < j->mbuf.len) {
		if (j->mmode == MIRROR_SOCKET)
			w = send(j->mirror, j->mbuf.buf + j->moff, j->mbuf.len -
			    j->moff, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(j->mirror, j->mbuf.buf + j->moff,
			    j->mbuf.len - j->moff);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w == -1) {
			mirror_off(j);	/* a closed reader stops the stream */
			return;
		}
		j->moff += (size_t)w;
	}
	if (j->mirror != -1) {
		strbuf_reset(&j->mbuf);
		j->moff = 0;
	}
}

/* Waits for the reader until at most max bytes are queued. */
static void
mirror_wait(struct journal *j, size_t max)
{
	struct pollfd p;

	while (j->mirror != -1 && j->mbuf.len - j->moff > max) {
		p = (struct pollfd){ j->mirror, POLLOUT, 0 };
		if (poll(&p, 1, -1) == -1 && errno != EINTR) {
			mirror_off(j);
			return;
		}
		journal_mirror_push(j);
	}
}

static void
mirror_add(struct journal *j, const char *p, size_t n)
{
	if (j->mmode == MIRROR_BLOCK) {
		if (journal_write_all(j->mirror, p, n) == -1)
			j->mirror = -1;	/* a closed reader stops the stream */
		return;
	}
	if (j->moff > 0 && j->moff == j->mbuf.len) {
		strbuf_reset(&j->mbuf);
		j->moff = 0;
	}
	strbuf_add(&j->mbuf, p, n);
	journal_mirror_push(j);
	if (j->mbuf.len - j->moff > MIRROR_MAX)
		mirror_wait(j, MIRROR_MAX / 2);
}

void
journal_close(struct journal *j)
{
	(void)journal_flush(j);
	if (j->fd != -1)
		close(j->fd);
	if (j->tee != -1)
		close(j->tee);
	j->fd = j->tee = -1;
	if (j->mirror != -1 && j->mmode != MIRROR_BLOCK) {
		mirror_wait(j, 0);
		mirror_off(j);
	}
	strbuf_release(&j->line);
	strbuf_release(&j->pending);
	strbuf_release(&j->mbuf);
}

struct strbuf *
journal_begin(struct journal *j, const char *event)
{
	char ts[40];

	/* No printf: this runs for every event of every step. */
	clock_rfc3339(clock_wall_ms(), ts, sizeof(ts));
	strbuf_reset(&j->line);
	strbuf_adds(&j->line, "{\"ts\":\"");
	strbuf_adds(&j->line, ts);
	strbuf_adds(&j->line, "\",\"run\":");
	strbuf_add_json_str(&j->line, j->run, strlen(j->run));
	strbuf_adds(&j->line, ",\"event\":\"");
	strbuf_adds(&j->line, event);
	strbuf_addc(&j->line, '"');
	return &j->line;
}

int
journal_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A write cut short (a full disk) leaves part of a line: it is cut off
 * again, or the next event would be glued to it and lost with it.  Lines
 * before it that went out whole stay.
 */
static void
cut_torn(int fd, const char *p, size_t done)
{
	struct stat st;
	size_t keep = done;

	while (keep > 0 && p[keep - 1] != '\n')
		keep--;
	if (keep < done && fstat(fd, &st) == 0 &&
	    (size_t)st.st_size >= done - keep)
		(void)ftruncate(fd, st.st_size - (off_t)(done - keep));
}

static int
put(struct journal *j, const char *p, size_t n)
{
	size_t done = 0;
	ssize_t w;
	int e, mine = !j->locked;

	if (mine && journal_lock(j) == -1) {
		if (j->error == 0)
			j->error = errno;
		return -1;
	}
	while (done < n) {
		if ((w = write(j->fd, p + done, n - done)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			cut_torn(j->fd, p, done);
			if (mine)
				journal_unlock(j);
			if (j->error == 0)
				j->error = e;
			return -1;
		}
		done += (size_t)w;
	}
	if (mine)
		journal_unlock(j);
	/* A copy, after the journal: a torn or missing one reads as a step
	 * not ended, and its reader falls back on the journal. */
	if (j->tee != -1 && journal_write_all(j->tee, p, n) == -1) {
		close(j->tee);
		j->tee = -1;
	}
	if (j->mirror != -1)
		mirror_add(j, p, n);
	return 0;
}

int
journal_end(struct journal *j)
{
	strbuf_adds(&j->line, "}\n");
	if (j->batch) {
		strbuf_add(&j->pending, j->line.buf, j->line.len);
		/* A long batch (thousands of steps up to date) goes out in
		 * pieces: the lines are whole, and the buffer stays small. */
		return j->pending.len >= JOURNAL_BATCH ? journal_flush(j) : 0;
	}
	return put(j, j->line.buf, j->line.len);
}

int
journal_flush(struct journal *j)
{
	int rc;

	if (j->pending.len == 0 || j->fd == -1)
		return 0;
	rc = put(j, j->pending.buf, j->pending.len);
	strbuf_reset(&j->pending);
	return rc;
}

/* Starts the line of a step event: ts, run, event and step. */
static struct strbuf *
step_line(struct journal *j, const char *event, const char *id)
{
	struct strbuf *sb = journal_begin(j, event);

	strbuf_adds(sb, ",\"step\":");
	strbuf_add_json_str(sb, id, strlen(id));
	return sb;
}

/* The same, with the attempt's number. */
static struct strbuf *
attempt_line(struct journal *j, const char *event, const char *id,
    uint32_t attempt)
{
	struct strbuf *sb = step_line(j, event, id);

	strbuf_adds(sb, ",\"attempt\":");
	strbuf_add_int(sb, attempt);
	return sb;
}

void
journal_step_started(struct journal *j, const char *id, uint32_t attempt,
    long pid)
{
	struct strbuf *sb = attempt_line(j, "step_started", id, attempt);

	strbuf_adds(sb, ",\"pid\":");
	strbuf_add_int(sb, pid);
	(void)journal_end(j);
}

void
journal_step_finished(struct journal *j, const char *id,
    const struct sstate *s, int status, double secs, int retry)
{
	struct strbuf *sb = attempt_line(j, "step_finished", id, s->attempts);

	strbuf_adds(sb, ",\"status\":\"");
	strbuf_adds(sb, step_status_names[status]);
	strbuf_addc(sb, '"');
	state_emit_exit(s, sb);
	strbuf_adds(sb, ",\"duration\":");
	strbuf_add_secs(sb, secs);
	if (s->reason != NULL) {
		strbuf_adds(sb, ",\"reason\":");
		strbuf_add_json_str(sb, s->reason, strlen(s->reason));
	}
	if (s->has_output)
		strbuf_adds(sb, ",\"output\":true");
	if (s->allowed)
		strbuf_adds(sb, ",\"allowed\":true");
	if (retry)
		strbuf_adds(sb, ",\"retry\":true");	/* not final */
	(void)journal_end(j);
}

void
journal_step_skipped(struct journal *j, const char *id,
    const struct sstate *s)
{
	struct strbuf *sb = step_line(j, "step_skipped", id);

	strbuf_adds(sb, ",\"status\":\"");
	strbuf_adds(sb, step_status_names[s->status]);
	strbuf_adds(sb, "\",\"reason\":");
	strbuf_add_json_str(sb, s->reason ? s->reason : "",
	    s->reason ? strlen(s->reason) : 0);
	(void)journal_end(j);
}

void
journal_step_cached(struct journal *j, const char *id, const struct sstate *s)
{
	struct strbuf *sb = step_line(j, "step_cached", id);

	strbuf_adds(sb, ",\"status\":\"cached\"");
	if (s->has_output)
		strbuf_adds(sb, ",\"output\":true");
	if (s->reason != NULL) {
		strbuf_adds(sb, ",\"reason\":");
		strbuf_add_json_str(sb, s->reason, strlen(s->reason));
	}
	(void)journal_end(j);
}

void
journal_step_retry(struct journal *j, const char *id, uint32_t attempt,
    double delay)
{
	struct strbuf *sb = attempt_line(j, "step_retry", id, attempt);

	strbuf_adds(sb, ",\"delay\":");
	strbuf_add_secs(sb, delay);
	(void)journal_end(j);
}

void
journal_step_reset(struct journal *j, const char *id, const char *why)
{
	struct strbuf *sb = step_line(j, "step_reset", id);
	struct passwd *pw;

	/* Asked for (--rerun, an edited DAG): why, and by whom. */
	if (why != NULL) {
		strbuf_adds(sb, ",\"reason\":");
		strbuf_add_json_str(sb, why, strlen(why));
		if ((pw = getpwuid(getuid())) != NULL) {
			strbuf_adds(sb, ",\"user\":");
			strbuf_add_json_str(sb, pw->pw_name,
			    strlen(pw->pw_name));
		}
		strbuf_adds(sb, ",\"by\":");
		strbuf_add_int(sb, getpid());
	}
	(void)journal_end(j);
}

void
journal_step_expanded(struct journal *j, const char *id, uint32_t attempt,
    uint32_t n, const struct fitem *it)
{
	struct strbuf *sb = attempt_line(j, "step_expanded", id, attempt);
	uint32_t k;

	strbuf_adds(sb, ",\"items\":");
	strbuf_add_int(sb, n);
	if (n > 0 && it[0].key != NULL) {
		strbuf_adds(sb, ",\"keys\":[");
		for (k = 0; k < n; k++) {
			strbuf_adds(sb, k > 0 ? "," : "");
			strbuf_add_json_str(sb, it[k].key, strlen(it[k].key));
		}
		strbuf_addc(sb, ']');
	}
	(void)journal_end(j);
}

void
journal_step_removed(struct journal *j, const char *id)
{
	(void)step_line(j, "step_removed", id);
	(void)journal_end(j);
}

void
journal_run_started(struct journal *j, const struct runstate *rs,
    const struct dag *g, int targets, int resumed)
{
	struct strbuf *sb = journal_begin(j, "run_started");
	uint32_t i;
	int first = 1;

	strbuf_adds(sb, ",\"dag\":");
	strbuf_add_json_str(sb, rs->dag, strlen(rs->dag));
	strbuf_adds(sb, ",\"params\":");
	strbuf_adds(sb, rs->params != NULL ? rs->params : "{}");
	strbuf_adds(sb, ",\"pid\":");
	strbuf_add_int(sb, rs->pid);
	strbuf_adds(sb, ",\"dir\":");
	strbuf_add_json_str(sb, rs->dir, strlen(rs->dir));
	if (rs->external)
		strbuf_adds(sb, ",\"external\":true");
	if (resumed)
		strbuf_adds(sb, ",\"resume\":true");
	if (targets) {
		strbuf_adds(sb, ",\"targets\":[");
		for (i = 0; i < g->n; i++)
			if (rs->s[i].selected) {
				strbuf_adds(sb, first ? "" : ",");
				strbuf_add_json_str(sb, g->s[i].id,
				    strlen(g->s[i].id));
				first = 0;
			}
		strbuf_addc(sb, ']');
	}
	(void)journal_end(j);
}

void
journal_run_finished(struct journal *j, const struct runstate *rs)
{
	struct strbuf *sb = journal_begin(j, "run_finished");
	uint32_t counts[ST__N];

	strbuf_adds(sb, ",\"status\":\"");
	strbuf_adds(sb, run_status_names[rs->status]);
	strbuf_adds(sb, "\",\"counts\":");
	state_counts(rs, counts);
	state_emit_counts(counts, sb);
	strbuf_adds(sb, ",\"duration\":");
	strbuf_add_secs(sb, (double)(rs->finished - rs->started) / 1000);
	(void)journal_end(j);
}

void
journal_run_control(struct journal *j, const char *event,
    const char *signal, pid_t by)
{
	struct strbuf *sb = journal_begin(j, event);

	if (signal != NULL) {
		strbuf_adds(sb, ",\"signal\":");
		strbuf_add_json_str(sb, signal, strlen(signal));
	}
	if (by > 0) {
		strbuf_adds(sb, ",\"by\":");
		strbuf_add_int(sb, by);
	}
	(void)journal_end(j);
}

static int64_t
get_ts(const struct jdoc *d, uint32_t obj)
{
	uint32_t v = jdoc_get(d, obj, "ts");
	char tmp[40];
	int64_t ms = 0;

	if (v == JNONE || d->n[v].kind != J_STR || d->n[v].len > 38)
		return 0;
	memcpy(tmp, d->buf + d->n[v].off + 1, d->n[v].len - 2);
	tmp[d->n[v].len - 2] = '\0';
	(void)clock_parse_rfc3339(tmp, &ms);
	return ms;
}

static double
get_num(const struct jdoc *d, uint32_t obj, const char *k, double dflt)
{
	uint32_t v = jdoc_get(d, obj, k);

	return v != JNONE && d->n[v].kind == J_NUM ? jdoc_num(d, v) : dflt;
}

/* A whole number in [lo, hi], else dflt: a damaged journal's 1e300 must
 * not reach a cast, whose result would be undefined. */
static long long
get_int(const struct jdoc *d, uint32_t obj, const char *k, long long dflt,
    long long lo, long long hi)
{
	double x = get_num(d, obj, k, (double)dflt);

	return x >= (double)lo && x <= (double)hi ? (long long)x : dflt;
}

static char *
get_str(const struct jdoc *d, uint32_t obj, const char *k)
{
	uint32_t v = jdoc_get(d, obj, k);

	return v != JNONE && d->n[v].kind == J_STR ? jdoc_strdup(d, v, NULL) :
	    NULL;
}

static int
get_status(const struct jdoc *d, uint32_t obj, const char *k, int run)
{
	uint32_t v = jdoc_get(d, obj, k);

	if (v == JNONE || d->n[v].kind != J_STR || d->n[v].esc)
		return -1;
	return (run ? run_status_parse : step_status_parse)(d->buf +
	    d->n[v].off + 1, d->n[v].len - 2);
}

static void
apply_step(const struct jdoc *d, uint32_t o, const char *ev,
    struct sstate *s, int64_t ts)
{
	int st;

	if (strcmp(ev, "step_started") == 0) {
		s->status = ST_RUNNING;
		s->attempts = (uint32_t)get_int(d, o, "attempt",
		    (long long)s->attempts + 1, 0, UINT32_MAX);
		s->pid = (pid_t)get_int(d, o, "pid", 0, 0, INT_MAX);
		s->pid_at = ts;
		if (s->attempts <= 1 || s->started == 0)
			s->started = ts;
		s->finished = 0;
		s->exit_code = -1;
		s->signal = 0;
		state_set_reason(s, NULL);
	} else if (strcmp(ev, "step_finished") == 0) {
		if ((st = get_status(d, o, "status", 0)) >= 0)
			s->status = (uint8_t)st;
		s->attempts = (uint32_t)get_int(d, o, "attempt", s->attempts, 0,
		    UINT32_MAX);
		s->exit_code = (int32_t)get_int(d, o, "exit_code", -1, -1,
		    INT_MAX);
		s->signal = (int16_t)get_int(d, o, "signal", 0, 0, INT16_MAX);
		s->finished = ts;
		s->duration = s->started ? (double)(ts - s->started) / 1000 :
		    get_num(d, o, "duration", 0);
		s->has_output = jdoc_get(d, o, "output") != JNONE &&
		    d->n[jdoc_get(d, o, "output")].kind == J_TRUE;
		s->allowed = jdoc_get(d, o, "allowed") != JNONE &&
		    d->n[jdoc_get(d, o, "allowed")].kind == J_TRUE;
		free(s->reason);
		s->reason = get_str(d, o, "reason");
		/* An attempt that will be retried is not the step's end. */
		if (jdoc_get(d, o, "retry") != JNONE)
			s->status = ST_RETRY_WAIT;
	} else if (strcmp(ev, "step_retry") == 0) {
		s->status = ST_RETRY_WAIT;
	} else if (strcmp(ev, "step_skipped") == 0) {
		st = get_status(d, o, "status", 0);
		s->status = st >= 0 ? (uint8_t)st : ST_SKIPPED;
		s->finished = ts;
		free(s->reason);
		s->reason = get_str(d, o, "reason");
	} else if (strcmp(ev, "step_cached") == 0) {
		state_clear(s);
		s->status = ST_CACHED;
		s->started = s->finished = ts;
		s->has_output = jdoc_get(d, o, "output") != JNONE &&
		    d->n[jdoc_get(d, o, "output")].kind == J_TRUE;
		s->reason = get_str(d, o, "reason");
	} else if (strcmp(ev, "step_reset") == 0) {
		/* --resume or dag-step: the step will run again. */
		state_clear(s);
	}
}

static void
apply_run(const struct jdoc *d, uint32_t o, const char *ev,
    const struct dag *g, struct runstate *rs, int64_t ts)
{
	uint32_t v, k;
	int st;

	if (strcmp(ev, "run_started") == 0) {
		if (rs->started == 0)
			rs->started = ts;
		rs->status = RUN_RUNNING;
		rs->finished = 0;
		rs->pid = (pid_t)get_int(d, o, "pid", 0, 0, INT_MAX);
		if (rs->dag == NULL)
			rs->dag = get_str(d, o, "dag");
		if ((v = jdoc_get(d, o, "external")) != JNONE)
			rs->external = d->n[v].kind == J_TRUE;
		if ((v = jdoc_get(d, o, "params")) != JNONE &&
		    d->n[v].kind == J_OBJ) {
			struct strbuf sb = STRBUF_INIT;

			jdoc_emit(d, v, &sb);
			free(rs->params);
			rs->params = strbuf_detach(&sb, NULL);
		}
		/* --target aims the invocation that names it; one without
		 * aims at the whole DAG again. */
		v = jdoc_get(d, o, "targets");
		for (k = 0; k < rs->n; k++)	/* but dropped instances */
			rs->s[k].selected = !rs->s[k].hidden && (v == JNONE ||
			    d->n[v].kind != J_ARR);
		if (v != JNONE && d->n[v].kind == J_ARR) {
			for (k = v + 1; k < d->n[v].end; k = d->n[k].end) {
				int64_t t;

				if (d->n[k].kind != J_STR || d->n[k].esc)
					continue;
				t = dag_find(g, d->buf + d->n[k].off + 1,
				    d->n[k].len - 2);
				if (t >= 0)
					rs->s[t].selected = 1;
			}
		}
	} else if (strcmp(ev, "run_finished") == 0) {
		if ((st = get_status(d, o, "status", 1)) >= 0)
			rs->status = (uint8_t)st;
		rs->finished = ts;
	} else if (strcmp(ev, "run_paused") == 0)
		rs->paused = 1;
	else if (strcmp(ev, "run_unpaused") == 0)
		rs->paused = 0;
}

int
journal_apply(const char *line, size_t len, struct dag *g,
    struct runstate *rs)
{
	struct jdoc d;
	struct diag dg;
	uint32_t v;
	char ev[32];
	int64_t idx, ts;
	int ok = 0;

	diag_init(&dg, "events.jsonl");
	if (jdoc_parse(&d, line, len, &dg) == -1 || d.n[0].kind != J_OBJ)
		goto out;
	v = jdoc_get(&d, 0, "event");
	if (v == JNONE || d.n[v].kind != J_STR || d.n[v].len - 2 >= sizeof(ev))
		goto out;
	memcpy(ev, d.buf + d.n[v].off + 1, d.n[v].len - 2);
	ev[d.n[v].len - 2] = '\0';
	ts = get_ts(&d, 0);
	if (ts > rs->last_event)
		rs->last_event = ts;
	ok = 1;
	if (strncmp(ev, "run_", 4) == 0) {
		apply_run(&d, 0, ev, g, rs, ts);
		goto out;
	}
	v = jdoc_get(&d, 0, "step");
	if (v == JNONE || d.n[v].kind != J_STR || d.n[v].esc)
		goto out;
	idx = dag_find(g, d.buf + d.n[v].off + 1, d.n[v].len - 2);
	/* A dag-step after an external run's last word opens it again (its
	 * readers work its status out anew: dag-step does not). */
	if (rs->external && rs->status != RUN_RUNNING &&
	    (strcmp(ev, "step_started") == 0 || strcmp(ev, "step_reset") == 0))
		rs->status = RUN_RUNNING;
	if (idx >= 0 && strcmp(ev, "step_expanded") == 0)
		foreach_replay(g, rs, (uint32_t)idx, &d, 0);
	else if (idx >= 0)
		apply_step(&d, 0, ev, &rs->s[idx], ts);
out:
	jdoc_release(&d);
	diag_release(&dg);
	return ok;
}

int
journal_load(int dirfd, struct dag *g, struct runstate *rs)
{
	size_t len;
	char *text;

	if ((text = rundir_read(dirfd, "events.jsonl", &len)) == NULL)
		return errno == ENOENT ? 0 : -1;
	(void)journal_replay(text, len, g, rs);
	free(text);
	return 0;
}

size_t
journal_replay(const char *text, size_t len, struct dag *g,
    struct runstate *rs)
{
	const char *p = text, *end = text + len, *nl;
	size_t n = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n += (size_t)journal_apply(p, (size_t)(nl - p), g, rs);
		p = nl + 1;
	}
	return n;
}
