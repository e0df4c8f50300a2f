#ifndef SPAWN_H
#define SPAWN_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* An environment under construction: pointers, some of them owned. */
struct envv {
	char	**v;		/* NULL-terminated */
	size_t	  n, cap;
	size_t	  base;		/* entries copied from a base envv */
	char	**own;		/* strings to free */
	size_t	  nown, capown;
};

void	 envv_from(struct envv *, char *const *base, const char *const *drop);
void	 envv_copy(struct envv *, const struct envv *base);
/* Sets KEY=VALUE, replacing an earlier KEY. */
void	 envv_set(struct envv *, const char *key, size_t klen,
	    const char *val, size_t vlen);
/* Puts a ready "KEY=VALUE", replacing only entries added since envv_copy:
 * for variables the base cannot hold (envv_from dropped them).  owned:
 * freed with the envv, else it must outlive it. */
void	 envv_put_added(struct envv *, const char *kv, int owned);
const char *envv_get(const struct envv *, const char *key);
void	 envv_release(struct envv *);

/*
 * Splits a "run" string into words when it has no shell syntax at all
 * (quotes, $, globs, redirections, ;, &, |, comments, ~, =, backslashes,
 * newlines) and does not start with a shell keyword or builtin whose
 * meaning differs from the program of the same name.  Then executing the
 * words directly behaves exactly as "sh -c" would, minus one process.
 * Returns a malloc'd NULL-terminated vector, or NULL: use the shell.
 */
char	**shell_split(const char *cmd);
void	 argv_free(char **);

/*
 * Finds name along path (a PATH value) like execvp; names with a '/' are
 * returned as they are.  Results for the caller's own PATH are cached, so a
 * DAG of 10,000 "true" steps searches PATH once.  Returns a string owned by
 * the cache (do not free), or NULL when not found.
 */
const char *spawn_resolve(const char *name, const char *path);
/* Frees that cache and spawn_start's. */
void	 spawn_cache_free(void);

struct spawn_req {
	const char	*file;		/* resolved program path */
	char *const	*argv;
	char *const	*envp;
	int		 in, out, err;	/* become fds 0, 1, 2 */
	int		 cwd;		/* directory fd, or -1 */
	const sigset_t	*mask;		/* the child's signal mask */
};

/*
 * posix_spawn in a new process group with the given mask, and every
 * signal at its default but those the process ignores (SIGPIPE, ignored
 * by dag-run for itself, is reset too).  Returns 0 and sets *pid, or an errno value (glibc reports exec
 * failures synchronously: ENOENT, EACCES, ENOEXEC...).  The file actions
 * and attributes of the last few distinct (in, out, err, cwd, mask) are
 * kept for reuse until spawn_cache_free.
 */
int	 spawn_start(const struct spawn_req *, pid_t *pid);
/* Exit status for a spawn errno, shell style: 127 not found, else 126. */
int	 spawn_errno_status(int err);

#endif
