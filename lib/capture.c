/*
 * Capture and relay of steps' output.  The pipes block: the loop reads
 * once per POLLIN, 64 KiB at a time, so a step printing gigabytes streams
 * through a fixed buffer.  A pipe that only hung up (the usual end of a
 * silent step) is closed without a read.  Read ends are closed after the
 * next steps start, not before, so a freed fd number is not reused by a
 * pipe2 in the same turn of the loop.  A capture file that cannot be
 * created or written is remembered (capset.error) for the runner to tell
 * and to stop the run on: the step's output would be lost.
 *
 * Rules: this file never sees a DAG (no dag.h: a capture knows an id and
 * an attempt number), and writes to stderr only the lines it relays.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "capture.h"
#include "journal.h"
#include "progress.h"
#include "rundir.h"
#include "strbuf.h"
#include "xalloc.h"

/* -v: a line longer than this goes out in pieces. */
#define VLINE_MAX	65536
/* Attempts drained together at most (the runner reaps in batches). */
#define DRAIN_MAX	64

void
capset_init(struct capset *cs, int sdfd, int verbose, struct progress *pg)
{
	memset(cs, 0, sizeof(*cs));
	cs->sdfd = sdfd;
	cs->verbose = verbose;
	cs->pg = pg;
}

void
capset_release(struct capset *cs)
{
	uint32_t k;

	capset_close_queued(cs);
	for (k = 0; k < cs->nspare; k++) {
		close(cs->spare[k][0][0]);
		close(cs->spare[k][0][1]);
		close(cs->spare[k][1][0]);
		close(cs->spare[k][1][1]);
	}
	free(cs->closeq);
	free(cs->live);
	free(cs->who);
	free(cs->which);
	free(cs->errpath);
	memset(cs, 0, sizeof(*cs));
}

void
capture_init(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->rd[0] = c->rd[1] = c->wend[0] = c->wend[1] = -1;
	c->file[0] = c->file[1] = -1;
}

static int
pair(int p[2][2])
{
	if (pipe2(p[0], O_CLOEXEC) == -1)
		return -1;
	if (pipe2(p[1], O_CLOEXEC) == -1) {
		close(p[0][0]);
		close(p[0][1]);
		p[0][0] = p[0][1] = -1;
		return -1;
	}
	return 0;
}

int
capset_pipes(struct capset *cs, int p[2][2])
{
	if (cs->nspare > 0) {
		memcpy(p, cs->spare[--cs->nspare], sizeof(cs->spare[0]));
		return 0;
	}
	return pair(p);
}

/*
 * One spare pair per running step (each may free its slot next), within
 * the fds the slots leave.  Failing is harmless: capset_pipes makes them
 * then, and reports the error.
 */
void
capset_fill_spares(struct capset *cs, uint32_t running, uint32_t room)
{
	uint32_t want = running < PIPE_SPARE ? running : PIPE_SPARE;

	if (room < running || (room - running) * 6 / 4 < want)
		return;
	while (cs->nspare < want && pair(cs->spare[cs->nspare]) == 0)
		cs->nspare++;
}

static void
close_later(struct capset *cs, int fd)
{
	if (cs->ncloseq == cs->capcloseq) {
		cs->capcloseq = cs->capcloseq ? 2 * cs->capcloseq : 16;
		cs->closeq = xreallocarray(cs->closeq, cs->capcloseq,
		    sizeof(*cs->closeq));
	}
	cs->closeq[cs->ncloseq++] = fd;
}

void
capset_close_queued(struct capset *cs)
{
	size_t k;

	for (k = 0; k < cs->ncloseq; k++)
		close(cs->closeq[k]);
	cs->ncloseq = 0;
}

