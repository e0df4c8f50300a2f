/*
 * The run directory on disk (SPEC section 4): where runs live, how they are
 * named, the lock that says somebody is working on one, and the two ways
 * files change there: replaced whole (temp file + rename, so a reader or a
 * crash sees the old or the new version, never half) or appended a line at
 * a time (journal.c).  Everything is opened relative to directory fds.
 */
#include "compat.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "clock.h"
#include "diag.h"
#include "journal.h"
#include "procset.h"
#include "rundir.h"
#include "strbuf.h"
#include "xalloc.h"

const char *
rundir_runs(const char *opt)
{
	const char *e;

	if (opt != NULL)
		return opt;
	if ((e = getenv("DAG_RUNS")) != NULL && *e != '\0')
		return e;
	return ".dag/runs";
}

char *
rundir_clean_name(const char *name)
{
	char clean[64];
	size_t i, n = 0;

	for (i = 0; name[i] != '\0' && n < sizeof(clean) - 1; i++) {
		char c = name[i];

		clean[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == '-' ? c : '_';
	}
	clean[n] = '\0';
	if (n == 0 || clean[0] == '.' || clean[0] == '-') {
		if (n == 0)
			clean[1] = '\0';
		clean[0] = '_';
	}
	return xstrdup(clean);
}

char *
rundir_new_id(const char *name)
{
	char ts[32], *clean, *id;
	time_t t = (time_t)(clock_wall_ms() / 1000);
	struct tm tm;

	(void)gmtime_r(&t, &tm);
	(void)strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	clean = rundir_clean_name(name);
	id = xasprintf("%s-%s-%04x", ts, clean, arc4random() & 0xffff);
	free(clean);
	return id;
}

int
rundir_id_ok(const char *id)
{
	const char *p;

	if (*id == '\0' || id[0] == '.' || id[0] == '-' || strlen(id) > 200 ||
	    strcmp(id, "latest") == 0 || (strlen(id) > 5 &&
	    strcmp(id + strlen(id) - 5, ".lock") == 0))
		return -1;
	/* It lands in every journal line: UTF-8 text, nothing else. */
	for (p = id; *p != '\0'; p += strbuf_utf8_len((const unsigned char *)p,
	    strlen(p)))
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f ||
		    strbuf_utf8_len((const unsigned char *)p, strlen(p)) == 0)
			return -1;
	return 0;
}

