#include "../lib/compat.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>

#include "../lib/exitcode.h"
#include "../lib/opts.h"
#include "../lib/status.h"

enum {
	OPT_VERSION = 256, OPT_ATTEMPT, OPT_GANTT, OPT_HTML, OPT_JSON,
	OPT_LIST, OPT_LOGS, OPT_RUN_DIR, OPT_RUNS
};

static const struct option longopts[] = {
	{ "attempt", required_argument, NULL, OPT_ATTEMPT },
	{ "follow", no_argument, NULL, 'f' },
	{ "gantt", no_argument, NULL, OPT_GANTT },
	{ "help", no_argument, NULL, 'h' },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "logs", required_argument, NULL, OPT_LOGS },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "runs", required_argument, NULL, OPT_RUNS },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static __dead void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: dag-status [-fh] [--gantt] [--json] [--list] "
	    "[--attempt n] [--html file]\n"
	    "                  [--logs step] [--run-dir dir] [--runs dir] "
	    "[--version] [run | -]\n");
	exit(status);
}

static void
set_view(struct status_opts *o, int v)
{
	static const char *const opt[] = { "", "--json", "--list", "--logs",
	    "--gantt", "--html", "-f", "-" };

	if (o->view != SV_TABLE && o->view != v)
		errx(EXIT_USAGE, "%s and %s are two views: choose one",
		    opt[o->view], opt[v]);
	o->view = v;
}

int
main(int argc, char *argv[])
{
	struct status_opts o = { 0 };
	const char *errstr;
	int ch;

	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.follow = 1;
			break;
		case 'h':
			usage(stdout, EXIT_OK);
		case OPT_ATTEMPT:
			o.attempt = (unsigned)strtonum(optarg, 1, 100000,
			    &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "--attempt '%s': %s", optarg,
				    errstr);
			break;
		case OPT_GANTT:
			set_view(&o, SV_GANTT);
			break;
		case OPT_HTML:
			set_view(&o, SV_HTML);
			o.html = optarg;
			break;
		case OPT_JSON:
			set_view(&o, SV_JSON);
			break;
		case OPT_LIST:
			set_view(&o, SV_LIST);
			break;
		case OPT_LOGS:
			set_view(&o, SV_LOGS);
			o.step = optarg;
			break;
		case OPT_RUN_DIR:
			o.run = optarg;
			break;
		case OPT_RUNS:
			o.runs = optarg;
			break;
		case OPT_VERSION:
			version_exit();
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(stderr, EXIT_USAGE);
	if (argc == 1 && o.run != NULL)
		errx(EXIT_USAGE, "a run and --run-dir: give one");
	if (argc == 1 && strcmp(argv[0], "-") == 0)
		set_view(&o, SV_STREAM);
	else if (argc == 1)
		o.run = argv[0];
	if (o.follow && o.view != SV_TABLE)
		set_view(&o, SV_FOLLOW);
	if (o.attempt != 0 && o.view != SV_LOGS)
		errx(EXIT_USAGE, "--attempt goes with --logs");
	return stdout_close(status_main(&o));
}
