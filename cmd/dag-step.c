#include "../lib/compat.h"

#include <getopt.h>
#include <stdio.h>

#include "../lib/exitcode.h"
#include "../lib/opts.h"
#include "../lib/step.h"

enum { OPT_VERSION = 256, OPT_ARRAY_LIST, OPT_FINISH, OPT_JSON, OPT_RUN_DIR };

static const struct option longopts[] = {
	{ "array-list", required_argument, NULL, OPT_ARRAY_LIST },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "finish", no_argument, NULL, OPT_FINISH },
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
	fprintf(fp, "usage: dag-step [-hnqv] [--json] [--version] "
	    "--run-dir dir step\n"
	    "       dag-step [-hnqv] [--json] --run-dir dir --array-list file\n"
	    "       dag-step --finish --run-dir dir\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct step_opts o = { 0 };
	int ch;

	while ((ch = getopt_long(argc, argv, "hnqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
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
	if (argc != (o.finish || o.array_list != NULL ? 0 : 1) ||
	    o.run_dir == NULL || (o.finish && o.array_list != NULL))
		usage(stderr, EXIT_USAGE);
	o.step = argc > 0 ? argv[0] : NULL;
	return stdout_close(step_main(&o));
}
