/*
 * Past durations.  Each run directory's run.json names its DAG and holds
 * every step's status and duration; the newest runs (run ids start with
 * a UTC timestamp, so names sort by age) of the same DAG name give each
 * step up to HISTORY_RUNS successful durations, and their median is the
 * estimate.  Unreadable or foreign runs are skipped silently: history is
 * a hint, never a reason to fail.  It costs little beside other DAGs'
 * runs: a generated run id names its DAG, another run.json is read only
 * once its first 4 KiB name this DAG, and at most HISTORY_READ runs of
 * this DAG are read.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "dag.h"
#include "diag.h"
#include "history.h"
#include "jdoc.h"
#include "json.h"
#include "rundir.h"
#include "strbuf.h"
#include "xalloc.h"

static int
cmp_str_desc(const void *a, const void *b)
{
	return -strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Adds the durations of runs/<name>/run.json to samples; returns 1 if it
 * is a run of g.  Only a regular file is read (a FIFO there must not hang
 * dag-run), and only once its first bytes name g: state_emit writes "dag"
 * second, so a run of another DAG costs a 4 KiB read.  *full counts the
 * steps that have all their samples.
 */
/*
 * 1 if the head of a run.json shows its counts and no step succeeded in
 * it (all cached, say): it has no duration to give, and is not parsed.
 */
static int
none_succeeded(const char *head)
{
	const char *c = strstr(head, "},\"counts\":{"), *end;

	if (c == NULL || (end = strchr(c + 12, '}')) == NULL)
		return 0;
	return memmem(c, (size_t)(end - c), "\"succeeded\":", 12) == NULL;
}

static int
add_run(int rdfd, const char *name, const struct dag *g, const char *want,
    double *samples, uint32_t *count, uint32_t *full)
{
	struct jdoc j;
	struct diag d;
	char *buf, *path, head[4096];
	size_t len;
	uint32_t steps, k, st, du;
	int64_t i;
	int dfd, idle = 0;

	head[0] = '\0';
	path = xasprintf("%s/run.json", name);
	if ((dfd = openat(rdfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || rundir_peek(dfd, "run.json", head, sizeof(head)) == 0 ||
	    strstr(head, want) == NULL || (idle = none_succeeded(head)) ||
	    (buf = rundir_read(dfd, "run.json", &len)) == NULL) {
		if (dfd != -1)
			close(dfd);
		free(path);
		/* A run of g with nothing to give still counts as read. */
		return idle;
	}
	close(dfd);
	diag_init(&d, path);
	if (jdoc_parse(&j, buf, len, &d) == -1 || j.n[0].kind != J_OBJ ||
	    !jdoc_streq(&j, jdoc_get(&j, 0, "dag") == JNONE ? 0 :
	    jdoc_get(&j, 0, "dag"), g->name))
		goto out;
	steps = jdoc_get(&j, 0, "steps");
	if (steps == JNONE || j.n[steps].kind != J_OBJ)
		goto out;
	for (k = steps + 1; k < j.n[steps].end; k = j.n[k + 1].end) {
		if (j.n[k].esc)
			continue;
		i = dag_find(g, j.buf + j.n[k].off + 1, j.n[k].len - 2);
		if (i == -1 || count[i] >= HISTORY_RUNS)
			continue;
		st = jdoc_get(&j, k + 1, "status");
		du = jdoc_get(&j, k + 1, "duration");
		if (st == JNONE || !jdoc_streq(&j, st, "succeeded") ||
		    du == JNONE || j.n[du].kind != J_NUM)
			continue;
		samples[(size_t)i * HISTORY_RUNS + count[i]++] =
		    jdoc_num(&j, du);
		*full += count[i] == HISTORY_RUNS;
	}
out:
	jdoc_release(&j);
	free(buf);
	free(path);
	diag_release(&d);
	return 1;
}

/*
 * 1 if directory name can hold a run of the DAG whose cleaned name is
 * clean: a generated id (YYYYMMDDTHHMMSSZ-<name>-<4 hex>) holds only its
 * own DAG's runs; any other name (--run-id) may hold anything.
 */
static int
may_be_ours(const char *name, const char *clean)
{
	size_t n = strlen(name), c = strlen(clean), k;

	if (n < 23 || name[8] != 'T' || name[15] != 'Z' || name[16] != '-' ||
	    name[n - 5] != '-')
		return 1;
	for (k = 0; k < 15; k++)
		if (k != 8 && (name[k] < '0' || name[k] > '9'))
			return 1;
	return n - 22 == c && memcmp(name + 17, clean, c) == 0;
}

/* Runs of the DAG read at most, newest first: history is a hint, and
 * startup must not grow with the years of runs beside it. */
#define HISTORY_READ	(4 * HISTORY_RUNS)

double *
history_estimates(const char *dir, const struct dag *g)
{
	double *est = xcalloc(g->n + 1, sizeof(*est));
	double *samples = xcalloc((size_t)g->n * HISTORY_RUNS + 1,
	    sizeof(*samples));
	uint32_t *count = xcalloc(g->n + 1, sizeof(*count)), i, full = 0;
	char **names = NULL, *clean = rundir_clean_name(g->name);
	struct strbuf want = STRBUF_INIT;
	size_t n = 0, k, read = 0;
	struct dirent *de;
	DIR *dp;
	int rdfd = -1;

	for (i = 0; i < g->n; i++)
		est[i] = -1;
	strbuf_adds(&want, ",\"dag\":");
	strbuf_add_json_str(&want, g->name, strlen(g->name));
	strbuf_addc(&want, ',');
	if ((dp = opendir(dir)) != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.' ||
			    strcmp(de->d_name, "latest") == 0 ||
			    !may_be_ours(de->d_name, clean))
				continue;
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
		rdfd = fcntl(dirfd(dp), F_DUPFD_CLOEXEC, 0);
		closedir(dp);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str_desc);
	for (k = 0; k < n; k++) {
		if (rdfd != -1 && read < HISTORY_READ && full < g->n)
			read += (size_t)add_run(rdfd, names[k], g, want.buf,
			    samples, count, &full);
		free(names[k]);
	}
	if (rdfd != -1)
		close(rdfd);
	free(names);
	free(clean);
	strbuf_release(&want);
	for (i = 0; i < g->n; i++) {
		double *s = samples + (size_t)i * HISTORY_RUNS;

		if (count[i] == 0)
			continue;
		qsort(s, count[i], sizeof(*s), cmp_double);
		est[i] = count[i] % 2 ? s[count[i] / 2] :
		    (s[count[i] / 2 - 1] + s[count[i] / 2]) / 2;
	}
	free(samples);
	free(count);
	return est;
}
