#include "../lib/compat.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../lib/control.h"
#include "../lib/exitcode.h"
#include "../lib/opts.h"
#include "../lib/run.h"
#include "../lib/rundir.h"
#include "../lib/xalloc.h"

enum {
	OPT_VERSION = 256, OPT_EVENTS, OPT_JSON, OPT_LOCK, OPT_LOCK_WAIT,
	OPT_PREPARE, OPT_RESUME, OPT_RUN_DIR, OPT_RUN_ID, OPT_RUNS, OPT_TARGET,
	OPT_LAUNCHER, OPT_ORDER, OPT_PARAMS_CHANGED, OPT_PARAMS, OPT_NO_HANDLERS,
	OPT_CANCEL, OPT_PAUSE, OPT_UNPAUSE, OPT_EXPLAIN, OPT_FORCE, OPT_RERUN,
	OPT_DOWNSTREAM
};

static const struct option longopts[] = {
	{ "cancel", required_argument, NULL, OPT_CANCEL },
	{ "downstream", no_argument, NULL, OPT_DOWNSTREAM },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "events", no_argument, NULL, OPT_EVENTS },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ "force", optional_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "keep-going", no_argument, NULL, 'k' },
	{ "launcher", required_argument, NULL, OPT_LAUNCHER },
	{ "lock", no_argument, NULL, OPT_LOCK },
	{ "lock-wait", required_argument, NULL, OPT_LOCK_WAIT },
	{ "no-handlers", no_argument, NULL, OPT_NO_HANDLERS },
	{ "order", required_argument, NULL, OPT_ORDER },
	{ "param", required_argument, NULL, 'p' },
	{ "params", required_argument, NULL, OPT_PARAMS },
	{ "params-changed", no_argument, NULL, OPT_PARAMS_CHANGED },
	{ "pause", required_argument, NULL, OPT_PAUSE },
	{ "prepare", no_argument, NULL, OPT_PREPARE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rerun", required_argument, NULL, OPT_RERUN },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "run-id", required_argument, NULL, OPT_RUN_ID },
	{ "runs", required_argument, NULL, OPT_RUNS },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "unpause", required_argument, NULL, OPT_UNPAUSE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static __dead void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: dag-run [-hknqv] [--events] [--json] [--lock] "
	    "[--no-handlers]\n"
	    "               [--explain] [--force[=id,...]] "
	    "[--rerun id [--downstream]]\n"
	    "               [--params-changed] [--prepare] [-j jobs] "
	    "[--lock-wait secs]\n"
	    "               [--launcher slurm|json-array] [-p key=value] "
	    "[--params file]\n"
	    "               [--order critical-path|declaration] "
	    "[--resume run]\n"
	    "               [--run-dir dir] [--run-id id] [--runs dir] "
	    "[--target id] [file]\n"
	    "       dag-run [--runs dir] --cancel|--pause|--unpause run\n"
	    "       dag-run --version\n");
	exit(status);
}

/* Step ids, comma-separated (but inside a matrix instance's brackets,
 * "build[bookworm,gcc]"), added to *v. */
static void
add_ids(char ***v, int *n, char *arg, const char *opt)
{
	char *id, *p;
	int had = *n, depth;

	for (id = p = arg, depth = 0;; p++) {
		if (*p == '[' || *p == ']')
			depth += *p == '[' ? 1 : -1;
		if ((*p != ',' || depth > 0) && *p != '\0')
			continue;
		if (p > id) {
			*v = xreallocarray(*v, (size_t)*n + 1, sizeof(**v));
			(*v)[(*n)++] = id;
		}
		if (*p == '\0')
			break;
		*p = '\0';
		id = p + 1;
	}
	if (*n == had)
		errx(EXIT_USAGE, "%s: give step ids (id,id,...)", opt);
}

