/*
 * The entry points of dag-validate and dag-plan: load, report, print.
 * Both exit 1 for an invalid document and 4 when it could not be read.
 */
#include "compat.h"

#include <err.h>
#include <stdio.h>

#include "dag.h"
#include "diag.h"
#include "exitcode.h"
#include "export.h"
#include "history.h"
#include "opts.h"
#include "plan.h"
#include "planfmt.h"
#include "strbuf.h"
#include "validate.h"
#include "xalloc.h"

static int
status_of(const struct diag *d)
{
	if (d->worst == DIAG_SYSERR)
		return EXIT_SYSERR;
	return d->nerr > 0 ? EXIT_FAILED : EXIT_OK;
}

static int
validate_one(const struct validate_opts *o, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	struct diag d;
	struct dag *g;
	int rc;

	diag_init(&d, input_name(path));
	g = dag_load(path, input_name(path), DAG_CHECK_ONLY, &d);
	if (g != NULL && o->name != NULL) {
		free(g->name);
		g->name = xstrdup(o->name);
	}
	if (!o->quiet)
		diag_print(&d, stderr);
	if (o->json)
		diag_print_json(&d, stdout);
	else if (g != NULL && !o->quiet) {
		dag_emit(g, &sb, stdout, NULL);
		strbuf_adds(&sb, "}\n");
		fwrite(sb.buf, 1, sb.len, stdout);
	}
	rc = status_of(&d);
	strbuf_release(&sb);
	dag_free(g);
	diag_release(&d);
	return rc;
}

int
validate_main(const struct validate_opts *o)
{
	int i, rc, worst = EXIT_OK;

	for (i = 0; i < o->nfiles; i++) {
		rc = validate_one(o, o->files[i]);
		/* I/O error outranks invalid. */
		if (rc == EXIT_SYSERR || (rc == EXIT_FAILED && worst == EXIT_OK))
			worst = rc;
	}
	return worst;
}

int
plan_main(const struct plan_opts *o)
{
	struct strbuf sb = STRBUF_INIT;
	struct plan p;
	struct diag d;
	struct dag *g;
	double *hist = NULL;
	const char *why, *input = o->input;
	char *dagpath = NULL, *dir = NULL;
	int rc;

	if (o->format == PLANFMT_MAKE || o->format == PLANFMT_SLURM) {
		/* Exports drive a prepared run: its frozen DAG by default. */
		if (o->run_dir == NULL || (dir = realpath(o->run_dir,
		    NULL)) == NULL) {
			warnx("--format %s needs --run-dir DIR, a run made by "
			    "dag-run --prepare", o->format == PLANFMT_MAKE ?
			    "make" : "slurm");
			return EXIT_USAGE;
		}
		if (strcmp(input, "-") == 0)
			input = dagpath = xasprintf("%s/dag.json", dir);
	}
	diag_init(&d, input_name(input));
	g = dag_load(input, input_name(input), DAG_CHECK_ONLY, &d);
	diag_print(&d, stderr);
	if (g == NULL) {
		rc = status_of(&d);
		diag_release(&d);
		free(dagpath);
		free(dir);
		return rc;
	}
	rc = EXIT_OK;
	if (o->history != NULL)
		hist = history_estimates(o->history, g);
	plan_compute(g, hist, &p);
	if (o->format == PLANFMT_MAKE || o->format == PLANFMT_SLURM) {
		const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

		if ((o->format == PLANFMT_MAKE ? export_make(g, dir, &sb, &why) :
		    export_slurm(g, dir, id, &sb, &why)) == -1) {
			warnx("%s: %s", dir, why);
			rc = EXIT_USAGE;
		}
	} else if (o->format == PLANFMT_JSON) {
		dag_emit(g, &sb, stdout, NULL);
		strbuf_adds(&sb, ",\"plan\":");
		plan_emit_json(g, &p, &sb, stdout);
		strbuf_adds(&sb, "}\n");
	} else
		planfmt_render(g, &p, (enum planfmt)o->format, &sb);
	if (sb.len > 0)		/* an export refused has nothing to print */
		fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	plan_release(&p);
	free(hist);
	dag_free(g);
	diag_release(&d);
	free(dagpath);
	free(dir);
	return rc;
}
