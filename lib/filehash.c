/*
 * The cache's files: input patterns expanded to files (globs, directories
 * walked), and files hashed, or their hash taken from a record whose
 * stat(2) tuple still holds.  Interface: cacheint.h.
 */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "cache.h"
#include "cacheint.h"
#include "strbuf.h"
#include "xalloc.h"

/* A file changed less than this before it was hashed is read again. */
#define RACY_NS		(100 * 1000000LL)
/* Files hashed in one read(2). */
#define CHUNK		65536

/*
 * stat(2) results, kept while this process has started no command: then
 * nothing of ours can have changed a file, and the output of one step
 * that is the input of the next is looked up once.  Off for good once a
 * command starts.
 */
struct memo {
	char		*path;
	uint64_t	 h;
	struct timespec	 mtim, ctim;	/* of struct stat, what is read */
	off_t		 size;
	ino_t		 ino;
	dev_t		 dev, rdev;
	mode_t		 mode;
	nlink_t		 nlink;
};
static struct memo *memo;	/* in the order looked up */
static uint32_t *mtab;		/* open addressing: memo index + 1, 0 free */
static size_t mcap, mn, memocap;
static int memo_off;

/* The slot of path s (hash h) in mtab: its own, or the free one where it
 * would go. */
static size_t
memo_slot(const char *s, uint64_t h)
{
	size_t k;
	const struct memo *m;

	for (k = (size_t)h & (mcap - 1); mtab[k] != 0; k = (k + 1) & (mcap - 1)) {
		m = &memo[mtab[k] - 1];
		if (m->h == h && strcmp(m->path, s) == 0)
			break;
	}
	return k;
}

void
cache_stat_off(void)
{
	size_t k;


	for (k = 0; k < mn; k++)
		free(memo[k].path);
	free(memo);
	free(mtab);
	memo = NULL;
	mtab = NULL;
	mcap = mn = memocap = 0;
	memo_off = 1;
}

static void
memo_grow(void)
{
	size_t k;

	free(mtab);
	mcap = mcap ? mcap * 2 : 1024;
	mtab = xcalloc(mcap, sizeof(*mtab));
	for (k = 0; k < mn; k++)
		mtab[memo_slot(memo[k].path, memo[k].h)] = (uint32_t)k + 1;
}

int
cache_stat(const char *full, struct stat *sb)
{
	uint64_t h;
	struct memo *m;
	size_t k;

	if (memo_off)
		return stat(full, sb);
	h = XXH3_64bits(full, strlen(full));
	if (mcap > 0 && mtab[k = memo_slot(full, h)] != 0) {
		m = &memo[mtab[k] - 1];
		memset(sb, 0, sizeof(*sb));
		sb->st_mtim = m->mtim;
		sb->st_ctim = m->ctim;
		sb->st_size = m->size;
		sb->st_ino = m->ino;
		sb->st_dev = m->dev;
		sb->st_rdev = m->rdev;
		sb->st_mode = m->mode;
		sb->st_nlink = m->nlink;
		return 0;
	}
	if (stat(full, sb) == -1)
		return -1;
	if (mn >= UINT32_MAX - 1)
		return 0;
	if (2 * (mn + 1) > mcap)
		memo_grow();
	if (mn == memocap) {
		memocap = memocap ? memocap * 2 : 1024;
		memo = xreallocarray(memo, memocap, sizeof(*memo));
	}
	memo[mn] = (struct memo){ xstrdup(full), h, sb->st_mtim, sb->st_ctim,
	    sb->st_size, sb->st_ino, sb->st_dev, sb->st_rdev, sb->st_mode,
	    sb->st_nlink };
	mtab[memo_slot(full, h)] = (uint32_t)++mn;
	return 0;
}

int64_t
cache_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Hashes the content of fd into h: 0, or -1 (errno). */
static int
hash_fd(int fd, uint8_t h[16])
{
	XXH3_state_t st;
	char *buf = xmalloc(CHUNK);
	ssize_t n;

	(void)XXH3_128bits_reset(&st);
	while ((n = read(fd, buf, CHUNK)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		(void)XXH3_128bits_update(&st, buf, (size_t)n);
	}
	free(buf);
	XXH128_canonicalFromHash((XXH128_canonical_t *)(void *)h,
	    XXH3_128bits_digest(&st));
	return 0;
}

static int hash_tree(const char *, uint8_t [16]);

/* The content hash of the file at full, a directory's of its tree, a
 * special file's of its type and device (opening a FIFO would hang). */
static int
hash_content(const char *full, const struct stat *sb, uint8_t h[16])
{
	struct stat now;
	char tag[64];
	int fd, e;

	if (S_ISDIR(sb->st_mode))
		return hash_tree(full, h);
	if (S_ISLNK(sb->st_mode)) {
		char to[4096];
		ssize_t n = readlink(full, to, sizeof(to));

		if (n == -1)
			return -1;
		XXH128_canonicalFromHash((XXH128_canonical_t *)(void *)h,
		    XXH3_128bits(to, (size_t)n));
		return 0;
	}
	if (!S_ISREG(sb->st_mode)) {
		(void)snprintf(tag, sizeof(tag), "special %o %llu",
		    (unsigned)(sb->st_mode & S_IFMT),
		    (unsigned long long)sb->st_rdev);
		XXH128_canonicalFromHash((XXH128_canonical_t *)(void *)h,
		    XXH3_128bits(tag, strlen(tag)));
		return 0;
	}
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1)
		return -1;
	if (fstat(fd, &now) == -1 || !S_ISREG(now.st_mode) ||
	    hash_fd(fd, h) == -1) {
		e = errno;
		close(fd);
		errno = S_ISREG(now.st_mode) ? e : EAGAIN;
		return -1;
	}
	close(fd);
	return 0;
}

