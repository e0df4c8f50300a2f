#ifndef CACHEINT_H
#define CACHEINT_H

#include <stddef.h>
#include <stdint.h>

struct cache;
struct cache_entry;
struct cache_file;
struct dag;
struct diag;
struct stat;
struct strbuf;

/* What the cache's parts share (cache.c, cachelog.c, filehash.c). */

/* filehash.c: files of input patterns, and their hashes. */
struct cache_flist {
	char	**name, **full;		/* as the step names it; to open */
	struct stat *st;		/* st_nlink 0: not taken */
	size_t	  n, cap;
};

int64_t	 cache_now_ns(void);
/* stat(2), remembered until cache_stat_off: call that before a command
 * starts (and to free what it holds). */
int	 cache_stat(const char *full, struct stat *sb);
void	 cache_stat_off(void);
/* name relative to cwd (NULL: ours), malloc'd. */
char	*cache_full_path(const char *cwd, const char *name);
/* The files patterns match, relative to cwd: globs expanded, directories
 * walked; names as the step would write them.  Unsorted. */
void	 cache_expand(const char *cwd, char *const *pat, struct cache_flist *);
/*
 * The stat tuple and hash of the file at full into f (f->path is the
 * caller's), the hash taken from old when its tuple holds and it was
 * hashed well after the file last changed; pre: its stat(2) if taken.
 * 0 (from old), 1 (read), or -1 with errno.
 */
int	 cache_hash_file(const char *full, struct cache_file *f,
	    const struct cache_file *old, const struct stat *pre);
void	 cache_files_free(struct cache_file *, uint32_t n);
/* 1 if a and b have the same stat tuple (size, inode, times, mode). */
int	 cache_same_stat(const struct cache_file *a,
	    const struct cache_file *b);
/* f's stat tuple from sb; no hash, seen 0 (the caller says when). */
void	 cache_stat_into(struct cache_file *f, const struct stat *sb);
/* The file named name in f[0..n), sorted by path; NULL if none. */
const struct cache_file *cache_find_file(const struct cache_file *f,
	    uint32_t n, const char *name);

/* cacheorph.c: entries of a foreach's instances, kept aside by id. */
/* 1 if id[0..n) names an instance of one of g's foreach steps. */
int	 cache_orphan_ok(const struct dag *, const char *id, size_t n);
/* Keeps e (taken over) aside, replacing one with its step's id. */
void	 cache_orphan_put(struct cache *, struct cache_entry *e);
/* The entry kept aside for step id (now the caller's), or NULL. */
struct cache_entry *cache_orphan_take(struct cache *, const char *id);
void	 cache_orphans_free(struct cache *);

/* cachelog.c: the log. */
void	 cache_hex(const uint8_t h[16], char out[33]);
int	 cache_unhex(const char *s, size_t n, uint8_t h[16]);
void	 cache_entry_free(struct cache_entry *);
/* Step i's entry (its last good line in the log), or NULL. */
struct cache_entry *cache_entry_get(struct cache *, uint32_t i);
/* e as a line of the log ("\n", JSON, " ", its XXH3-128), to sb. */
void	 cachelog_format(const struct cache_entry *e, struct strbuf *sb);
/* The JSON part of a line (checksum checked by the caller) as an entry,
 * or NULL. */
struct cache_entry *cachelog_parse(const char *p, size_t len);
void	cache_pool_free(struct cache_pool *);
/*
 * The log compacted now if this run made a third of it stale (a first
 * no-op after a build re-records every entry): the next run need not.
 */
void	cachelog_settle(struct cache *);
/* Appends e to the log (a failure is said once in d, if not NULL). */
void	 cachelog_append(struct cache *, const struct cache_entry *e,
	    struct diag *d);
/* Reads the log (k->n steps of g), compacting it if stale. */
void	 cachelog_load(struct cache *, const struct dag *g, struct diag *d);

#endif
