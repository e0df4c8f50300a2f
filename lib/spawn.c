/*
 * Starting one process of a step.  posix_spawn (glibc: clone(CLONE_VFORK)
 * and exec, no copy of our page tables) in its own process group, with
 * stdin/stdout/stderr from file actions and the signal mask the child
 * should have.  Two costs are removed here because they repeat per step:
 * the shell (a "run" string with no shell syntax is exec'd directly, the
 * way make does it) and the PATH search (cached per program name).
 */
#include "compat.h"

#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "xalloc.h"

void
envv_from(struct envv *e, char *const *base, const char *const *drop)
{
	size_t i, k;

	memset(e, 0, sizeof(*e));
	for (i = 0; base != NULL && base[i] != NULL; i++)
		;
	e->cap = i + 16;
	e->v = xcalloc(e->cap, sizeof(*e->v));
	for (i = 0; base != NULL && base[i] != NULL; i++) {
		for (k = 0; drop != NULL && drop[k] != NULL; k++) {
			size_t n = strlen(drop[k]);

			if (strncmp(base[i], drop[k], n) == 0 &&
			    base[i][n] == '=')
				break;
		}
		if (drop == NULL || drop[k] == NULL)
			e->v[e->n++] = base[i];
	}
	e->v[e->n] = NULL;
}

void
envv_copy(struct envv *e, const struct envv *base)
{
	memset(e, 0, sizeof(*e));
	e->cap = base->n + 16;
	e->v = xcalloc(e->cap, sizeof(*e->v));
	memcpy(e->v, base->v, base->n * sizeof(*e->v));
	e->n = e->base = base->n;
	e->v[e->n] = NULL;
}

/* Puts "KEY=..." (klen: length of KEY) from entry from on: replaces or
 * appends.  s is not copied. */
static void
put_from(struct envv *e, size_t from, const char *s, size_t klen)
{
	size_t i;

	for (i = from; i < e->n; i++)
		if (strncmp(e->v[i], s, klen + 1) == 0) {
			e->v[i] = (char *)s;
			return;
		}
	if (e->n + 2 > e->cap) {
		e->cap *= 2;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	e->v[e->n++] = (char *)s;
	e->v[e->n] = NULL;
}

static void
own(struct envv *e, char *s)
{
	if (e->nown == e->capown) {
		e->capown = e->capown ? 2 * e->capown : 8;
		e->own = xreallocarray(e->own, e->capown, sizeof(*e->own));
	}
	e->own[e->nown++] = s;
}

void
envv_put_added(struct envv *e, const char *kv, int owned)
{
	const char *eq = strchr(kv, '=');

	if (owned)
		own(e, (char *)kv);
	put_from(e, e->base, kv, eq != NULL ? (size_t)(eq - kv) :
	    strlen(kv));
}

void
envv_set(struct envv *e, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	char *s = xmalloc(klen + vlen + 2);

	memcpy(s, key, klen);
	s[klen] = '=';
	memcpy(s + klen + 1, val, vlen);
	s[klen + 1 + vlen] = '\0';
	own(e, s);
	put_from(e, 0, s, klen);
}

const char *
envv_get(const struct envv *e, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, n) == 0 && e->v[i][n] == '=')
			return e->v[i] + n + 1;
	return NULL;
}

void
envv_release(struct envv *e)
{
	size_t i;

	for (i = 0; i < e->nown; i++)
		free(e->own[i]);
	free(e->own);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/*
 * Words whose meaning in sh differs from (or does not exist as) a program
 * of the same name.  "true" and "false" are absent on purpose: the
 * programs behave exactly like the builtins.  Sorted (strcmp): searched
 * with bsearch.
 */
static const char *const sh_words[] = { "!", ".", ":", "[", "alias", "bg",
    "break", "case", "cd", "command", "continue", "do", "done", "echo",
    "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg",
    "fi", "for", "function", "getopts", "hash", "if", "in", "jobs", "kill",
    "local", "printf", "pwd", "read", "readonly", "return", "select", "set",
    "shift", "test", "then", "time", "times", "trap", "type", "typeset",
    "ulimit", "umask", "unalias", "unset", "until", "wait", "while", NULL };

static int
cmp_word(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char **
shell_split(const char *cmd)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = cmd, *w;

	/* Anything the shell would interpret sends the command to it. */
	if (strpbrk(cmd, "\"'`$\\;&|<>(){}[]*?~#=%!\n\r") != NULL)
		return NULL;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && *p != ' ' && *p != '\t'; p++)
			;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrndup(w, (size_t)(p - w));
	}
	if (n == 0)
		return NULL;
	v[n] = NULL;
	if (bsearch(&v[0], sh_words, sizeof(sh_words) / sizeof(*sh_words) -
	    1, sizeof(*sh_words), cmp_word) != NULL) {
		argv_free(v);
		return NULL;
	}
	return v;
}

void
argv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* name -> resolved path, for the PATH dag-run itself was started with. */
static struct cache {
	char	*name;
	char	*path;		/* NULL: not found */
} *cache;
static size_t ncache;
static char *cache_for;		/* the PATH the cache is valid for */

