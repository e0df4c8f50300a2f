/*
 * Past durations.  Each run directory's run.json names its DAG and holds
 * every step's status and duration; the newest runs (run ids start with
 * a UTC timestamp, so names sort by age) of the same DAG name give each
 * step up to HISTORY_RUNS successful durations, and their median is the
 * estimate.  Unreadable or foreign runs are skipped silently: history is
 * a hint, never a reason to fail.
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

/* Adds the durations of one run.json to samples; returns 1 if it counted. */
static int
add_run(const char *path, const struct dag *g, double *samples,
    uint32_t *count)
{
	struct jdoc j;
	struct diag d;
	char *buf;
	size_t len;
	uint32_t steps, k, st, du;
	int64_t i;
	int used = 0;

	diag_init(&d, path);
	if (json_read_file(path, &buf, &len, &d) == -1) {
		diag_release(&d);
		return 0;
	}
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
		samples[(size_t)i * HISTORY_RUNS + count[i]++] = jdoc_num(&j, du);
		used = 1;
	}
out:
	jdoc_release(&j);
	free(buf);
	diag_release(&d);
	return used;
}

double *
history_estimates(const char *dir, const struct dag *g)
{
	double *est = xcalloc(g->n + 1, sizeof(*est));
	double *samples = xcalloc((size_t)g->n * HISTORY_RUNS + 1,
	    sizeof(*samples));
	uint32_t *count = xcalloc(g->n + 1, sizeof(*count)), i;
	char **names = NULL, *path;
	size_t n = 0, k;
	struct dirent *de;
	DIR *dp;

	for (i = 0; i < g->n; i++)
		est[i] = -1;
	if ((dp = opendir(dir)) != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.' ||
			    strcmp(de->d_name, "latest") == 0)
				continue;
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
		closedir(dp);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str_desc);
	for (k = 0; k < n; k++) {
		path = xasprintf("%s/%s/run.json", dir, names[k]);
		(void)add_run(path, g, samples, count);
		free(path);
		free(names[k]);
	}
	free(names);
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