static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(struct cache_flist *, const char *, const char *, int);

/* A directory: its files' names and contents, in name order. */
static int
hash_tree(const char *full, uint8_t h[16])
{
	struct cache_flist l = { NULL, NULL, NULL, 0, 0 };
	XXH3_state_t st;
	uint8_t fh[16];
	uint32_t mode;
	size_t k, *ix;
	char **pair;
	int rc = 0;

	walk(&l, "", full, 0);
	/* Sort name-and-path pairs by name: both arrays go together. */
	pair = xcalloc(l.n + 1, sizeof(*pair));
	ix = xcalloc(l.n + 1, sizeof(*ix));
	for (k = 0; k < l.n; k++)
		pair[k] = xasprintf("%s%c%zu", l.name[k], '\0', k);
	qsort(pair, l.n, sizeof(*pair), by_str);
	(void)XXH3_128bits_reset(&st);
	for (k = 0; k < l.n && rc == 0; k++) {
		ix[k] = (size_t)strtoull(pair[k] + strlen(pair[k]) + 1, NULL,
		    10);
		(void)XXH3_128bits_update(&st, l.name[ix[k]],
		    strlen(l.name[ix[k]]) + 1);
		if (l.st[ix[k]].st_nlink == 0)
			rc = -1;	/* gone while we looked */
		else if (S_ISDIR(l.st[ix[k]].st_mode))
			continue;	/* its name is what counts */
		else if (hash_content(l.full[ix[k]], &l.st[ix[k]], fh) == -1)
			rc = -1;
		else
			(void)XXH3_128bits_update(&st, fh, 16);
		mode = (uint32_t)l.st[ix[k]].st_mode & (S_IFMT | 0111);
		(void)XXH3_128bits_update(&st, &mode, sizeof(mode));
	}
	for (k = 0; k < l.n; k++) {
		free(pair[k]);
		free(l.name[k]);
		free(l.full[k]);
	}
	free(pair);
	free(ix);
	free(l.name);
	free(l.full);
	free(l.st);
	XXH128_canonicalFromHash((XXH128_canonical_t *)(void *)h,
	    XXH3_128bits_digest(&st));
	return rc;
}

/*
 * f->path's file at full: its stat tuple and hash, the hash taken from old
 * (the same path's record) when the tuple is the same and old was hashed
 * well after the file last changed (never for a directory, whose times do
 * not follow its files').  0, 1 when it was read (a refresh is worth
 * recording), -1 (errno) when it cannot be stat'ed or read.
 */
void
cache_stat_into(struct cache_file *f, const struct stat *sb)
{
	f->size = (uint64_t)sb->st_size;
	f->ino = (uint64_t)sb->st_ino;
	f->mtime = ns_of(&sb->st_mtim);
	f->ctime = ns_of(&sb->st_ctim);
	f->mode = (uint32_t)sb->st_mode;
	f->seen = 0;
	memset(f->h, 0, 16);
}

int
cache_same_stat(const struct cache_file *a, const struct cache_file *b)
{
	return a->size == b->size && a->ino == b->ino && a->mtime == b->mtime &&
	    a->ctime == b->ctime && a->mode == b->mode;
}

int
cache_hash_file(const char *full, struct cache_file *f,
    const struct cache_file *old, const struct stat *pre)
{
	struct stat sb;

	if (pre != NULL)
		sb = *pre;
	else if (cache_stat(full, &sb) == -1)
		return -1;
	cache_stat_into(f, &sb);
	if (old != NULL && !old->missing && !S_ISDIR(sb.st_mode) &&
	    cache_same_stat(old, f) && f->ctime < old->seen - RACY_NS) {
		memcpy(f->h, old->h, 16);
		f->seen = old->seen;
		return 0;
	}
	f->seen = cache_now_ns();
	if (hash_content(full, &sb, f->h) == -1)
		return -1;
	/* Unchanged but read again: worth recording, unless it is a tree,
	 * which is read every time anyway. */
	return S_ISDIR(sb.st_mode) && old != NULL && memcmp(old->h, f->h,
	    16) == 0 ? 0 : 1;
}