static char *
search(const char *name, const char *path)
{
	const char *p = path, *colon;
	char *cand;

	if (path == NULL)
		path = p = "/usr/local/bin:/usr/bin:/bin";
	for (;;) {
		colon = strchr(p, ':');
		if (colon == p || *p == '\0')
			cand = xasprintf("./%s", name);
		else
			cand = xasprintf("%.*s/%s", colon ? (int)(colon - p) :
			    (int)strlen(p), p, name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (colon == NULL)
			return NULL;
		p = colon + 1;
	}
}

const char *
spawn_resolve(const char *name, const char *path)
{
	size_t i;
	char *found;

	if (strchr(name, '/') != NULL)
		return name;	/* the caller checks it against the cwd */
	if (cache_for == NULL || path == NULL || strcmp(cache_for, path) != 0) {
		spawn_cache_free();
		cache_for = xstrdup(path != NULL ? path : "");
	}
	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].path;
	found = search(name, path);
	cache = xreallocarray(cache, ncache + 1, sizeof(*cache));
	cache[ncache].name = xstrdup(name);
	cache[ncache].path = found;
	return cache[ncache++].path;
}

/*
 * The file actions and attributes of recent spawns, keyed by the fds and
 * the mask they name.  Building them costs six getrlimit calls (glibc
 * checks both fds of every dup2), and a runner's fds come back with the
 * same numbers step after step, so most spawns reuse one.
 */
#define NSETUP	4
static struct setup {
	int				 used;
	int				 in, out, err, cwd;
	sigset_t			 mask;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
} setups[NSETUP];
static unsigned next_setup;

static void
setup_destroy(struct setup *u)
{
	posix_spawnattr_destroy(&u->at);
	posix_spawn_file_actions_destroy(&u->fa);
}

/*
 * The signals the child resets to SIG_DFL: every one we do not ignore,
 * and SIGPIPE, which we ignore for ourselves only.  An ignored signal
 * stays ignored across exec, as under make or a shell.  This is what
 * glibc's child does anyway for a signal left out of the set, but there
 * it first asks for the disposition: naming them all here halves the
 * ~120 sigaction calls each child makes before exec, while the parent
 * waits (CLONE_VFORK).  Dispositions are read once: dag-run sets them
 * before its first spawn and never after.
 */
static const sigset_t *
default_set(void)
{
	static sigset_t def;
	static int done;
	struct sigaction sa;
	int sig;

	if (done)
		return &def;
	sigemptyset(&def);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sig != SIGPIPE && (sigaction(sig, NULL, &sa) == -1 ||
		    sa.sa_handler == SIG_IGN))
			continue;	/* invalid, glibc's own, or ignored */
		(void)sigaddset(&def, sig);
	}
	done = 1;
	return &def;
}

static int
setup_build(struct setup *u, const struct spawn_req *r)
{
	int e;

	if ((e = posix_spawn_file_actions_init(&u->fa)) != 0)
		return e;
	if ((e = posix_spawnattr_init(&u->at)) != 0) {
		posix_spawn_file_actions_destroy(&u->fa);
		return e;
	}
	if ((e = posix_spawn_file_actions_adddup2(&u->fa, r->in, 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&u->fa, r->out, 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&u->fa, r->err, 2)) != 0 ||
	    (r->cwd != -1 &&
	    (e = posix_spawn_file_actions_addfchdir_np(&u->fa, r->cwd)) != 0) ||
	    (e = posix_spawnattr_setflags(&u->at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (e = posix_spawnattr_setpgroup(&u->at, 0)) != 0 ||
	    (e = posix_spawnattr_setsigmask(&u->at, r->mask)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&u->at, default_set())) != 0) {
		setup_destroy(u);
		return e;
	}
	u->in = r->in;
	u->out = r->out;
	u->err = r->err;
	u->cwd = r->cwd;
	u->mask = *r->mask;
	return 0;
}

static struct setup *
setup_for(const struct spawn_req *r, int *err)
{
	struct setup *u, *free_one = NULL;
	unsigned k;

	for (k = 0; k < NSETUP; k++) {
		u = &setups[k];
		if (!u->used) {
			if (free_one == NULL)
				free_one = u;
		} else if (u->in == r->in && u->out == r->out &&
		    u->err == r->err && u->cwd == r->cwd &&
		    memcmp(&u->mask, r->mask, sizeof(u->mask)) == 0)
			return u;
	}
	if ((u = free_one) == NULL) {
		u = &setups[next_setup];
		next_setup = (next_setup + 1) % NSETUP;
		setup_destroy(u);
		u->used = 0;
	}
	if ((*err = setup_build(u, r)) != 0)
		return NULL;
	u->used = 1;
	return u;
}

int
spawn_start(const struct spawn_req *r, pid_t *pid)
{
	struct setup *u;
	int e;

	if ((u = setup_for(r, &e)) == NULL)
		return e;
	return posix_spawn(pid, r->file, &u->fa, &u->at, r->argv, r->envp);
}

void
spawn_cache_free(void)
{
	size_t i;

	for (i = 0; i < ncache; i++) {
		free(cache[i].name);
		free(cache[i].path);
	}
	free(cache);
	cache = NULL;
	ncache = 0;
	free(cache_for);
	cache_for = NULL;
	for (i = 0; i < NSETUP; i++)
		if (setups[i].used) {
			setup_destroy(&setups[i]);
			setups[i].used = 0;
		}
	next_setup = 0;
}

int
spawn_errno_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}
