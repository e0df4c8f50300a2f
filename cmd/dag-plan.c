#include "../lib/compat.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>

#include "../lib/exitcode.h"
#include "../lib/opts.h"
#include "../lib/planfmt.h"
#include "../lib/validate.h"

enum { OPT_VERSION = 256, OPT_FORMAT, OPT_HISTORY, OPT_RUN_DIR };

static const struct option longopts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static __dead void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: dag-plan [-h] "
	    "[--format json|text|dot|mermaid|make|slurm] [--history runs]\n"
	    "                [--run-dir dir] [--version] [file]\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct plan_opts o = { PLANFMT_JSON, NULL, NULL, "-" };
	enum planfmt f;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
		case OPT_FORMAT:
			if (planfmt_parse(optarg, &f) == -1) {
				warnx("unknown format '%s' (json, text, dot, "
				    "mermaid, make or slurm)", optarg);
				usage(stderr, EXIT_USAGE);
			}
			o.format = (int)f;
			break;
		case OPT_HISTORY:
			o.history = optarg;
			break;
		case OPT_RUN_DIR:
			o.run_dir = optarg;
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
	if (argc == 1)
		o.input = argv[0];
	return stdout_close(plan_main(&o));
}