/* -- the input files -------------------------------------------------- */


static void
flist_add(struct cache_flist *l, char *name, char *full,
    const struct stat *sb)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->name = xreallocarray(l->name, l->cap, sizeof(*l->name));
		l->full = xreallocarray(l->full, l->cap, sizeof(*l->full));
		l->st = xreallocarray(l->st, l->cap, sizeof(*l->st));
	}
	l->name[l->n] = name;
	l->full[l->n] = full;
	if (sb != NULL)
		l->st[l->n] = *sb;
	else
		l->st[l->n].st_nlink = 0;	/* not stat'ed */
	l->n++;
}

/* Every file under directory full (named name), recursively. */
static void
walk(struct cache_flist *l, const char *name, const char *full, int depth)
{
	DIR *d;
	struct dirent *de;
	struct stat sb, ln;
	char *n2, *f2;
	int ok;

	if (depth > 64 || (d = opendir(full)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n2 = xasprintf("%s/%s", name, de->d_name);
		f2 = xasprintf("%s/%s", full, de->d_name);
		/* A symbolic link is followed to a file, never to a
		 * directory (two links to . would make 2^64 paths). */
		if ((ok = lstat(f2, &sb) == 0) && S_ISLNK(sb.st_mode) &&
		    stat(f2, &ln) == 0 && !S_ISDIR(ln.st_mode))
			sb = ln;
		if (ok && S_ISDIR(sb.st_mode)) {
			/* Listed too: an empty directory is a change. */
			flist_add(l, xasprintf("%s/", n2), xstrdup(f2), &sb);
			walk(l, n2, f2, depth + 1);
			free(n2);
			free(f2);
		} else
			flist_add(l, n2, f2, ok ? &sb : NULL);
	}
	closedir(d);
}

/* cwd with glob(3)'s special characters escaped, and a '/'; or "". */
static char *
glob_prefix(const char *cwd)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (cwd == NULL)
		return xstrdup("");
	for (p = cwd; *p != '\0'; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			strbuf_addc(&sb, '\\');
		strbuf_addc(&sb, *p);
	}
	strbuf_addc(&sb, '/');
	return strbuf_detach(&sb, NULL);
}

char *
cache_full_path(const char *cwd, const char *name)
{
	return name[0] == '/' || cwd == NULL ? xstrdup(name) :
	    xasprintf("%s/%s", cwd, name);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct cache_file *)a)->path,
	    ((const struct cache_file *)b)->path);
}

/* The files of patterns (relative to cwd), with their stat(2) when it
 * was taken (a file that is not there: none). */
void
cache_expand(const char *cwd, char *const *pat, struct cache_flist *l)
{
	char *pre = glob_prefix(cwd), *q;
	const char *m;
	size_t k, skip;
	glob_t gl;
	struct stat sb;
	int ok;

	for (; pat != NULL && *pat != NULL; pat++) {
		if (strpbrk(*pat, "*?[") == NULL) {
			q = cache_full_path(cwd, *pat);
			if ((ok = cache_stat(q, &sb) == 0) &&
			    S_ISDIR(sb.st_mode)) {
				walk(l, *pat, q, 0);
				free(q);
			} else
				flist_add(l, xstrdup(*pat), q, ok ? &sb : NULL);
			continue;
		}
		q = (*pat)[0] == '/' ? xstrdup(*pat) : xasprintf("%s%s", pre,
		    *pat);
		skip = (*pat)[0] == '/' || cwd == NULL ? 0 : strlen(cwd) + 1;
		memset(&gl, 0, sizeof(gl));
		if (glob(q, 0, NULL, &gl) == 0)
			for (k = 0; k < gl.gl_pathc; k++) {
				m = gl.gl_pathv[k];
				if ((ok = cache_stat(m, &sb) == 0) &&
				    S_ISDIR(sb.st_mode))
					walk(l, m + skip, m, 0);
				else
					flist_add(l, xstrdup(m + skip),
					    xstrdup(m), ok ? &sb : NULL);
			}
		globfree(&gl);
		free(q);
	}
	free(pre);
}

void
cache_files_free(struct cache_file *f, uint32_t n)
{
	uint32_t k;

	for (k = 0; k < n; k++)
		free(f[k].path);
	free(f);
}

/* The recorded file named name in the sorted f[0..n), or NULL. */
const struct cache_file *
cache_find_file(const struct cache_file *f, uint32_t n, const char *name)
{
	struct cache_file key = { .path = (char *)(uintptr_t)name };

	return f == NULL ? NULL : bsearch(&key, f, n, sizeof(*f), by_name);
}
