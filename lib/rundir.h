#ifndef RUNDIR_H
#define RUNDIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct diag;
struct stat;

/* A run directory, open.  dfd and sdfd are O_PATH-free directory fds. */
struct rundir {
	char	*path;		/* as given or built: <runs>/<id> */
	char	*runs;		/* the runs directory, or NULL (--run-dir) */
	char	*id;
	int	 dfd;		/* the run directory */
	int	 sdfd;		/* its steps/ subdirectory */
	int	 lockfd;	/* lock, held while this process works on it */
};

/* Runs directory from --runs, $DAG_RUNS or ".dag/runs" (borrowed). */
const char *rundir_runs(const char *opt);
/* name with every byte outside [A-Za-z0-9_.-] as '_', not starting with
 * '.' or '-', at most 63 bytes: safe as a file name.  malloc'd. */
char	*rundir_clean_name(const char *name);
/* A new run id: YYYYMMDDTHHMMSSZ-<name>-<4 hex>, malloc'd. */
char	*rundir_new_id(const char *dag_name);
/* 0 if id can name a run directory: printable UTF-8, no '/', not . or
 * .., latest, or a name ending in .lock; -1 if not. */
int	 rundir_id_ok(const char *id);
/*
 * Creates <runs>/<id> (or dir itself when runs is NULL), steps/, takes the
 * lock exclusively and writes our pid into it.  Returns 0, or -1 with a
 * diagnostic; *locked set when the lock was held by someone else.
 */
int	 rundir_create(struct rundir *, const char *runs, const char *dir,
	    const char *id, struct diag *);
/*
 * Opens an existing run directory and takes its lock: exclusive for a
 * dag-run, shared for a dag-step (several may work on one run at once).
 * Returns 0, -1 on error, -2 when the lock is held (exit 75).
 */
int	 rundir_open(struct rundir *, const char *dir, int shared,
	    struct diag *);
void	 rundir_close(struct rundir *);
/* Points <runs>/latest at this run (symlink swapped by rename). */
int	 rundir_latest(struct rundir *, struct diag *);
/* Writes data to name in dirfd atomically (temp file, then rename). */
int	 rundir_replace(int dirfd, const char *name, const void *data,
	    size_t len);
/*
 * rundir_replace in pieces: the temporary file beside name (its name to
 * tmp), an fd to write; then commit closes it (unless fd is -1: closed
 * already) and renames it over name if ok, or removes it.  -1 with errno
 * on failure.
 */
#define RUNDIR_TMP	300
int	 rundir_tmp_open(int dirfd, const char *name, char tmp[RUNDIR_TMP]);
int	 rundir_tmp_commit(int dirfd, int fd, const char *tmp,
	    const char *name, int ok);
/*
 * The same for a file written as it is made (dag.json, run.json): a
 * stream on the temporary file, or NULL with errno; rundir_stream_end
 * checks every write, closes it and renames it over name (0), or removes
 * it (-1 with errno).
 */
FILE	*rundir_stream(int dirfd, const char *name, char tmp[RUNDIR_TMP]);
int	 rundir_stream_end(int dirfd, FILE *, const char *tmp,
	    const char *name);
/* mkdir -p: 0, or -1 with errno. */
int	 rundir_mkdirs(const char *path);
/* mkdir steps/<id> (EEXIST is fine). */
int	 rundir_step_dir(struct rundir *, const char *id);
/*
 * The file name of --lock's lock for a DAG named dag: the name with each
 * byte outside [A-Za-z0-9_.-] (and a leading . or -) written %XX, so two
 * DAGs never share a lock; a name that gets longer than 200 bytes so is
 * its first 40 safe bytes, '~' and a 64-bit hash of it.  Ends in .lock;
 * malloc'd.
 */
char	*rundir_lock_name(const char *dag);
/*
 * --lock: takes <runs>/<rundir_lock_name(dag)> for a
 * DAG named dag, waiting up to wait seconds.  Returns the fd, held until
 * exit, or -1 with a diagnostic, or -2 when another run holds it.
 */
int	 rundir_cron_lock(const char *runs, const char *dag, double wait,
	    struct diag *);
/* 1 if somebody holds the run's lock, 0 if not, -1 if unknown. */
int	 rundir_lock_held(const char *dir);
/*
 * Opens a file of a run directory (relative to dirfd, or a path with
 * AT_FDCWD) with flags, O_CLOEXEC and, when it creates, mode 0666; only a
 * regular file, for writing never through a symlink, and without
 * waiting: a FIFO or a device a step left in the place of a file must
 * not hang dagkit or have it write elsewhere.  The fd (blocking) or -1 with errno (EINVAL
 * for a file that is not regular).
 */
int	 rundir_open_file(int dirfd, const char *name, int flags);
/* strerror, but for rundir_open_file's EINVAL: "not a regular file". */
const char *rundir_strerror(int e);
/* Reads a whole file relative to dirfd; NULL if absent.  malloc'd. */
char	*rundir_read(int dirfd, const char *name, size_t *len);
/* rundir_read, also giving the file's fstat in *st (zeroed if it fails).
 * Only a regular file is read (opened O_NONBLOCK: a FIFO does not hang
 * it); anything else fails with EISDIR or EINVAL. */
char	*rundir_read_stat(int dirfd, const char *name, size_t *len,
	    struct stat *st);

/* The first size - 1 bytes of a regular file into buf, NUL-ended; how
 * many (0 if there is no such file). */
size_t	 rundir_peek(int dirfd, const char *name, char *buf, size_t size);

#endif