void
capset_attach(struct capset *cs, struct capture *c, int p[2][2],
    const char *id, uint32_t attempt, int launcher)
{
	int k;

	capture_init(c);
	c->id = id;
	c->attempt = attempt;
	c->launcher = (uint8_t)launcher;
	for (k = 0; k < 2; k++) {
		c->rd[k] = p[k][0];
		c->wend[k] = p[k][1];
		p[k][0] = p[k][1] = -1;
	}
	if (cs->nlive == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 16;
		cs->live = xreallocarray(cs->live, cs->cap, sizeof(*cs->live));
	}
	c->pos = cs->nlive;
	cs->live[cs->nlive++] = c;
}

/* Creates steps/<id>/<n>.<ext> (and the directory) on first output. */
static int
open_file(struct capset *cs, const struct capture *c, const char *ext,
    int flags)
{
	char name[64];
	int dfd, fd;

	dfd = openat(cs->sdfd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 && errno == ENOENT && (mkdirat(cs->sdfd, c->id, 0777) ==
	    0 || errno == EEXIST))
		dfd = openat(cs->sdfd, c->id, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	if (dfd == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%u.%s", c->attempt, ext);
	fd = rundir_open_file(dfd, name, O_WRONLY | O_CREAT | flags);
	close(dfd);
	return fd;
}

void
capset_note(struct capset *cs, const char *id, uint32_t attempt,
    const char *msg)
{
	struct capture c;
	int fd;

	capture_init(&c);
	c.id = id;
	c.attempt = attempt;
	if ((fd = open_file(cs, &c, "stderr", O_APPEND)) == -1)
		return;
	(void)!write(fd, msg, strlen(msg));
	close(fd);
}

/* The first capture that failed, for the runner to tell. */
static void
failed(struct capset *cs, struct capture *c, const char *ext)
{
	if (!c->failed && cs->error == 0) {
		cs->error = errno != 0 ? errno : EIO;
		free(cs->errpath);
		cs->errpath = xasprintf("steps/%s/%u.%s", c->id, c->attempt,
		    ext);
	}
	c->failed = 1;
}

/*
 * -v: what the step wrote on stream which goes to stderr by whole lines,
 * each prefixed "[id] ", so the lines of steps running together do not
 * mix; an unfinished line waits for its end, 64 KiB at most (a longer
 * line goes out in pieces); at EOF a newline is added.  O(n).
 */
static void
relay_lines(struct capset *cs, struct capture *c, int which, const char *buf,
    size_t n, int eof)
{
	struct strbuf out = STRBUF_INIT, *part;
	size_t off = 0, left, k;
	const char *nl;

	if (c->vpart == NULL) {
		if (n == 0)
			return;
		c->vpart = xcalloc(2, sizeof(*c->vpart));
	}
	part = &c->vpart[which];
	if (n > 0)
		strbuf_add(part, buf, n);
	while ((left = part->len - off) > 0) {
		nl = memchr(part->buf + off, '\n', left < VLINE_MAX ? left :
		    VLINE_MAX);
		if (nl != NULL)
			k = (size_t)(nl - (part->buf + off)) + 1;
		else if (left >= VLINE_MAX || eof)
			k = left < VLINE_MAX ? left : VLINE_MAX;
		else
			break;
		strbuf_addf(&out, "[%s] ", c->id);
		strbuf_add(&out, part->buf + off, k);
		if (nl == NULL)
			strbuf_addc(&out, '\n');
		off += k;
	}
	if (off > 0) {
		memmove(part->buf, part->buf + off, part->len - off);
		part->len -= off;
		part->buf[part->len] = '\0';
	}
	if (out.len > 0) {
		progress_done(cs->pg);
		(void)!write(STDERR_FILENO, out.buf, out.len);
	}
	strbuf_release(&out);
}

/* Closes one stream; the capture leaves the live list with its last. */
static void
stream_close(struct capset *cs, struct capture *c, int which)
{
	struct capture *last;

	if (c->vpart != NULL) {
		relay_lines(cs, c, which, NULL, 0, 1);
		strbuf_release(&c->vpart[which]);
	}
	close_later(cs, c->rd[which]);
	if (c->file[which] != -1)
		close_later(cs, c->file[which]);
	c->rd[which] = c->file[which] = -1;
	if (c->rd[!which] != -1)
		return;
	free(c->vpart);
	c->vpart = NULL;
	last = cs->live[--cs->nlive];
	cs->live[c->pos] = last;
	last->pos = c->pos;
}

/* Copies what the step wrote: to its file, and to stderr with -v. */
static void
stream_read(struct capset *cs, struct capture *c, int which)
{
	static const char *const ext[2] = { "stdout", "stderr" };
	char buf[65536];
	ssize_t n;

	n = read(c->rd[which], buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			stream_close(cs, c, which);
		return;
	}
	/* Under the slurm launcher the task's streams go to the capture
	 * files through srun -o/-e; what srun itself says goes here. */
	if (c->file[which] == -1 && !c->failed && (c->file[which] =
	    open_file(cs, c, c->launcher ? "launcher" : ext[which],
	    c->launcher ? O_APPEND : O_TRUNC)) == -1)
		failed(cs, c, c->launcher ? "launcher" : ext[which]);
	if (c->file[which] != -1 && journal_write_all(c->file[which], buf,
	    (size_t)n) == -1)
		failed(cs, c, ext[which]);
	if (cs->verbose)
		relay_lines(cs, c, which, buf, (size_t)n, 0);
}

size_t
capset_poll(struct capset *cs, struct pollfd *pfd)
{
	uint32_t k;
	int w;

	if (2 * (size_t)cs->nlive > cs->capwho) {
		cs->capwho = 4 * (size_t)cs->nlive;
		cs->who = xreallocarray(cs->who, cs->capwho, sizeof(*cs->who));
		cs->which = xreallocarray(cs->which, cs->capwho,
		    sizeof(*cs->which));
	}
	cs->nwho = 0;
	for (k = 0; k < cs->nlive; k++)
		for (w = 0; w < 2; w++)
			if (cs->live[k]->rd[w] != -1) {
				pfd[cs->nwho] = (struct pollfd){
				    cs->live[k]->rd[w], POLLIN, 0 };
				cs->which[cs->nwho] = (uint8_t)w;
				cs->who[cs->nwho++] = cs->live[k];
			}
	return cs->nwho;
}

void
capset_polled(struct capset *cs, const struct pollfd *pfd)
{
	struct capture *c;
	size_t k;
	int w;

	for (k = 0; k < cs->nwho; k++) {
		c = cs->who[k];
		w = cs->which[k];
		if (c->rd[w] != pfd[k].fd)
			continue;
		if (pfd[k].revents & POLLIN)
			stream_read(cs, c, w);
		else if (pfd[k].revents & (POLLHUP | POLLERR | POLLNVAL))
			stream_close(cs, c, w);
	}
}

void
capset_drain(struct capset *cs, struct capture *const *v, size_t n)
{
	struct pollfd p[2 * DRAIN_MAX];
	struct capture *who[2 * DRAIN_MAX];
	uint8_t which[2 * DRAIN_MAX];
	size_t k, np = 0;
	int w;

	for (k = 0; k < n; k++)
		for (w = 0; w < 2; w++) {
			if (v[k]->wend[w] != -1) {
				close(v[k]->wend[w]);
				v[k]->wend[w] = -1;
			}
			if (v[k]->rd[w] != -1 && k < DRAIN_MAX) {
				p[np] = (struct pollfd){ v[k]->rd[w], POLLIN,
				    0 };
				which[np] = (uint8_t)w;
				who[np++] = v[k];
			}
		}
	if (np == 0 || poll(p, (nfds_t)np, 0) == -1)
		np = 0;
	for (k = 0; k < np; k++)
		while ((p[k].revents & POLLIN) && who[k]->rd[which[k]] != -1) {
			stream_read(cs, who[k], which[k]);
			if (who[k]->rd[which[k]] == -1 ||
			    poll(&p[k], 1, 0) <= 0)
				break;
		}
	for (k = 0; k < n; k++)
		for (w = 0; w < 2; w++)
			if (v[k]->rd[w] != -1)
				stream_close(cs, v[k], w);
}