int
rundir_mkdirs(const char *path)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = '/';
	}
	if (rc == 0 && mkdir(p, 0777) == -1 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

int
rundir_open_file(int dirfd, const char *name, int flags)
{
	struct stat st;
	int fd, e;

	/* Writes never follow a symlink: it would make us write elsewhere. */
	if ((fd = openat(dirfd, name, flags | O_NONBLOCK | O_CLOEXEC |
	    ((flags & O_ACCMODE) != O_RDONLY ? O_NOFOLLOW : 0), 0666)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		e = fstat(fd, &st) == -1 ? errno : S_ISDIR(st.st_mode) ?
		    EISDIR : EINVAL;
		close(fd);
		errno = e;
		return -1;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

const char *
rundir_strerror(int e)
{
	return e == EINVAL ? "not a regular file" : strerror(e);
}

static int
take_lock(struct rundir *rd, int shared, struct diag *d)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	char pid[32];
	int n, tries;

	rd->lockfd = rundir_open_file(rd->dfd, "lock", O_RDWR | O_CREAT);
	if (rd->lockfd == -1)
		return diag_sys(d, "open '%s/lock'", rd->path);
	/* The holder of the lock is who dag-run --cancel, --pause and
	 * --unpause signal: from now on the signals wait for the run's
	 * loop (procset.c reads them), however long the start takes. */
	if (!shared) {
		sigset_t set;

		procset_control_signals(&set);
		if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
			return diag_sys(d, "sigprocmask");
	}
	/* A reader's probe (rundir_lock_held) holds the lock for a few
	 * microseconds; a few short retries keep it from looking busy. */
	for (tries = 0; flock(rd->lockfd, (shared ? LOCK_SH : LOCK_EX) |
	    LOCK_NB) == -1; tries++) {
		if (errno != EWOULDBLOCK)
			return diag_sys(d, "flock '%s/lock'", rd->path);
		if (tries == 4)
			return -2;
		(void)nanosleep(&pause, NULL);
	}
	if (!shared) {
		n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (ftruncate(rd->lockfd, 0) == -1 ||
		    pwrite(rd->lockfd, pid, (size_t)n, 0) != n)
			return diag_sys(d, "write '%s/lock'", rd->path);
	}
	return 0;
}

static int
open_dirs(struct rundir *rd, struct diag *d)
{
	rd->dfd = open(rd->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rd->dfd == -1)
		return diag_sys(d, "open '%s'", rd->path);
	if (mkdirat(rd->dfd, "steps", 0777) == -1 && errno != EEXIST)
		return diag_sys(d, "mkdir '%s/steps'", rd->path);
	rd->sdfd = openat(rd->dfd, "steps", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (rd->sdfd == -1)
		return diag_sys(d, "open '%s/steps'", rd->path);
	return 0;
}

int
rundir_create(struct rundir *rd, const char *runs, const char *dir,
    const char *id, struct diag *d)
{
	char *real;
	int rc;

	memset(rd, 0, sizeof(*rd));
	rd->dfd = rd->sdfd = rd->lockfd = -1;
	rd->id = xstrdup(id);
	if (dir != NULL)
		rd->path = xstrdup(dir);
	else {
		rd->runs = xstrdup(runs);
		rd->path = xasprintf("%s/%s", runs, id);
		if (rundir_mkdirs(runs) == -1)
			return diag_sys(d, "mkdir '%s'", runs);
	}
	if (mkdir(rd->path, 0777) == -1) {
		if (errno == EEXIST)
			return diag_add(d, DIAG_ERROR, NULL, "run directory "
			    "'%s' already exists (use --resume to continue "
			    "it)", rd->path);
		return diag_sys(d, "mkdir '%s'", rd->path);
	}
	/* Steps get absolute paths: their cwd may differ from ours. */
	if ((real = realpath(rd->path, NULL)) != NULL) {
		free(rd->path);
		rd->path = real;
	}
	if (open_dirs(rd, d) == -1)
		return -1;
	if ((rc = take_lock(rd, 0, d)) == -2)
		return diag_add(d, DIAG_ERROR, NULL, "'%s' is locked by "
		    "another process", rd->path) - 1;
	return rc;
}

int
rundir_open(struct rundir *rd, const char *dir, int shared, struct diag *d)
{
	const char *slash;
	char *real;
	int rc;

	memset(rd, 0, sizeof(*rd));
	rd->dfd = rd->sdfd = rd->lockfd = -1;
	/* "latest" is a symlink: the run's name is where it points. */
	if ((real = realpath(dir, NULL)) == NULL)
		return diag_sys(d, "open '%s'", dir);
	rd->path = real;
	while (strlen(rd->path) > 1 && rd->path[strlen(rd->path) - 1] == '/')
		rd->path[strlen(rd->path) - 1] = '\0';
	slash = strrchr(rd->path, '/');
	rd->id = xstrdup(slash != NULL ? slash + 1 : rd->path);
	if (slash != NULL)
		rd->runs = xstrndup(rd->path, (size_t)(slash - rd->path));
	if (open_dirs(rd, d) == -1)
		return -1;
	if ((rc = take_lock(rd, shared, d)) == -2)
		return -2;
	return rc;
}

void
rundir_close(struct rundir *rd)
{
	if (rd->lockfd != -1)
		close(rd->lockfd);
	if (rd->sdfd != -1)
		close(rd->sdfd);
	if (rd->dfd != -1)
		close(rd->dfd);
	free(rd->path);
	free(rd->runs);
	free(rd->id);
	memset(rd, 0, sizeof(*rd));
	rd->dfd = rd->sdfd = rd->lockfd = -1;
}

int
rundir_latest(struct rundir *rd, struct diag *d)
{
	char *tmp, *link;
	int rc = 0;

	if (rd->runs == NULL)
		return 0;
	tmp = xasprintf("%s/.latest.%ld", rd->runs, (long)getpid());
	link = xasprintf("%s/latest", rd->runs);
	(void)unlink(tmp);
	if (symlink(rd->id, tmp) == -1 || rename(tmp, link) == -1) {
		rc = diag_sys(d, "symlink '%s'", link);
		(void)unlink(tmp);
	}
	free(tmp);
	free(link);
	return rc;
}

int
rundir_tmp_open(int dirfd, const char *name, char tmp[RUNDIR_TMP])
{
	if (snprintf(tmp, RUNDIR_TMP, ".%s.%ld.tmp", name, (long)getpid()) >=
	    RUNDIR_TMP) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return rundir_open_file(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC);
}

int
rundir_tmp_commit(int dirfd, int fd, const char *tmp, const char *name,
    int ok)
{
	int saved;

	if (ok && fd != -1) {
		ok = close(fd) == 0;
		fd = -1;	/* closed even when close failed */
	}
	if (ok && renameat(dirfd, tmp, dirfd, name) == 0)
		return 0;
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

FILE *
rundir_stream(int dirfd, const char *name, char tmp[RUNDIR_TMP])
{
	FILE *fp;
	int fd;

	if ((fd = rundir_tmp_open(dirfd, name, tmp)) == -1)
		return NULL;
	if ((fp = fdopen(fd, "w")) == NULL)
		(void)rundir_tmp_commit(dirfd, fd, tmp, name, 0);
	return fp;
}

int
rundir_stream_end(int dirfd, FILE *fp, const char *tmp, const char *name)
{
	int ok = fflush(fp) == 0 && !ferror(fp), e = errno;

	if (fclose(fp) != 0)
		ok = 0;
	else if (!ok)
		errno = e;
	return rundir_tmp_commit(dirfd, -1, tmp, name, ok);
}

int
rundir_replace(int dirfd, const char *name, const void *data, size_t len)
{
	char tmp[RUNDIR_TMP];
	int fd;

	if ((fd = rundir_tmp_open(dirfd, name, tmp)) == -1)
		return -1;
	return rundir_tmp_commit(dirfd, fd, tmp, name,
	    journal_write_all(fd, data, len) == 0);
}

int
rundir_step_dir(struct rundir *rd, const char *id)
{
	if (mkdirat(rd->sdfd, id, 0777) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
rundir_lock_held(const char *dir)
{
	char *p = xasprintf("%s/lock", dir);
	int fd, held;

	fd = rundir_open_file(AT_FDCWD, p, O_RDONLY);
	free(p);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	/* Shared: readers probing together must not see each other as the
	 * dag-run, which holds it exclusive. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		held = 0;
		(void)flock(fd, LOCK_UN);
	} else
		held = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	return held;
}

char *
rundir_read(int dirfd, const char *name, size_t *lenp)
{
	struct stat st;

	return rundir_read_stat(dirfd, name, lenp, &st);
}

char *
rundir_read_stat(int dirfd, const char *name, size_t *lenp, struct stat *st)
{
	struct strbuf sb = STRBUF_INIT;
	ssize_t n;
	int fd;

	memset(st, 0, sizeof(*st));
	if ((fd = rundir_open_file(dirfd, name, O_RDONLY)) == -1 ||
	    fstat(fd, st) == -1) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (st->st_size > 0)
		strbuf_grow(&sb, (size_t)st->st_size + 1);
	for (;;) {
		strbuf_grow(&sb, 65536);
		n = read(fd, sb.buf + sb.len, sb.cap - sb.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
	}
	close(fd);
	if (n == -1) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, lenp);
}

size_t
rundir_peek(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	if (size == 0 || (fd = rundir_open_file(dirfd, name, O_RDONLY)) == -1)
		return 0;
	while (got < size - 1 && ((n = read(fd, buf + got, size - 1 - got)) >
	    0 || (n == -1 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* Lock file names longer than this take the hashed form. */
#define LOCK_NAME_MAX	200

char *
rundir_lock_name(const char *dag)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf sb = STRBUF_INIT;
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	const unsigned char *p;
	char *clean;

	for (p = (const unsigned char *)dag; *p != '\0'; p++) {
		int safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
		    *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    ((*p == '.' || *p == '-') &&
		    p != (const unsigned char *)dag);

		if (safe)
			strbuf_addc(&sb, (char)*p);
		else {
			strbuf_addc(&sb, '%');
			strbuf_addc(&sb, hex[*p >> 4]);
			strbuf_addc(&sb, hex[*p & 15]);
		}
		h = (h ^ *p) * 0x100000001b3ULL;
	}
	if (sb.len > LOCK_NAME_MAX) {
		/* '~' never stands in an encoded name: no clash with one. */
		clean = rundir_clean_name(dag);
		clean[strlen(clean) > 40 ? 40 : strlen(clean)] = '\0';
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s~%016llx", clean, (unsigned long long)h);
		free(clean);
	}
	strbuf_adds(&sb, ".lock");
	return strbuf_detach(&sb, NULL);
}

int
rundir_cron_lock(const char *runs, const char *dag, double wait,
    struct diag *d)
{
	char *name = rundir_lock_name(dag);
	char *path = xasprintf("%s/%s", runs, name);
	int64_t until = clock_mono_ms() + (int64_t)llround(wait * 1000);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int fd, rc;

	free(name);
	(void)rundir_mkdirs(runs);
	if ((fd = rundir_open_file(AT_FDCWD, path, O_RDWR | O_CREAT)) == -1) {
		rc = diag_sys(d, "open '%s'", path);
		free(path);
		return rc;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK && clock_mono_ms() < until) {
			(void)nanosleep(&ts, NULL);
			continue;
		}
		if (errno == EWOULDBLOCK) {
			diag_add(d, DIAG_ERROR, NULL, "'%s' is locked: another "
			    "run of \"%s\" is in progress", path, dag);
			rc = -2;
		} else
			rc = diag_sys(d, "flock '%s'", path);
		close(fd);
		free(path);
		return rc;
	}
	free(path);
	return fd;
}