int
main(int argc, char *argv[])
{
	struct run_opts o = { .input = "-" };
	const char *errstr, *ctl_run = NULL;
	int ch, ctl = 0;

	while ((ch = getopt_long(argc, argv, "hj:knp:qv", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
		case 'j':
			o.jobs = (unsigned)strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "-j '%s': %s", optarg, errstr);
			break;
		case 'k':
			o.keep_going = 1;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'p':
			o.params = xreallocarray(o.params, (size_t)o.nparams + 1,
			    sizeof(*o.params));
			o.params[o.nparams++] = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case OPT_EVENTS:
			o.events = 1;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		case OPT_LAUNCHER:
			o.launcher = optarg;
			break;
		case OPT_LOCK:
			o.lock = 1;
			break;
		case OPT_LOCK_WAIT:
			o.lock = 1;
			o.lock_wait = (double)strtonum(optarg, 0, 86400 * 7,
			    &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "--lock-wait '%s': %s", optarg,
				    errstr);
			break;
		case OPT_ORDER:
			if (strcmp(optarg, "critical-path") == 0)
				o.declaration_order = 0;
			else if (strcmp(optarg, "declaration") == 0)
				o.declaration_order = 1;
			else
				errx(EXIT_USAGE, "--order '%s': expected "
				    "critical-path or declaration", optarg);
			break;
		case OPT_PARAMS:
			o.params_file = optarg;
			break;
		case OPT_NO_HANDLERS:
			o.no_handlers = 1;
			break;
		case OPT_CANCEL:
		case OPT_PAUSE:
		case OPT_UNPAUSE:
			if (ctl != 0)
				errx(EXIT_USAGE, "--cancel, --pause and "
				    "--unpause: one at a time");
			ctl = ch == OPT_CANCEL ? CTL_CANCEL : ch == OPT_PAUSE ?
			    CTL_PAUSE : CTL_UNPAUSE;
			ctl_run = optarg;
			break;
		case OPT_EXPLAIN:
			o.explain = 1;
			break;
		case OPT_FORCE:
			if (optarg == NULL)
				o.force_all = 1;
			else
				add_ids(&o.force, &o.nforce, optarg,
				    "--force=");
			break;
		case OPT_RERUN:
			add_ids(&o.rerun, &o.nrerun, optarg, "--rerun");
			break;
		case OPT_DOWNSTREAM:
			o.downstream = 1;
			break;
		case OPT_PARAMS_CHANGED:
			o.params_changed = 1;
			break;
		case OPT_PREPARE:
			o.prepare = 1;
			break;
		case OPT_RESUME:
			o.resume = optarg;
			break;
		case OPT_RUN_DIR:
			o.run_dir = optarg;
			break;
		case OPT_RUN_ID:
			o.run_id = optarg;
			break;
		case OPT_RUNS:
			o.runs = optarg;
			break;
		case OPT_TARGET:
			o.targets = xreallocarray(o.targets,
			    (size_t)o.ntargets + 1, sizeof(*o.targets));
			o.targets[o.ntargets++] = optarg;
			break;
		case OPT_VERSION:
			version_exit();
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (o.events && o.json)
		errx(EXIT_USAGE, "--events and --json both write to stdout: "
		    "choose one");
	if (argc > 1)
		usage(stderr, EXIT_USAGE);
	if (ctl != 0) {
		if (argc > 0 || o.resume != NULL || o.prepare || o.dry_run)
			errx(EXIT_USAGE, "--cancel, --pause and --unpause act "
			    "on a run: give no file, --resume, --prepare or -n");
		free(o.params);
		free(o.targets);
		return stdout_close(control_run(rundir_runs(o.runs), ctl_run,
		    ctl));
	}
	if ((o.nrerun > 0 || o.downstream) && o.resume == NULL)
		errx(EXIT_USAGE, "--rerun and --downstream go with --resume "
		    "RUN");
	if (o.downstream && o.nrerun == 0)
		errx(EXIT_USAGE, "--downstream goes with --rerun STEP");
	if (argc == 1) {
		o.input = argv[0];
		o.edited = o.resume != NULL;
	}
	ch = run_main(&o);
	free(o.params);
	free(o.targets);
	free(o.force);
	free(o.rerun);
	return stdout_close(ch);
}
