#include "../lib/compat.h"

#include <err.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>

#include "../lib/exitcode.h"
#include "../lib/opts.h"
#include "../lib/step.h"

enum { OPT_VERSION = 256, OPT_ARRAY_LIST, OPT_FINISH, OPT_FROM, OPT_JSON,
    OPT_RUN_DIR };

static const struct option longopts[] = {
	{ "array-list", required_argument, NULL, OPT_ARRAY_LIST },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "finish", no_argument, NULL, OPT_FINISH },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "jobs", required_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static __dead void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: dag-step [-hnqv] [-j jobs] [--json] [--version] "
	    "--run-dir dir step ...\n"
	    "       dag-step [-hnqv] [-j jobs] [--json] --run-dir dir "
	    "--from file\n"
	    "       dag-step [-hnqv] [--json] --run-dir dir --array-list file\n"
	    "       dag-step --finish --run-dir dir\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct step_opts o = { 0 };
	const char *errstr;
	int ch;

	while ((ch = getopt_long(argc, argv, "hj:nqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
		case 'j':
			o.jobs = (unsigned)strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "-j '%s': %s", optarg, errstr);
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case OPT_ARRAY_LIST:
			o.array_list = optarg;
			break;
		case OPT_FINISH:
			o.finish = 1;
			break;
		case OPT_FROM:
			o.from = optarg;
			break;
		case OPT_JSON:
			o.json = 1;
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
	/* Steps from the operands, --from or --array-list, or --finish. */
	if (o.run_dir == NULL || (argc > 0) + (o.from != NULL) +
	    (o.array_list != NULL) + o.finish != 1)
		usage(stderr, EXIT_USAGE);
	o.steps = (const char *const *)argv;
	o.nsteps = (uint32_t)argc;
	return stdout_close(step_main(&o));
}
